--
-- Per-tenant statistics: where a statement's tenant comes from, the NULL
-- row, errors, invalidation of the per-backend relation cache, and bad
-- settings and arguments.  Times vary, so only counts and relations
-- between numbers are shown.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS observa;
DROP TABLE IF EXISTS ten_orders, ten_plain, ten_users, ten_uuid;
RESET client_min_messages;
CREATE TABLE ten_orders (id int PRIMARY KEY, tenant_id int, amount int);
INSERT INTO ten_orders SELECT g, g % 10, g FROM generate_series(1, 1000) g;
CREATE INDEX ON ten_orders (tenant_id);
CREATE TABLE ten_users (id int, tenant_id varchar(20), name text);
INSERT INTO ten_users VALUES (1, 'acme', 'a'), (2, 'globex', 'b');
CREATE TABLE ten_uuid (id int, tenant_id uuid);
CREATE TABLE ten_plain (id int, org_id int);
INSERT INTO ten_plain VALUES (1, 7), (2, 8);
ANALYZE ten_orders, ten_users, ten_uuid, ten_plain;
SELECT observa.reset_tenant_stats() IS NOT NULL AS reset;

-- constants: equality, either side, an IN list of one, = ANY of one
SELECT count(*) FROM ten_orders WHERE tenant_id = 1;
SELECT count(*) FROM ten_orders WHERE 2 = tenant_id AND amount > 0;
SELECT count(*) FROM ten_orders WHERE tenant_id IN (3);
SELECT count(*) FROM ten_orders WHERE tenant_id = ANY ('{3}'::int[]);
-- a list of two is no single tenant
SELECT count(*) FROM ten_orders WHERE tenant_id IN (4, 5);
-- inequality is no tenant either
SELECT count(*) FROM ten_orders WHERE tenant_id > 8;
-- bound parameters, custom and generic plans
PREPARE ten_q(int) AS SELECT count(*) FROM ten_orders WHERE tenant_id = $1;
EXECUTE ten_q(6);
SET plan_cache_mode = force_generic_plan;
EXECUTE ten_q(6);
EXECUTE ten_q(7);
RESET plan_cache_mode;
DEALLOCATE ten_q;
-- DML: the filter of UPDATE/DELETE, the value of a one-row INSERT
UPDATE ten_orders SET amount = amount + 1 WHERE tenant_id = 8 AND id = 8;
DELETE FROM ten_orders WHERE tenant_id = 8 AND id = -1;
INSERT INTO ten_orders VALUES (2000, 8, 1);
-- text and uuid tenants; a join carries the tenant to both sides
SELECT name FROM ten_users WHERE tenant_id = 'globex';
SELECT count(*) FROM ten_uuid WHERE tenant_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
SELECT count(*) FROM ten_orders o JOIN ten_users u ON u.id = o.id
 WHERE u.tenant_id = 'acme';
-- a leading comment names the tenant
/* tenant=comment-co */ SELECT 1 AS one;
-- the session setting wins over everything
SET observa.tenant = 'session-co';
SELECT count(*) FROM ten_orders WHERE tenant_id = 9;
RESET observa.tenant;
-- a failing statement is counted with its tenant and as an error
SELECT amount / (amount - amount) FROM ten_orders WHERE tenant_id = 1;
-- so is a statement cancelled by statement_timeout
SET statement_timeout = '50ms';
SELECT pg_sleep(1) FROM ten_orders WHERE tenant_id = 2 LIMIT 1;
RESET statement_timeout;
-- a table without a tenant column: NULL tenant
SELECT count(*) FROM ten_plain WHERE org_id = 7;

SELECT tenant, calls, errors, top_tables, error_bound_ms = 0 AS exact
  FROM observa.tenant_stats
 WHERE datname = current_database() AND tenant IS NOT NULL
 ORDER BY tenant COLLATE "C";

