\set t random_exponential(1, 500, 6)
SELECT id, subject, created_at FROM app.tickets
 WHERE tenant_id = :t AND status IN ('open', 'acknowledged')
 ORDER BY created_at DESC LIMIT 20;
