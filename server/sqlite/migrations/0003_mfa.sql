-- 0003_mfa: a second factor (TOTP) per user, recovery codes, the
-- challenges of sign-ins awaiting a code, and how and when each session's
-- user authenticated. Additive: columns with defaults and new tables.
--
-- TOTP secrets are ciphertext sealed by the service; the store keeps their
-- bytes and the ID of the key that sealed them. NULL is no secret.

ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0
    CHECK (must_change_password IN (0, 1));
ALTER TABLE users ADD COLUMN totp_secret BLOB;
ALTER TABLE users ADD COLUMN totp_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_pending BLOB;
ALTER TABLE users ADD COLUMN totp_pending_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

-- amr: the session's authentication methods (RFC 8176) separated by
-- single spaces; '' is none. Sessions from before this migration were all
-- signed in with a password, at their creation.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE sessions ADD COLUMN auth_time INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET auth_time = created_at;

-- The hashes (SHA-256) of a user's unused recovery codes. The primary key
-- finds a user's codes, and one code of one user; WITHOUT ROWID, the rows
-- are the index.
CREATE TABLE recovery_codes (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, hash)
) STRICT, WITHOUT ROWID;

-- The second step of a sign-in with MFA, found by its ID.
CREATE TABLE challenges (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    used_at    INTEGER,
    device     TEXT    NOT NULL DEFAULT ''
) STRICT;

-- For the cascade when a user is deleted, and for Purge.
CREATE INDEX challenges_user ON challenges (user_id);
CREATE INDEX challenges_expires_at ON challenges (expires_at);
