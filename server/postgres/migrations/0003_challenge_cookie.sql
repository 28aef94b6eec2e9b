-- 0003_challenge_cookie: a sign-in awaiting its code remembers whether its
-- password step asked for the refresh token as a cookie only, so that the
-- second step delivers it so even when that request does not ask again;
-- the same as the SQLite store's migration 0004.
--
-- Additive (see migrate.go): an instance of the previous release neither
-- reads nor writes the column, and its default is what such an instance
-- did: the second step alone decides. ADD COLUMN with a constant default
-- rewrites no row.

ALTER TABLE challenges ADD COLUMN cookie_only boolean NOT NULL DEFAULT false;
