--
-- observa.plan_fingerprints(): a plan-shape fingerprint per sampled
-- statement shape.  Constants and costs do not change it; dropping the
-- index a plan uses does; creating it again under the same name gives the
-- old shape back.  Unsampled statements get none.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS observa;
DROP SCHEMA IF EXISTS pf CASCADE;
RESET client_min_messages;
CREATE SCHEMA pf;
CREATE TABLE pf.t (id int PRIMARY KEY, v int);
INSERT INTO pf.t SELECT g, g FROM generate_series(1, 20000) g;
CREATE INDEX t_v ON pf.t (v);
ANALYZE pf.t;
SELECT observa.reset_advisor();
SET observa.advisor_sample_rate = 1.0;
\o /dev/null
SELECT * FROM pf.t WHERE v = 5;
SELECT * FROM pf.t WHERE v = 6;
\o
-- one statement, one shape (the constants do not count)
CREATE TEMP VIEW fp AS
  SELECT f.* FROM observa.plan_fingerprints() f
   WHERE f.queryid IN (SELECT queryid FROM observa.statement_stats
                        WHERE query = 'SELECT * FROM pf.t WHERE v = $1');
SELECT count(*) AS shapes, sum(samples) AS samples, bool_and(current) AS current,
       bool_and(fingerprint ~ '^[0-9a-f]{16}$') AS hex, bool_and(first_seen <= last_seen) AS ordered
  FROM fp;
SELECT fingerprint AS with_index FROM fp \gset

-- more rows and fresh statistics change the costs, not the shape
INSERT INTO pf.t SELECT g, g FROM generate_series(20001, 40000) g;
ANALYZE pf.t;
\o /dev/null
SELECT * FROM pf.t WHERE v = 7;
\o
SELECT count(*) AS shapes FROM fp;

-- without the index: another shape, now the current one
DROP INDEX pf.t_v;
\o /dev/null
SELECT * FROM pf.t WHERE v = 8;
\o
SELECT count(*) AS shapes,
       bool_or(fingerprint = :'with_index' AND NOT current) AS old_not_current,
       bool_or(fingerprint <> :'with_index' AND current) AS new_current
  FROM fp;

-- the same index again (same name): the old shape is current again
CREATE INDEX t_v ON pf.t (v);
ANALYZE pf.t;
\o /dev/null
SELECT * FROM pf.t WHERE v = 9;
\o
SELECT count(*) AS shapes, bool_or(fingerprint = :'with_index' AND current) AS back_to_index
  FROM fp;

-- unsampled statements get no fingerprint
SET observa.advisor_sample_rate = 0;
\o /dev/null
SELECT * FROM pf.t WHERE id = 3;
\o
SELECT count(*) AS unsampled
  FROM observa.plan_fingerprints() f
  JOIN observa.statement_stats s USING (queryid)
 WHERE s.query = 'SELECT * FROM pf.t WHERE id = $1';
RESET observa.advisor_sample_rate;

-- privileges: PUBLIC may not read it
CREATE ROLE pf_nobody;
SET ROLE pf_nobody;
SELECT count(*) FROM observa.plan_fingerprints();
RESET ROLE;
DROP ROLE pf_nobody;
SELECT observa.reset_advisor();
SELECT count(*) AS after_reset FROM observa.plan_fingerprints();
DROP SCHEMA pf CASCADE;