-- the NULL row exists, and the rows of the database add up
SELECT count(*) AS null_rows FROM observa.tenant_stats
 WHERE datname = current_database() AND tenant IS NULL AND NOT is_other;
SELECT round(sum(share_of_total_time)::numeric, 6) AS shares,
       bool_and(p50_ms <= p95_ms AND p95_ms <= p99_ms) AS ordered_percentiles,
       bool_and(abs(mean_time_ms * calls - total_time_ms) < 1e-6 * (1 + total_time_ms)) AS means
  FROM observa.tenant_stats WHERE datname = current_database();

-- the windowed form sees the same tenants
SELECT tenant, calls FROM observa.tenant_stats('1 hour')
 WHERE datname = current_database() AND tenant IN ('1', '6', 'session-co')
 ORDER BY tenant COLLATE "C";

-- a new tenant column is noticed (relation cache invalidation), and so is
-- a different observa.tenant_columns
ALTER TABLE ten_plain ADD COLUMN tenant_id int DEFAULT 42;
SELECT count(*) FROM ten_plain WHERE tenant_id = 42;
SET observa.tenant_columns = 'org_id';
SELECT count(*) FROM ten_plain WHERE org_id = 8;
-- (under org_id alone, ten_orders has no tenant column: 5 is no tenant)
SELECT count(*) FROM ten_orders WHERE tenant_id = 5;
RESET observa.tenant_columns;
-- (top tables of similar time may come in either order: sort them here)
SELECT tenant, calls,
       ARRAY(SELECT t FROM unnest(top_tables::text[]) t ORDER BY t COLLATE "C") AS top_tables
  FROM observa.tenant_stats
 WHERE datname = current_database() AND tenant IN ('42', '8', '5')
 ORDER BY tenant COLLATE "C";

-- a run of failures is counted with its tenant and as errors, and
-- statements after it are attributed again
SELECT observa.reset_tenant_stats() IS NOT NULL AS reset;
SELECT '/* tenant=failing */ SELECT amount / 0 FROM ten_orders LIMIT 1' FROM generate_series(1, 34) \gexec
/* tenant=after */ SELECT 1 AS after;
/* tenant=after */ SELECT 2 AS after;
SELECT sum(errors) AS errors,
       sum(calls) FILTER (WHERE tenant = 'after') AS after_calls,
       sum(calls) FILTER (WHERE tenant = 'failing' OR tenant IS NULL) AS failing_or_null
  FROM observa.tenant_stats WHERE datname = current_database();

-- reset forgets everything
SELECT observa.reset_tenant_stats() IS NOT NULL AS reset;
SELECT count(*) AS tenants_after_reset FROM observa.tenant_stats
 WHERE tenant IS NOT NULL;

-- bad settings and arguments are rejected and change nothing
SET observa.tenant = 'this tenant value is far too long to be kept by observa in shared memory';
SET observa.tenant_columns = 'a,,b';
SET observa.tenant_columns = 'c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12,c13,c14,c15,c16,c17';
SHOW observa.tenant_columns;
SET observa.max_tenants = 10;
SELECT * FROM observa.tenant_stats(NULL);
SELECT * FROM observa.tenant_stats('-1 minute');
SELECT * FROM observa.tenant_stats('0');
-- a year is asked for: the rows say what they cover (since the reset)
/* tenant=yearly */ SELECT 1 AS yearly;
SELECT bool_and(covered_since > now() - interval '1 year') AS covers_less_and_says_so
  FROM observa.tenant_stats('1 year');

-- the settings and the info rows
SELECT name, setting, context FROM pg_settings
 WHERE name IN ('observa.tenant', 'observa.tenant_columns',
                'observa.max_tenants')
 ORDER BY name COLLATE "C";
SELECT name FROM observa.info WHERE section = 'tenant_stats' ORDER BY name COLLATE "C";

DROP TABLE ten_orders, ten_plain, ten_users, ten_uuid;
