-- 0004_challenge_cookie: a sign-in awaiting its code remembers whether its
-- password step asked for the refresh token as a cookie only, so that the
-- second step delivers it so even when that request does not ask again.
-- Additive: a column with a default (the old behaviour: not asked).

ALTER TABLE challenges ADD COLUMN cookie_only INTEGER NOT NULL DEFAULT 0
    CHECK (cookie_only IN (0, 1));
