\set id random(1, 200000)
UPDATE app.tickets SET status = 'closed' WHERE id = :id;
