\set t random_zipfian(1, 500, 1.1)
SELECT id, subject, created_at FROM app.tickets
 WHERE tenant_id = :t AND status IN ('open', 'acknowledged')
 ORDER BY created_at DESC LIMIT 20;
