--
-- Index advisor: workload capture, recommendations proven by hypothetical
-- indexes, and the checks of observa.create_index().  Plan costs vary with
-- ANALYZE samples, so the output shows booleans and regex matches only.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS observa;
RESET client_min_messages;
\i test/fixtures/tenants.sql
SET observa.advisor_sample_rate = 1.0;
SELECT observa.reset_advisor();

-- an empty workload recommends nothing, without error
SELECT count(*) AS recommendations FROM observa.recommend_indexes();

-- the workload: tenant-filtered statements, a prepared statement with a
-- parameter, and two statements no index helps (a whole-table report and
-- a filter that keeps every row)
SET search_path = app, public;
PREPARE recent(int) AS
  SELECT id, subject FROM tickets WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT 10;
\o /dev/null
EXECUTE recent(5);
EXECUTE recent(11);
SELECT id FROM tickets WHERE tenant_id = 5 AND status IN ('active','acknowledged') ORDER BY created_at DESC LIMIT 20;
SELECT id FROM tickets WHERE tenant_id = 9 AND status IN ('active','acknowledged') ORDER BY created_at DESC LIMIT 20;
SELECT id FROM tickets WHERE tenant_id = 7 AND created_at >= '2026-02-01' AND created_at < '2026-02-02';
SELECT id FROM users WHERE tenant_id = 3 AND email = 'User43@Example.com';
SELECT id FROM users WHERE tenant_id = 3 AND lower(email) = 'user43@example.com';
SELECT count(*) FROM events WHERE org_id = 4 AND kind = 'edit';
SELECT count(*) FROM events WHERE org_id = 8 AND kind = 'view';
SELECT id FROM tickets WHERE to_tsvector('english', subject) @@ to_tsquery('english', 'printer') AND tenant_id = 9 LIMIT 5;
SELECT t.id, c.body FROM tickets t JOIN comments c ON c.ticket_id = t.id AND c.tenant_id = t.tenant_id
 WHERE t.tenant_id = 5 AND t.status = 'active' ORDER BY t.created_at DESC LIMIT 20;
SELECT id FROM users WHERE tenant_id = 3 AND name LIKE 'user 4%';
SELECT count(*) FROM tickets WHERE tenant_id = 3 AND priority = 2;
UPDATE tickets SET priority = 3 WHERE id = 17;
SELECT status, count(*) FROM tickets GROUP BY status;
SELECT count(*) FROM tickets WHERE priority >= 0;
\o
RESET search_path;

-- capture: predicates per table and column, with their class
SELECT relname, column_name, predicate_class, on_expression
  FROM observa.advisor_workload()
 WHERE schemaname = 'app'
 ORDER BY relname COLLATE "C", column_name COLLATE "C", predicate_class COLLATE "C", on_expression;
SELECT bool_and(calls >= statements) AS calls_counted,
       bool_or(rows_removed > 0) AS rows_removed_counted
  FROM observa.advisor_workload() WHERE schemaname = 'app';

CREATE TEMP TABLE rec AS SELECT * FROM observa.recommend_indexes();

-- the tenant-leading composite the ORDER BY ... LIMIT statements need
SELECT EXISTS (SELECT FROM rec WHERE relname = 'tickets'
                 AND columns = ARRAY['tenant_id', 'created_at DESC']
                 AND tenant_leading AND tenant_column = 'tenant_id') AS tickets_tenant_created_desc;
-- the expression index the lower(email) lookup needs, tenant first
SELECT EXISTS (SELECT FROM rec WHERE relname = 'users'
                 AND columns = ARRAY['tenant_id', '(lower(email))']) AS users_tenant_lower_email;
-- events has no tenant_id: org_id is detected from the workload, and said so
SELECT columns[1] AS events_leading, tenant_column, tenant_leading,
       reason ~ 'tenant key org_id detected from the workload' AS reason_says_detected
  FROM rec WHERE relname = 'events';
-- full text: a GIN index on the to_tsvector expression
SELECT EXISTS (SELECT FROM rec WHERE relname = 'tickets'
                 AND index_def ~ 'USING gin \(\(to_tsvector\(''english''::regconfig, subject\)\)\)$') AS tickets_gin;
-- a join: the joined table's index leads with the tenant key, then the
-- column joined on
SELECT EXISTS (SELECT FROM rec WHERE relname = 'comments'
                 AND columns = ARRAY['tenant_id', 'ticket_id']) AS comments_tenant_ticket;
-- LIKE 'prefix%': the column after the tenant key (text_pattern_ops unless
-- the collation is C)
SELECT EXISTS (SELECT FROM rec WHERE relname = 'users' AND columns[1] = 'tenant_id'
                 AND columns[2] ~ '^name( text_pattern_ops)?$') AS users_like_prefix;
