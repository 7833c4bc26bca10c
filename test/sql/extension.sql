--
-- The extension installs, drops and reinstalls cleanly, and the library,
-- the install script and pg_extension agree on the version.  It starts
-- from no extension whatever ran before it in this database.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS observa CASCADE;
RESET client_min_messages;
CREATE EXTENSION observa;
SELECT extversion = observa.version() AS library_matches_sql
  FROM pg_extension WHERE extname = 'observa';
SELECT extnamespace::regnamespace AS schema, extrelocatable
  FROM pg_extension WHERE extname = 'observa';
DROP EXTENSION observa;
CREATE EXTENSION observa;
DROP EXTENSION observa;
CREATE EXTENSION observa;
-- the info view has a core section with the version and the memory used
SELECT name, value = observa.version() AS is_version
  FROM observa.info WHERE section = 'core' AND name = 'version';
SELECT value::bigint >= 0 AS memory_reported
  FROM observa.info WHERE section = 'core' AND name = 'shared_memory_bytes';
-- observa.* names are reserved: a misspelt setting is rejected
SET observa.no_such_setting = 1;
-- bad values of the tracking settings are rejected with the allowed list
SET observa.track = 'sometimes';
SET observa.track_utility = 'perhaps';
SHOW observa.track;
