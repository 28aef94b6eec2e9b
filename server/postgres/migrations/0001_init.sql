-- 0001_init: users, their sessions, the audit log and the failed-attempt
-- counters; the same tables and columns as the SQLite store's schema after
-- its migration 0002.
--
-- Times are timestamptz, written in UTC and truncated to the millisecond.

CREATE TABLE users (
    -- An identity never hands out the ID of a deleted user again, so stale
    -- references (tokens, audit entries) cannot name a new user.
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text        NOT NULL,
    full_name     text        NOT NULL DEFAULT '',
    email         text        NOT NULL DEFAULT '',
    role          text        NOT NULL CHECK (role IN ('viewer', 'manager', 'admin')),
    disabled      boolean     NOT NULL DEFAULT false,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE UNIQUE INDEX users_username ON users (username);
CREATE INDEX users_created_at ON users (created_at, id);
CREATE INDEX users_enabled_admins ON users (id) WHERE role = 'admin' AND NOT disabled;

CREATE TABLE sessions (
    id                 text        NOT NULL PRIMARY KEY,
    -- seq orders sessions created at the same millisecond, as SQLite's
    -- rowid does.
    seq                bigint      GENERATED ALWAYS AS IDENTITY,
    user_id            bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at         timestamptz NOT NULL,
    last_seen_at       timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL,
    refresh_salt       bytea       NOT NULL,
    refresh_gen        bigint      NOT NULL DEFAULT 0,
    refresh_expires_at timestamptz NOT NULL,
    rotated_at         timestamptz NOT NULL,
    revoked_at         timestamptz,
    revoked_reason     text        NOT NULL DEFAULT '',
    user_agent         text        NOT NULL DEFAULT '',
    ip                 text        NOT NULL DEFAULT ''
);

CREATE INDEX sessions_user ON sessions (user_id, created_at);
CREATE INDEX sessions_created_at ON sessions (created_at, seq);
CREATE INDEX sessions_unrevoked ON sessions (expires_at) WHERE revoked_at IS NULL;

CREATE TABLE audit_events (
    id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time     timestamptz NOT NULL,
    actor_id bigint      NOT NULL DEFAULT 0,
    actor    text        NOT NULL DEFAULT '',
    action   text        NOT NULL,
    target   text        NOT NULL DEFAULT '',
    ip       text        NOT NULL DEFAULT '',
    outcome  text        NOT NULL DEFAULT '',
    detail   text        NOT NULL DEFAULT ''
);

CREATE INDEX audit_events_time ON audit_events (time, id);
CREATE INDEX audit_events_actor ON audit_events (actor, time);
CREATE INDEX audit_events_action ON audit_events (action, time);

CREATE TABLE attempts (
    key          text        NOT NULL PRIMARY KEY,
    failures     integer     NOT NULL CHECK (failures > 0),
    last_failure timestamptz NOT NULL
);