-- an index on a column the workload updates says UPDATEs lose HOT
SELECT reason ~ 'no longer be HOT' AS warns_hot
  FROM rec WHERE relname = 'tickets' AND columns = ARRAY['tenant_id', 'priority'];
-- nothing for the statements no index helps, nothing already indexed:
-- users (tenant_id, email) exists; priority >= 0 keeps every row
SELECT count(*) AS on_priority_alone FROM rec WHERE columns[1] = 'priority';
SELECT count(*) AS duplicate_users_email FROM rec WHERE columns = ARRAY['tenant_id', 'email'];
SELECT count(*) AS single_column_status FROM rec WHERE columns = ARRAY['status'];
-- every row is proven and complete
SELECT bool_and(est_cost_after < est_cost_before) AS cheaper,
       bool_and(est_improvement_pct >= 20) AS material,
       bool_and(est_size_bytes > 0) AS sized,
       bool_and(cardinality(queries) >= 1 AND calls >= 1) AS has_queries,
       bool_and(index_def ~ '^CREATE INDEX CONCURRENTLY IF NOT EXISTS obs_[a-z_0-9]+ ON app\.[a-z]+ USING (btree|gin) \(.+\)') AS def_shape,
       bool_and(length(reason) > 20) AS has_reason
  FROM rec;
-- key order: a column of few distinct values (status: 3, priority: 5,
-- kind: 4, against 40 tenants) never leads, and never precedes the sort
-- or range column created_at
SELECT count(*) AS low_cardinality_leads FROM rec WHERE columns[1] IN ('status', 'priority', 'kind');
SELECT count(*) AS low_cardinality_before_sort
  FROM rec, LATERAL (SELECT min(o) FILTER (WHERE k IN ('status', 'priority')) AS low,
                            max(o) FILTER (WHERE k ~ '^created_at') AS ord
                       FROM unnest(columns) WITH ORDINALITY u(k, o)) x
 WHERE x.low < x.ord;
-- write and update overhead: every table was written (the fixture's load
-- counts in observa.table_stats), so every index has a write overhead; the
-- one UPDATE sets priority, so an index on priority loses HOT for it
SELECT bool_and(write_overhead > 0) AS write_overhead,
       bool_or(update_overhead_pct = 100) AS priority_loses_hot,
       bool_or(update_overhead_pct = 0) AS others_keep_hot
  FROM rec WHERE relname = 'tickets';
SELECT bool_and(write_overhead > 0) AS every_index_write_overhead FROM rec;
-- the set: per table, and one row (NULL schemaname) for all of it
SELECT count(*) FILTER (WHERE schemaname IS NULL) AS set_rows,
       (SELECT indexes FROM observa.recommend_indexes_overhead() WHERE schemaname IS NULL) =
       (SELECT count(*) FROM rec) AS set_counts_every_index,
       bool_and(est_size_bytes > 0) AS sized
  FROM observa.recommend_indexes_overhead();
-- deterministic: the same workload gives the same definitions
SELECT (SELECT array_agg(index_def ORDER BY index_def COLLATE "C") FROM rec) =
       (SELECT array_agg(index_def ORDER BY index_def COLLATE "C") FROM observa.recommend_indexes()) AS same_again;

-- with btree_gin the full-text index leads with the tenant key too
CREATE EXTENSION btree_gin;
SELECT EXISTS (SELECT FROM observa.recommend_indexes() WHERE relname = 'tickets'
                 AND index_def ~ 'USING gin \(tenant_id, \(to_tsvector') AS tenant_gin;
DROP EXTENSION btree_gin;

-- dry run lists, creates nothing
SELECT count(*) > 0 AS listed, bool_and(status = 'dry_run') AS dry
  FROM observa.create_recommended_indexes();
SELECT count(*) AS obs_indexes FROM pg_indexes WHERE schemaname = 'app' AND indexname LIKE 'obs\_%';

-- the psql idiom creates the events index at top level ...
SELECT index_def FROM observa.recommend_indexes() WHERE relname = 'events' \gexec
SELECT indexdef ~ '\(org_id, kind\)' AS events_index_created
  FROM pg_indexes WHERE schemaname = 'app' AND tablename = 'events' AND indexname LIKE 'obs\_%';
