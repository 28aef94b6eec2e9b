-- 0002_mfa: a second factor (TOTP) per user, recovery codes, the
-- challenges of sign-ins awaiting a code, and how and when each session's
-- user authenticated; the same as the SQLite store's migration 0003.
--
-- Additive (see migrate.go): an instance of the previous release keeps
-- serving on the migrated database. It neither reads nor writes the new
-- columns, so each has a default that says the truth about the rows it
-- writes: no second factor, no forced password change, a session signed
-- in with a password. ADD COLUMN with a constant default rewrites no row.
--
-- TOTP secrets are ciphertext sealed by the service; the store keeps their
-- bytes and the ID of the key that sealed them. NULL is no secret.

ALTER TABLE users
    ADD COLUMN must_change_password boolean NOT NULL DEFAULT false,
    ADD COLUMN totp_secret          bytea,
    ADD COLUMN totp_key_id          text    NOT NULL DEFAULT '',
    ADD COLUMN totp_pending         bytea,
    ADD COLUMN totp_pending_key_id  text    NOT NULL DEFAULT '',
    ADD COLUMN totp_last_step       bigint  NOT NULL DEFAULT 0;

-- amr: the session's authentication methods (RFC 8176) separated by
-- single spaces; '' is none. auth_time is NULL for a session written
-- without it (before this migration, or by an instance of the previous
-- release): reads take its creation time, when its user signed in.
ALTER TABLE sessions
    ADD COLUMN amr       text NOT NULL DEFAULT 'pwd',
    ADD COLUMN auth_time timestamptz;

-- The hashes (SHA-256) of a user's unused recovery codes. The primary key
-- finds a user's codes, and one code of one user.
CREATE TABLE recovery_codes (
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, hash)
);

-- The second step of a sign-in with MFA, found by its ID.
CREATE TABLE challenges (
    id         text        NOT NULL PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    attempts   integer     NOT NULL DEFAULT 0,
    used_at    timestamptz,
    device     text        NOT NULL DEFAULT ''
);

-- For the cascade when a user is deleted, and for Purge.
CREATE INDEX challenges_user ON challenges (user_id);
CREATE INDEX challenges_expires_at ON challenges (expires_at);
