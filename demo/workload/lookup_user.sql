\set t random_exponential(1, 500, 6)
\set u random(1, 60000)
SELECT id, name FROM app.users WHERE tenant_id = :t AND email = 'user' || :u || '@example.com';
