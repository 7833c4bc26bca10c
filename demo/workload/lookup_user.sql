\set t random_zipfian(1, 500, 1.1)
\set u random(1, 60000)
SELECT id, name FROM app.users WHERE tenant_id = :t AND email = 'user' || :u || '@example.com';
