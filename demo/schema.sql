-- demo/schema.sql: a small multi-tenant SaaS schema with a skewed tenant
SET client_min_messages = warning;
-- distribution (a few big tenants, a long tail of small ones).
DROP SCHEMA IF EXISTS app CASCADE;
CREATE SCHEMA app;
SET search_path = app;

CREATE TABLE tenants (
    tenant_id   int PRIMARY KEY,
    name        text NOT NULL,
    plan        text NOT NULL
);

CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    tenant_id   int NOT NULL REFERENCES tenants,
    email       text NOT NULL,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE tickets (
    id          bigserial PRIMARY KEY,
    tenant_id   int NOT NULL REFERENCES tenants,
    user_id     bigint NOT NULL,
    status      text NOT NULL,
    priority    int NOT NULL,
    subject     text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE events (
    id          bigserial PRIMARY KEY,
    tenant_id   int NOT NULL,
    ticket_id   bigint NOT NULL,
    kind        text NOT NULL,
    at          timestamptz NOT NULL
);

INSERT INTO tenants
SELECT t, 'tenant ' || t, (ARRAY['free', 'team', 'enterprise'])[1 + t % 3]
  FROM generate_series(1, 500) t;

-- skew: tenant = 1 + floor(500 * r^3) puts ~20 % of rows on tenant 1
INSERT INTO users (tenant_id, email, name, created_at)
SELECT 1 + floor(500 * power(random(), 3))::int,
       'user' || g || '@example.com', 'User ' || g,
       now() - (random() * interval '700 days')
  FROM generate_series(1, 60000) g;

INSERT INTO tickets (tenant_id, user_id, status, priority, subject, created_at)
SELECT 1 + floor(500 * power(random(), 3))::int,
       1 + floor(random() * 60000)::int,
       (ARRAY['open', 'acknowledged', 'closed', 'closed', 'closed'])[1 + floor(random() * 5)::int],
       1 + floor(random() * 4)::int,
       'subject ' || g,
       now() - (random() * interval '700 days')
  FROM generate_series(1, 200000) g;

INSERT INTO events (tenant_id, ticket_id, kind, at)
SELECT 1 + floor(500 * power(random(), 3))::int,
       1 + floor(random() * 200000)::int,
       (ARRAY['viewed', 'commented', 'assigned'])[1 + floor(random() * 3)::int],
       now() - (random() * interval '700 days')
  FROM generate_series(1, 150000) g;

ANALYZE;
