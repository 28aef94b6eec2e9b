// Package integration holds the tests that drive the real Gatehouse server
// (wired by server/boot, on SQLite, behind httptest) through the real API
// client of app/client. It has no code of its own.
package integration
