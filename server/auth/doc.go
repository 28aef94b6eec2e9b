// Package auth signs and verifies access tokens, issues and rotates refresh
// tokens, hashes passwords, throttles sign-in attempts and decides, for each
// request, who is asking and whether their session still holds.
//
// The hot path — Service.Authenticate — touches no database for a token it
// has seen before: verified tokens are remembered until they expire
// (Verdicts), and session and user state is cached for a bounded time
// (State), dropped at once when this instance changes it.
package auth
