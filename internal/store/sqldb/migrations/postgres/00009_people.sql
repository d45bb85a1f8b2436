-- People: users with roles, their API tokens, browser sessions kept in the
-- store (a restart or another replica keeps people signed in), and the
-- audit log.

-- +goose Up
CREATE TABLE users (
    id         text PRIMARY KEY,
    email      text NOT NULL,
    name       text NOT NULL,
    role       text NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
    active     boolean NOT NULL DEFAULT true,
    subject    text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE UNIQUE INDEX users_subject_key ON users (subject) WHERE subject IS NOT NULL;

ALTER TABLE tokens ADD COLUMN user_id text REFERENCES users (id);
ALTER TABLE tokens ADD COLUMN expires_at timestamptz;
ALTER TABLE tokens ADD COLUMN last_used_at timestamptz;
CREATE INDEX tokens_user ON tokens (user_id, created_at);

CREATE TABLE sessions (
    id         text PRIMARY KEY,
    hash       text NOT NULL,
    user_id    text REFERENCES users (id),
    token_id   text,
    name       text NOT NULL,
    role       text NOT NULL,
    csrf       text NOT NULL,
    created_at timestamptz NOT NULL,
    seen_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX sessions_hash_key ON sessions (hash);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_seen ON sessions (seen_at);

CREATE TABLE audit (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL,
    actor_id text NOT NULL DEFAULT '',
    actor    text NOT NULL,
    action   text NOT NULL,
    object   text NOT NULL DEFAULT '',
    detail   text NOT NULL DEFAULT '',
    remote   text NOT NULL DEFAULT ''
);
CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_actor ON audit (actor_id, id);

-- +goose Down
DROP TABLE audit;
DROP TABLE sessions;
DROP INDEX tokens_user;
ALTER TABLE tokens DROP COLUMN last_used_at;
ALTER TABLE tokens DROP COLUMN expires_at;
ALTER TABLE tokens DROP COLUMN user_id;
DROP TABLE users;
