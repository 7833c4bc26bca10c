--
-- observa's latency sketch against known durations: the quantiles it
-- reports are within its stated relative error (1 %) of the exact
-- nearest-rank quantiles (percentile_disc), for uniform, log-uniform,
-- log-normal, bimodal and constant durations from 1 us to 1 h, and it
-- costs what its spread needs.  observa.sketch_quantiles() runs the
-- stores' own code (bucket from the float's bits, compact cells, nearest
-- rank).  Deterministic: setseed.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS observa;
CREATE TEMP TABLE sk_q AS
  SELECT unnest(ARRAY[0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1]::float8[]) AS q;
CREATE TEMP TABLE sk_v (dist text, ms float8);
SELECT setseed(0.42);
-- uniform over 1 us .. 1 h
INSERT INTO sk_v SELECT 'uniform', 0.001 + random() * (3600000 - 0.001) FROM generate_series(1, 50000);
-- log-uniform over 1 us .. 1 h (every decade equally)
INSERT INTO sk_v SELECT 'log-uniform', 0.001 * power(3.6e9, random()) FROM generate_series(1, 50000);
-- log-normal around 5 ms (Box-Muller), clamped to 1 us .. 1 h
INSERT INTO sk_v
  SELECT 'log-normal', least(3600000, greatest(0.001,
         5 * exp(1.2 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))))
  FROM generate_series(1, 50000);
-- bimodal: 90 % near 0.2 ms (cache hits), 10 % near 200 ms (disk)
INSERT INTO sk_v
  SELECT 'bimodal', CASE WHEN random() < 0.9 THEN 0.15 + random() * 0.1 ELSE 150 + random() * 100 END
  FROM generate_series(1, 50000);
-- the ends of the range and a constant
INSERT INTO sk_v SELECT 'ends', CASE WHEN g % 2 = 0 THEN 0.001 ELSE 3600000 END FROM generate_series(1, 1000) g;
INSERT INTO sk_v SELECT 'constant', 42.5 FROM generate_series(1, 1000);
RESET client_min_messages;

-- exact nearest-rank quantiles and the sketch's, per distribution
CREATE TEMP TABLE sk_cmp AS
WITH exact AS (
  SELECT v.dist, q.q, percentile_disc(q.q) WITHIN GROUP (ORDER BY v.ms) AS exact_ms
    FROM sk_v v CROSS JOIN sk_q q GROUP BY v.dist, q.q),
est AS (
  SELECT v.dist, s.value_ms, s.bytes, s.collapsed, qa.qs
    FROM (SELECT dist, array_agg(ms) AS vals FROM sk_v GROUP BY dist) v,
         (SELECT array_agg(q ORDER BY q) AS qs FROM sk_q) qa,
         LATERAL observa.sketch_quantiles(v.vals, qa.qs) s)
SELECT est.dist, x.q, x.exact_ms, est.value_ms[array_position(est.qs, x.q)] AS sketch_ms,
       est.bytes, est.collapsed
  FROM est JOIN exact x USING (dist);

-- every quantile within 1 % of the exact one (the bound achieved: 0.99 %)
SELECT dist, count(*) AS quantiles,
       max(abs(sketch_ms - exact_ms) / exact_ms) <= 0.0099 AS within_1_percent,
       bool_and(NOT collapsed) AS not_collapsed
  FROM sk_cmp GROUP BY dist ORDER BY dist COLLATE "C";

-- the memory each distribution's sketch took: the whole range (9.6
-- decades) in at most 2.6 kB, three decades in under 1 kB
SELECT dist, max(bytes) <= 2624 AS at_most_2_6_kb FROM sk_cmp GROUP BY dist ORDER BY dist COLLATE "C";
SELECT bytes <= 1024 AS three_decades_under_1_kb, bytes
  FROM observa.sketch_quantiles(
         (SELECT array_agg(power(10, g / 10000.0)) FROM generate_series(0, 30000) g), ARRAY[0.5]);
SELECT bytes AS one_value_bytes, cells FROM observa.sketch_quantiles(ARRAY[1.5], ARRAY[0.5]);

-- counts past 16 bits widen a cell (still exact); past 56 cells of spread
-- the lowest collapse and only the quantiles above them keep the bound
SELECT value_ms[1] BETWEEN 0.99 * 7.5 AND 1.01 * 7.5 AS wide_median_ok, bytes, collapsed
  FROM observa.sketch_quantiles(ARRAY[7, 7.5, 8], ARRAY[0.5], 100000);
WITH v AS (SELECT array_agg(0.001 * power(3.6e9, g / 1200.0)) AS vals FROM generate_series(0, 1200) g),
     s AS (SELECT * FROM v, observa.sketch_quantiles(v.vals, ARRAY[0.9, 0.99, 1], 70000))
SELECT collapsed, bytes <= 3584 AS within_3_5_kb,
       abs(value_ms[1] - 0.001 * power(3.6e9, 1080 / 1200.0)) / (0.001 * power(3.6e9, 1080 / 1200.0)) <= 0.0099 AS p90_ok,
       abs(value_ms[2] - 0.001 * power(3.6e9, 1188 / 1200.0)) / (0.001 * power(3.6e9, 1188 / 1200.0)) <= 0.0099 AS p99_ok,
       value_ms[3] >= 3599999 AS max_ok
  FROM s;

-- bad input
SELECT * FROM observa.sketch_quantiles(NULL, ARRAY[0.5]);
SELECT * FROM observa.sketch_quantiles(ARRAY[1.0], NULL);
SELECT * FROM observa.sketch_quantiles(ARRAY[-1.0], ARRAY[0.5]);
SELECT * FROM observa.sketch_quantiles(ARRAY['Infinity']::float8[], ARRAY[0.5]);
SELECT * FROM observa.sketch_quantiles(ARRAY[1.0], ARRAY[1.5]);
SELECT * FROM observa.sketch_quantiles(ARRAY[1.0], ARRAY[0.5], 0);
SELECT * FROM observa.sketch_quantiles(ARRAY[]::float8[], ARRAY[0.5]);
