--
-- observa.index_hygiene(): each kind (duplicate, prefix, replaced, unused),
-- each exception (primary key, unique constraint and index, exclusion
-- constraint, replica identity, partitioned and attached indexes, an
-- extension's own indexes), the write cost, quoting of the DROP statement,
-- and privileges.  Sizes and rates vary, so they are shown as booleans.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS observa;
DROP SCHEMA IF EXISTS hyg CASCADE;
DROP SCHEMA IF EXISTS "Hyg Space" CASCADE;
RESET client_min_messages;
SET stats_fetch_consistency = none;
CREATE SCHEMA hyg;
CREATE TABLE hyg.t (id int PRIMARY KEY, tenant_id int NOT NULL, v int, w text, r int4range,
                    code text NOT NULL, CONSTRAINT t_code_key UNIQUE (code),
                    CONSTRAINT t_r_excl EXCLUDE USING gist (r WITH &&));
INSERT INTO hyg.t SELECT g, g % 20, g, 'w' || g, int4range(g * 10, g * 10 + 5), 'c' || g
  FROM generate_series(1, 2000) g;
-- planted: an exact duplicate, a prefix (also under a predicate), an
-- index duplicating the primary key, one a unique index makes a prefix
-- of, one duplicating a unique index, and one with another operator class
CREATE INDEX t_v ON hyg.t (v);
CREATE INDEX t_v_dup ON hyg.t (v);
CREATE INDEX t_tenant ON hyg.t (tenant_id);
CREATE INDEX t_tenant_v ON hyg.t (tenant_id, v);
CREATE INDEX t_id ON hyg.t (id);
CREATE INDEX t_code_pattern ON hyg.t (code text_pattern_ops);
CREATE INDEX t_tenant_partial ON hyg.t (tenant_id) WHERE v > 1000;
CREATE INDEX t_tenant_v_partial ON hyg.t (tenant_id, v) WHERE v > 1000;
CREATE UNIQUE INDEX t_w_id_unique ON hyg.t (w, id);
CREATE INDEX t_w ON hyg.t (w);
CREATE INDEX t_w_id ON hyg.t (w, id);
-- replica identity index (unique, on NOT NULL columns)
CREATE UNIQUE INDEX t_tenant_id_ri ON hyg.t (tenant_id, id);
ALTER TABLE hyg.t REPLICA IDENTITY USING INDEX t_tenant_id_ri;
-- look-alikes of l_a_b that it does not cover: another access method,
-- another order, another predicate, another collation
CREATE TABLE hyg.l (a int, b int, c text);
CREATE INDEX l_a_b ON hyg.l (a, b);
CREATE INDEX l_a_hash ON hyg.l USING hash (a);
CREATE INDEX l_a_desc ON hyg.l (a DESC);
CREATE INDEX l_a_partial ON hyg.l (a) WHERE b > 0;
CREATE INDEX l_c_a ON hyg.l (c, a);
CREATE INDEX l_c_collate ON hyg.l (c COLLATE "C");
-- a partitioned table: its index and the partitions' attached indexes
CREATE TABLE hyg.p (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE hyg.p1 PARTITION OF hyg.p FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE INDEX p_at ON hyg.p (at);
CREATE INDEX p1_at_own ON hyg.p1 (at, id);
-- a name that needs quoting
CREATE SCHEMA "Hyg Space";
CREATE TABLE "Hyg Space"."T" (a int, b int);
CREATE INDEX "odd ""name""" ON "Hyg Space"."T" (a);
CREATE INDEX "odd wide" ON "Hyg Space"."T" (a, b);
-- an invalid index (a CREATE INDEX CONCURRENTLY that failed) and a
-- temporary table's index
CREATE TABLE hyg.dupvals (a int);
INSERT INTO hyg.dupvals VALUES (1), (1);
\set VERBOSITY terse
CREATE INDEX CONCURRENTLY dupvals_a_invalid ON hyg.dupvals ((1 / (a - 1)));
\set VERBOSITY default
SELECT NOT indisvalid AS left_invalid FROM pg_index WHERE indexrelid = 'hyg.dupvals_a_invalid'::regclass;
CREATE TEMP TABLE hyg_temp (a int);
CREATE INDEX hyg_temp_a ON hyg_temp (a);
-- an index that is scanned (the only one its query can use)
CREATE TABLE hyg.s (a int);
INSERT INTO hyg.s SELECT generate_series(1, 1000);
CREATE INDEX s_a ON hyg.s (a);
ANALYZE hyg.t, hyg.s;
SET enable_seqscan = off;
SELECT count(*) FROM hyg.s WHERE a = 5;
RESET enable_seqscan;
SELECT pg_stat_force_next_flush();

SELECT indexname, kind, kinds, covered_by
  FROM observa.index_hygiene()
 WHERE schemaname IN ('hyg', 'Hyg Space', 'observa')
 ORDER BY schemaname COLLATE "C", indexname COLLATE "C";

-- never: the primary key, unique constraint, unique index, exclusion
-- constraint, replica identity, partitioned and attached indexes, observa's own
SELECT count(*) AS protected_listed
  FROM observa.index_hygiene()
 WHERE indexname IN ('t_pkey', 't_code_key', 't_w_id_unique', 't_r_excl', 't_tenant_id_ri',
                     'p_at', 'p1_at_idx', 'dupvals_a_invalid', 'hyg_temp_a')
    OR schemaname = 'observa';

-- every row: a size, a reason, and a DROP statement that names it quoted
SELECT bool_and(size_bytes > 0) AS sized,
       bool_and(reason <> '') AS reasoned,
       bool_and(drop_statement = format('DROP INDEX CONCURRENTLY IF EXISTS %I.%I', schemaname, indexname)) AS drops,
       bool_and(scans_since <= now()) AS since
  FROM observa.index_hygiene();
SELECT drop_statement FROM observa.index_hygiene() WHERE schemaname = 'Hyg Space';
-- unused rows say that a standby's scans are not counted here
SELECT bool_and(reason ~ 'standby') AS standby_note,
       bool_and(index_scans = 0) AS zero_scans
  FROM observa.index_hygiene() WHERE 'unused' = ANY (kinds);
-- a scanned index is not unused
SELECT count(*) AS scanned_listed FROM observa.index_hygiene() WHERE indexname = 's_a';
SELECT reason ~ '^Same definition as hyg\.t_v ' AS dup_reason
  FROM observa.index_hygiene() WHERE indexname = 't_v_dup';
SELECT reason ~ '^Its keys \(tenant_id\) lead hyg\.t_tenant_v''s keys \(tenant_id, v\)' AS prefix_reason
  FROM observa.index_hygiene() WHERE indexname = 't_tenant';

-- the DROP statement works as written (outside a transaction block)
SELECT drop_statement FROM observa.index_hygiene() WHERE indexname = 'odd "name"' \gexec
SELECT count(*) AS odd_left FROM pg_class WHERE relname = 'odd "name"';

-- write cost: inserts and non-HOT updates (an indexed column changes)
INSERT INTO hyg.t SELECT g, g % 20, g, 'w' || g, NULL, 'c' || g FROM generate_series(2001, 3000) g;
UPDATE hyg.t SET v = v + 1 WHERE id <= 500;
DELETE FROM hyg.t WHERE id > 2900;
SELECT pg_stat_force_next_flush();
SELECT bool_and(index_writes_per_s > 0) AS writes_counted,
       bool_and(write_bytes_per_s > 0) AS bytes_counted,
       bool_and(non_hot_update_pct > 0 AND non_hot_update_pct <= 100) AS non_hot_share,
       bool_or(reason ~ 'updates are not HOT') AS hot_reason
  FROM observa.index_hygiene() WHERE schemaname = 'hyg' AND tablename = 't';

-- replaced: the advisor recommends (tenant_id, v DESC) for an ordered
-- tenant query on u, which has only (tenant_id); the recommendation names
-- u_tenant in "replaces" and index_hygiene() lists it as replaced
CREATE TABLE hyg.u (id int PRIMARY KEY, tenant_id int, v int, pad text);
INSERT INTO hyg.u SELECT g, g % 50, g, repeat('x', 50) FROM generate_series(1, 50000) g;
CREATE INDEX u_tenant ON hyg.u (tenant_id);
ANALYZE hyg.u;
SET observa.advisor_sample_rate = 1.0;
SELECT observa.reset_advisor();
\o /dev/null
SELECT id FROM hyg.u WHERE tenant_id = 7 ORDER BY v DESC LIMIT 10;
SELECT id FROM hyg.u WHERE tenant_id = 9 ORDER BY v DESC LIMIT 10;
\o
SELECT columns, replaces FROM observa.recommend_indexes() WHERE relname = 'u';
SELECT indexname, kind, covered_by ~ '^CREATE INDEX CONCURRENTLY IF NOT EXISTS .* ON hyg\.u USING btree \(tenant_id, v DESC\)$' AS by_recommended,
       reason ~ 'advisor recommends' AS replaced_reason
  FROM observa.index_hygiene() WHERE schemaname = 'hyg' AND tablename = 'u';
RESET observa.advisor_sample_rate;

-- privileges: PUBLIC may not call it; pg_read_all_stats may
CREATE ROLE hyg_nobody;
CREATE ROLE hyg_reader IN ROLE pg_read_all_stats;
SET ROLE hyg_nobody;
SELECT count(*) FROM observa.index_hygiene();
RESET ROLE;
SET ROLE hyg_reader;
SELECT count(*) > 0 AS reader_sees_rows FROM observa.index_hygiene() WHERE schemaname = 'hyg';
RESET ROLE;

DROP ROLE hyg_nobody;
DROP ROLE hyg_reader;
SELECT observa.reset_advisor();
DROP SCHEMA hyg CASCADE;
DROP SCHEMA "Hyg Space" CASCADE;
