\set t random(1, 20)
SELECT kind, count(*) FROM app.events
 WHERE tenant_id = :t AND at > now() - interval '30 days' GROUP BY kind;
