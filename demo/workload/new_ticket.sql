\set t random_zipfian(1, 500, 1.1)
\set u random(1, 60000)
BEGIN;
INSERT INTO app.tickets (tenant_id, user_id, status, priority, subject, created_at)
VALUES (:t, :u, 'open', 2, 'demo ticket', now());
INSERT INTO app.events (tenant_id, ticket_id, kind, at)
VALUES (:t, currval('app.tickets_id_seq'), 'created', now());
END;
