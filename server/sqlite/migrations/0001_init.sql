-- 0001_init: users, their sessions and the audit log.
--
-- Times are INTEGER milliseconds since the Unix epoch, UTC.

CREATE TABLE users (
    -- AUTOINCREMENT: the ID of a deleted user is never handed out again,
    -- so stale references (tokens, audit entries) cannot name a new user.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL,
    full_name     TEXT    NOT NULL DEFAULT '',
    email         TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('viewer', 'manager', 'admin')),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX users_username ON users (username);
CREATE INDEX users_created_at ON users (created_at);
CREATE INDEX users_enabled_admins ON users (role) WHERE role = 'admin' AND disabled = 0;

CREATE TABLE sessions (
    id                 TEXT    NOT NULL PRIMARY KEY,
    user_id            INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at         INTEGER NOT NULL,
    last_seen_at       INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    refresh_hash       BLOB    NOT NULL,
    prev_refresh_hash  BLOB,
    refresh_expires_at INTEGER NOT NULL,
    rotated_at         INTEGER,
    revoked_at         INTEGER,
    revoked_reason     TEXT    NOT NULL DEFAULT '',
    user_agent         TEXT    NOT NULL DEFAULT '',
    ip                 TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE UNIQUE INDEX sessions_refresh_hash ON sessions (refresh_hash);
CREATE INDEX sessions_prev_refresh_hash ON sessions (prev_refresh_hash)
    WHERE prev_refresh_hash IS NOT NULL;
CREATE INDEX sessions_user ON sessions (user_id, created_at);
CREATE INDEX sessions_created_at ON sessions (created_at);
CREATE INDEX sessions_unrevoked ON sessions (expires_at) WHERE revoked_at IS NULL;

CREATE TABLE audit_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    time     INTEGER NOT NULL,
    actor_id INTEGER NOT NULL DEFAULT 0,
    actor    TEXT    NOT NULL DEFAULT '',
    action   TEXT    NOT NULL,
    target   TEXT    NOT NULL DEFAULT '',
    ip       TEXT    NOT NULL DEFAULT '',
    outcome  TEXT    NOT NULL DEFAULT '',
    detail   TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_actor ON audit_events (actor, time);
CREATE INDEX audit_events_action ON audit_events (action, time);
