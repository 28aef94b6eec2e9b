-- 0002_refresh_generations: refresh tokens become (session, generation)
-- pairs authenticated by a server key and a per-session salt, so every
-- token a session ever superseded is recognised as reuse while the row
-- keeps a constant size; failed attempts move into the database so that
-- the throttle is shared and survives restarts.
--
-- Sessions made before this migration get a fresh salt: their refresh
-- tokens no longer verify (access tokens keep working and sliding).

CREATE TABLE sessions_new (
    id                 TEXT    NOT NULL PRIMARY KEY,
    user_id            INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at         INTEGER NOT NULL,
    last_seen_at       INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    refresh_salt       BLOB    NOT NULL,
    refresh_gen        INTEGER NOT NULL DEFAULT 0,
    refresh_expires_at INTEGER NOT NULL,
    rotated_at         INTEGER NOT NULL,
    revoked_at         INTEGER,
    revoked_reason     TEXT    NOT NULL DEFAULT '',
    user_agent         TEXT    NOT NULL DEFAULT '',
    ip                 TEXT    NOT NULL DEFAULT ''
) STRICT;

INSERT INTO sessions_new (id, user_id, created_at, last_seen_at, expires_at,
    refresh_salt, refresh_gen, refresh_expires_at, rotated_at,
    revoked_at, revoked_reason, user_agent, ip)
SELECT id, user_id, created_at, last_seen_at, expires_at,
    randomblob(16), 0, refresh_expires_at, coalesce(rotated_at, created_at),
    revoked_at, revoked_reason, user_agent, ip
FROM sessions;

DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;

CREATE INDEX sessions_user ON sessions (user_id, created_at);
CREATE INDEX sessions_created_at ON sessions (created_at);
CREATE INDEX sessions_unrevoked ON sessions (expires_at) WHERE revoked_at IS NULL;

CREATE TABLE attempts (
    key          TEXT    NOT NULL PRIMARY KEY,
    failures     INTEGER NOT NULL CHECK (failures > 0),
    last_failure INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