-- ... after which it is not recommended again, and the planner uses it
SELECT count(*) AS events_again FROM observa.recommend_indexes() WHERE relname = 'events';
CREATE FUNCTION pg_temp.plan_mentions(q text, pat text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE l text;
BEGIN
  FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    IF l ~ pat THEN RETURN true; END IF;
  END LOOP;
  RETURN false;
END $$;
SELECT pg_temp.plan_mentions(
  $q$SELECT count(*) FROM app.events WHERE org_id = 4 AND kind = 'edit'$q$,
  'obs_events_org_id_kind') AS planner_uses_it;

-- create_index: an equivalent index exists -> nothing to do
SELECT index_name, status FROM observa.create_index(
  'CREATE INDEX CONCURRENTLY IF NOT EXISTS users_dup ON app.users (tenant_id, email)');
SELECT index_name, status FROM observa.create_index(
  'CREATE INDEX CONCURRENTLY IF NOT EXISTS users_tenant_email ON app.users (tenant_id)');

-- bad inputs: clear errors, nothing queued
SELECT * FROM observa.create_index(NULL);
SELECT * FROM observa.create_index('SELECT 1');
SELECT * FROM observa.create_index('CREATE INDEX CONCURRENTLY a ON app.tickets (status); DROP TABLE app.users');
SELECT * FROM observa.create_index('CREATE INDEX a ON app.tickets (status)');
SELECT * FROM observa.create_index('CREATE INDEX CONCURRENTLY ON app.tickets (status)');
SELECT * FROM observa.create_index('CREATE INDEX CONCURRENTLY a ON app.no_such_table (status)');
CREATE VIEW app.v AS SELECT * FROM app.tickets;
SELECT * FROM observa.create_index('CREATE INDEX CONCURRENTLY a ON app.v (status)');
SELECT * FROM observa.create_index('CREATE INDEX CONCURRENTLY a ON app.tickets (status');
SELECT * FROM observa.create_recommended_indexes(true, -1);
SELECT * FROM observa.create_recommended_indexes(NULL);
-- only the table's owner may create
CREATE ROLE regress_adv_other;
GRANT USAGE ON SCHEMA app TO regress_adv_other;
GRANT EXECUTE ON FUNCTION observa.create_index(text) TO regress_adv_other;
SET ROLE regress_adv_other;
SELECT * FROM observa.create_index('CREATE INDEX CONCURRENTLY IF NOT EXISTS a ON app.tickets (status)');
-- and the other functions are not for PUBLIC
SELECT * FROM observa.reset_advisor();
SELECT count(*) FROM observa.recommend_indexes();
RESET ROLE;
SELECT count(*) AS nothing_queued FROM observa.index_builds();

-- settings are checked
SET observa.advisor_sample_rate = 1.5;
SET observa.advisor_sample_rate = -0.1;
SET observa.tenant_columns = 'tenant_id,,org_id';
SET observa.tenant_columns = 'org_id, "Account Id"';
SHOW observa.tenant_columns;
RESET observa.tenant_columns;
SET observa.advisor_max_queries = 10;
SET observa.advisor_merge_tolerance = -1;
SET observa.advisor_merge_tolerance = 101;
SET observa.advisor_write_heavy = 100.5;
SET observa.advisor_merge_tolerance = 0;
SHOW observa.advisor_merge_tolerance;
RESET observa.advisor_merge_tolerance;

-- index_build_steps(): the statements that build an index_def; a plain
-- table's is the definition itself; bad input gives the errors
-- create_index() gives, and nothing is built
SELECT * FROM observa.index_build_steps('CREATE INDEX CONCURRENTLY IF NOT EXISTS s1 ON app.users (tenant_id, name)');
SELECT * FROM observa.index_build_steps(NULL);
SELECT * FROM observa.index_build_steps('SELECT 1');
SELECT * FROM observa.index_build_steps('CREATE INDEX s1 ON app.users (name)');
SELECT * FROM observa.index_build_steps('CREATE INDEX CONCURRENTLY s1 ON app.no_such_table (name)');
SELECT * FROM observa.index_build_steps('CREATE INDEX CONCURRENTLY s1 ON app.v (status)');
SELECT count(*) AS nothing_built FROM pg_indexes WHERE indexname = 's1';

-- the info view reports the advisor
SELECT name FROM observa.info WHERE section = 'advisor' ORDER BY name COLLATE "C";

-- reset forgets the workload
SELECT observa.reset_advisor();
SELECT count(*) AS after_reset FROM observa.recommend_indexes();
SELECT count(*) AS workload_after_reset FROM observa.advisor_workload() WHERE schemaname = 'app';

DROP VIEW app.v;
REVOKE ALL ON SCHEMA app FROM regress_adv_other;
REVOKE ALL ON FUNCTION observa.create_index(text) FROM regress_adv_other;
DROP ROLE regress_adv_other;
DROP SCHEMA app CASCADE;
RESET observa.advisor_sample_rate;
DROP EXTENSION observa;
