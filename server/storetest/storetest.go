// Package storetest is the contract every store.Store implementation must
// meet, as a test suite. An implementation's tests call Run with a function
// that opens a fresh, empty store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { db.Close() })
//			return db
//		})
//	}
//
// The suite uses the store.Store interface only and relies on nothing but
// what its doc comments promise: a store may serialise its transactions
// with one database-wide lock, hold rows, or detect conflicts and run fn
// again; the tests observe outcomes, never where a transaction waits. It
// does assume that the store serves more than one connection at a time: a
// read through the store, or a second transaction, may run while a
// transaction is open.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

// Run runs the contract suite. Every test calls open for a store of its
// own, which must be empty; open is responsible for disposing of the store
// when the test ends (t.Cleanup), and must tolerate the store having been
// closed by the test already.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"users", userTests},
		{"admins", adminTests},
		{"sessions", sessionTests},
		{"recovery codes", recoveryCodeTests},
		{"challenges", challengeTests},
		{"attempts", attemptTests},
		{"audit", auditTests},
		{"purge", purgeTests},
		{"transactions", txTests},
		{"isolation", isolationTests},
		{"store", storeTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, newFixture(t, open))
				})
			}
		})
	}
}

// A test is one test of the suite; its name reads as a sentence.
type test struct {
	name string
	run  func(t *testing.T, f *fixture)
}

// base is an arbitrary instant the tests build times on.
var base = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// india is a time zone half an hour off the UTC hours.
var india = time.FixedZone("IST", 5*3600+1800)

// seq numbers sessions and salts, so that no two are alike.
var seq atomic.Int64

// A fixture is a store under test and helpers that fail the test when a
// call that must succeed does not.
type fixture struct {
	t    *testing.T
	s    store.Store
	ctx  context.Context
	open func(t *testing.T) store.Store
}

func newFixture(t *testing.T, open func(t *testing.T) store.Store) *fixture {
	return &fixture{t: t, s: open(t), ctx: t.Context(), open: open}
}

// fresh returns a fixture with a new, empty store for the subtest t.
func (f *fixture) fresh(t *testing.T) *fixture { return newFixture(t, f.open) }

// sub returns the fixture for the subtest t, on the same store.
func (f *fixture) sub(t *testing.T) *fixture {
	g := *f
	g.t, g.ctx = t, t.Context()
	return &g
}

// must fails the test at once if err is not nil.
func (f *fixture) must(err error, format string, args ...any) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}

// update runs fn in a transaction that must commit.
func (f *fixture) update(fn func(tx store.Tx) error) {
	f.t.Helper()
	f.must(f.s.Update(f.ctx, fn), "Update")
}

// user creates an enabled user with the given username and role.
func (f *fixture) user(username string, role shared.Role) *store.User {
	f.t.Helper()
	return f.createUser(newUser(username, role))
}

// disabledUser creates a disabled user with the given username and role.
func (f *fixture) disabledUser(username string, role shared.Role) *store.User {
	f.t.Helper()
	u := newUser(username, role)
	u.Disabled = true
	return f.createUser(u)
}

// userAt creates a viewer created at the given time.
func (f *fixture) userAt(username string, created time.Time) *store.User {
	f.t.Helper()
	u := newUser(username, shared.RoleViewer)
	u.CreatedAt, u.UpdatedAt = created, created
	return f.createUser(u)
}

func newUser(username string, role shared.Role) *store.User {
	return &store.User{
		User: shared.User{
			Username: username,
			FullName: "Full Name of " + username,
			Email:    username + "@example.com",
			Role:     role,
		},
		PasswordHash: "hash of " + username,
	}
}

func (f *fixture) createUser(u *store.User) *store.User {
	f.t.Helper()
	f.must(f.s.Update(f.ctx, func(tx store.Tx) error { return tx.CreateUser(f.ctx, u) }),
		"CreateUser(%q)", u.Username)
	return u
}

// getUser reads the user back.
func (f *fixture) getUser(id int64) *store.User {
	f.t.Helper()
	u, err := f.s.UserByID(f.ctx, id)
	f.must(err, "UserByID(%d)", id)
	return u
}

// newSession returns an unrevoked, never rotated session of u created at
// created, with a salt of its own.
func newSession(u *store.User, created time.Time) *store.Session {
	n := seq.Add(1)
	// 16 bytes, zeros and a byte above 0x7f among them: a salt is binary.
	salt := make([]byte, 16)
	salt[0], salt[1] = 0xff, 0x80
	binary.BigEndian.PutUint64(salt[8:], uint64(n))
	return &store.Session{
		ID:               fmt.Sprintf("session-%d", n),
		UserID:           u.ID,
		Username:         u.Username,
		CreatedAt:        created,
		LastSeenAt:       created,
		ExpiresAt:        created.Add(30 * 24 * time.Hour),
		RefreshSalt:      salt,
		RefreshExpiresAt: created.Add(7 * 24 * time.Hour),
		RotatedAt:        created,
		UserAgent:        "storetest/1.0",
		IP:               "192.0.2.1",
		AMR:              []string{"pwd"},
		AuthTime:         created,
	}
}

// session creates a session of u created at created, with modify, when
// not nil, applied before it is stored.
func (f *fixture) session(u *store.User, created time.Time, modify func(*store.Session)) *store.Session {
	f.t.Helper()
	s := newSession(u, created)
	if modify != nil {
		modify(s)
	}
	f.must(f.s.Update(f.ctx, func(tx store.Tx) error { return tx.CreateSession(f.ctx, s) }),
		"CreateSession(%q)", s.ID)
	return s
}

// revokedAs returns a modification for session that revokes the session
// with reason at time at.
func revokedAs(reason string, at time.Time) func(*store.Session) {
	return func(s *store.Session) { s.RevokedAt, s.RevokedReason = &at, reason }
}

// getSession reads the session back.
func (f *fixture) getSession(id string) *store.Session {
	f.t.Helper()
	s, err := f.s.SessionByID(f.ctx, id)
	f.must(err, "SessionByID(%q)", id)
	return s
}

// wantRevoked checks that the session with the given ID is revoked with
// reason at time at.
func (f *fixture) wantRevoked(id, reason string, at time.Time) {
	f.t.Helper()
	s := f.getSession(id)
	if s.RevokedAt == nil {
		f.t.Errorf("session %s is not revoked, want revoked with reason %q", id, reason)
		return
	}
	if !sameTime(*s.RevokedAt, ms(at)) || s.RevokedReason != reason {
		f.t.Errorf("session %s revoked at %v with reason %q, want at %v with reason %q",
			id, *s.RevokedAt, s.RevokedReason, ms(at), reason)
	}
}

// wantUnrevoked checks that the session with the given ID is not revoked.
func (f *fixture) wantUnrevoked(id string) {
	f.t.Helper()
	if s := f.getSession(id); s.RevokedAt != nil || s.RevokedReason != "" {
		f.t.Errorf("session %s revoked at %s with reason %q, want not revoked", id, fmtTime(s.RevokedAt), s.RevokedReason)
	}
}

// newChallenge returns an unused challenge of u created at created that
// expires five minutes later, with an ID of its own.
func newChallenge(u *store.User, created time.Time) *store.Challenge {
	return &store.Challenge{
		ID:        fmt.Sprintf("challenge-%d", seq.Add(1)),
		UserID:    u.ID,
		CreatedAt: created,
		ExpiresAt: created.Add(5 * time.Minute),
		Device:    "device-token-of-" + u.Username,
	}
}

// challenge creates a challenge of u created at created, with modify, when
// not nil, applied before it is stored.
func (f *fixture) challenge(u *store.User, created time.Time, modify func(*store.Challenge)) *store.Challenge {
	f.t.Helper()
	c := newChallenge(u, created)
	if modify != nil {
		modify(c)
	}
	f.must(f.s.Update(f.ctx, func(tx store.Tx) error { return tx.CreateChallenge(f.ctx, c) }),
		"CreateChallenge(%q)", c.ID)
	return c
}

// getChallenge reads the challenge with LockChallenge in a transaction of
// its own.
func (f *fixture) getChallenge(id string) (*store.Challenge, error) {
	var c *store.Challenge
	err := f.s.Update(f.ctx, func(tx store.Tx) (err error) {
		c, err = tx.LockChallenge(f.ctx, id)
		return err
	})
	return c, err
}

// code returns the hash of the recovery code named name, as the service
// stores it: SHA-256, binary.
func code(name string) []byte {
	h := sha256.Sum256([]byte(name))
	return h[:]
}

// codes returns the hashes of the recovery codes named names.
func codes(names ...string) [][]byte {
	var hs [][]byte
	for _, n := range names {
		hs = append(hs, code(n))
	}
	return hs
}

// replaceCodes sets the user's recovery codes in a transaction of its own.
func (f *fixture) replaceCodes(userID int64, hashes [][]byte) {
	f.t.Helper()
	f.must(f.s.Update(f.ctx, func(tx store.Tx) error { return tx.ReplaceRecoveryCodes(f.ctx, userID, hashes) }),
		"ReplaceRecoveryCodes(%d)", userID)
}

// consume consumes a recovery code in a transaction of its own.
func (f *fixture) consume(userID int64, hash []byte) (used bool, left int) {
	f.t.Helper()
	f.must(f.s.Update(f.ctx, func(tx store.Tx) (err error) {
		used, left, err = tx.ConsumeRecoveryCode(f.ctx, userID, hash)
		return err
	}), "ConsumeRecoveryCode(%d)", userID)
	return used, left
}

// codesLeft counts the user's recovery codes in a transaction of its own.
func (f *fixture) codesLeft(userID int64) int {
	f.t.Helper()
	var n int
	f.must(f.s.Update(f.ctx, func(tx store.Tx) (err error) {
		n, err = tx.RecoveryCodesLeft(f.ctx, userID)
		return err
	}), "RecoveryCodesLeft(%d)", userID)
	return n
}

// attempts reads the attempts under key in a transaction of their own.
func (f *fixture) attempts(key string) *store.Attempts {
	f.t.Helper()
	var a *store.Attempts
	f.must(f.s.Update(f.ctx, func(tx store.Tx) (err error) {
		a, err = tx.LockAttempts(f.ctx, key)
		return err
	}), "LockAttempts(%q)", key)
	return a
}

// saveAttempts stores a in a transaction of its own.
func (f *fixture) saveAttempts(a *store.Attempts) {
	f.t.Helper()
	f.must(f.s.Update(f.ctx, func(tx store.Tx) error { return tx.SaveAttempts(f.ctx, a) }),
		"SaveAttempts(%q)", a.Key)
}

// audit appends e in a transaction of its own.
func (f *fixture) audit(e *shared.AuditEvent) {
	f.t.Helper()
	f.must(f.s.Update(f.ctx, func(tx store.Tx) error { return tx.AddAudit(f.ctx, e) }), "AddAudit")
}

// enabledAdmins returns what LockEnabledAdmins answers in a transaction of
// its own.
func (f *fixture) enabledAdmins() []int64 {
	f.t.Helper()
	var ids []int64
	f.must(f.s.Update(f.ctx, func(tx store.Tx) (err error) {
		ids, err = tx.LockEnabledAdmins(f.ctx)
		return err
	}), "LockEnabledAdmins")
	return ids
}

// ms returns t as a store returns it: in UTC, truncated to the millisecond.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// sameTime reports whether got is the instant want and in UTC.
func sameTime(got, want time.Time) bool {
	return got.Equal(want) && got.Location() == time.UTC
}

// checkUser reports every field of got that differs from want, times
// compared at millisecond precision.
func checkUser(t *testing.T, got, want *store.User) {
	t.Helper()
	if got == nil {
		t.Errorf("user is nil, want %q", want.Username)
		return
	}
	type field struct {
		name      string
		got, want any
	}
	for _, c := range []field{
		{"ID", got.ID, want.ID},
		{"Username", got.Username, want.Username},
		{"FullName", got.FullName, want.FullName},
		{"Email", got.Email, want.Email},
		{"Role", got.Role, want.Role},
		{"Disabled", got.Disabled, want.Disabled},
		{"PasswordHash", got.PasswordHash, want.PasswordHash},
		{"MustChangePassword", got.MustChangePassword, want.MustChangePassword},
		{"TOTP.KeyID", got.TOTP.KeyID, want.TOTP.KeyID},
		{"TOTP.PendingKeyID", got.TOTP.PendingKeyID, want.TOTP.PendingKeyID},
		{"TOTP.LastStep", got.TOTP.LastStep, want.TOTP.LastStep},
		// Derived from the factor on every read, whatever the writer said.
		{"MFA", got.MFA, want.TOTP.Enabled()},
	} {
		if c.got != c.want {
			t.Errorf("user %q: %s = %#v, want %#v", want.Username, c.name, c.got, c.want)
		}
	}
	checkBytes(t, fmt.Sprintf("user %q: TOTP.Secret", want.Username), got.TOTP.Secret, want.TOTP.Secret)
	checkBytes(t, fmt.Sprintf("user %q: TOTP.Pending", want.Username), got.TOTP.Pending, want.TOTP.Pending)
	if !sameTime(got.CreatedAt, ms(want.CreatedAt)) {
		t.Errorf("user %q: CreatedAt = %v, want %v", want.Username, got.CreatedAt, ms(want.CreatedAt))
	}
	if !sameTime(got.UpdatedAt, ms(want.UpdatedAt)) {
		t.Errorf("user %q: UpdatedAt = %v, want %v", want.Username, got.UpdatedAt, ms(want.UpdatedAt))
	}
}

// checkSession reports every field of got that differs from want, times
// compared at millisecond precision.
func checkSession(t *testing.T, got, want *store.Session) {
	t.Helper()
	if got == nil {
		t.Errorf("session is nil, want %q", want.ID)
		return
	}
	type field struct {
		name      string
		got, want any
	}
	for _, c := range []field{
		{"ID", got.ID, want.ID},
		{"UserID", got.UserID, want.UserID},
		{"Username", got.Username, want.Username},
		{"RefreshGen", got.RefreshGen, want.RefreshGen},
		{"RevokedReason", got.RevokedReason, want.RevokedReason},
		{"UserAgent", got.UserAgent, want.UserAgent},
		{"IP", got.IP, want.IP},
	} {
		if c.got != c.want {
			t.Errorf("session %s: %s = %#v, want %#v", want.ID, c.name, c.got, c.want)
		}
	}
	if !bytes.Equal(got.RefreshSalt, want.RefreshSalt) {
		t.Errorf("session %s: RefreshSalt = %x, want %x", want.ID, got.RefreshSalt, want.RefreshSalt)
	}
	// An empty AMR reads back nil.
	if !slices.Equal(got.AMR, want.AMR) || (len(want.AMR) == 0) != (got.AMR == nil) {
		wantAMR := want.AMR
		if len(wantAMR) == 0 {
			wantAMR = nil
		}
		t.Errorf("session %s: AMR = %#v, want %#v", want.ID, got.AMR, wantAMR)
	}
	for _, c := range []struct {
		name      string
		got, want time.Time
	}{
		{"CreatedAt", got.CreatedAt, want.CreatedAt},
		{"LastSeenAt", got.LastSeenAt, want.LastSeenAt},
		{"ExpiresAt", got.ExpiresAt, want.ExpiresAt},
		{"RefreshExpiresAt", got.RefreshExpiresAt, want.RefreshExpiresAt},
		{"RotatedAt", got.RotatedAt, want.RotatedAt},
		{"AuthTime", got.AuthTime, want.AuthTime},
	} {
		if !sameTime(c.got, ms(c.want)) {
			t.Errorf("session %s: %s = %v, want %v", want.ID, c.name, c.got, ms(c.want))
		}
	}
	switch {
	case (got.RevokedAt == nil) != (want.RevokedAt == nil):
		t.Errorf("session %s: RevokedAt = %v, want %v", want.ID, fmtTime(got.RevokedAt), fmtTime(want.RevokedAt))
	case got.RevokedAt != nil && !sameTime(*got.RevokedAt, ms(*want.RevokedAt)):
		t.Errorf("session %s: RevokedAt = %v, want %v", want.ID, *got.RevokedAt, ms(*want.RevokedAt))
	}
}

// checkAttempts reports every field of got that differs from want, the
// time compared at millisecond precision.
func checkAttempts(t *testing.T, got, want *store.Attempts) {
	t.Helper()
	if got == nil {
		t.Errorf("attempts under %q are nil", want.Key)
		return
	}
	if got.Key != want.Key || got.Failures != want.Failures {
		t.Errorf("attempts under %q: Key %q, Failures %d; want %q, %d", want.Key, got.Key, got.Failures, want.Key, want.Failures)
	}
	if want.LastFailure.IsZero() {
		if !got.LastFailure.IsZero() {
			t.Errorf("attempts under %q: LastFailure = %v, want the zero time", want.Key, got.LastFailure)
		}
	} else if !sameTime(got.LastFailure, ms(want.LastFailure)) {
		t.Errorf("attempts under %q: LastFailure = %v, want %v", want.Key, got.LastFailure, ms(want.LastFailure))
	}
}

// checkEvent reports every field of got that differs from want, the time
// compared at millisecond precision.
func checkEvent(t *testing.T, got, want shared.AuditEvent) {
	t.Helper()
	wantTime := want.Time
	want.Time = ms(want.Time)
	if !sameTime(got.Time, want.Time) {
		t.Errorf("event %d: Time = %v, want %v (from %v)", want.ID, got.Time, want.Time, wantTime)
	}
	got.Time = want.Time
	if got != want {
		t.Errorf("event = %+v, want %+v", got, want)
	}
}

// checkBytes reports a mistake unless got holds the bytes of want, and is
// nil when want is empty: a store reads back no bytes as nil.
func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) || (len(want) == 0) != (got == nil) {
		if len(want) == 0 {
			want = nil
		}
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// checkChallenge reports every field of got that differs from want, times
// compared at millisecond precision.
func checkChallenge(t *testing.T, got, want *store.Challenge) {
	t.Helper()
	if got == nil {
		t.Errorf("challenge is nil, want %q", want.ID)
		return
	}
	if got.ID != want.ID || got.UserID != want.UserID || got.Attempts != want.Attempts || got.Device != want.Device || got.CookieOnly != want.CookieOnly {
		t.Errorf("challenge %s: ID %q, UserID %d, Attempts %d, Device %q, CookieOnly %t; want %q, %d, %d, %q, %t", want.ID,
			got.ID, got.UserID, got.Attempts, got.Device, got.CookieOnly, want.ID, want.UserID, want.Attempts, want.Device, want.CookieOnly)
	}
	if !sameTime(got.CreatedAt, ms(want.CreatedAt)) {
		t.Errorf("challenge %s: CreatedAt = %v, want %v", want.ID, got.CreatedAt, ms(want.CreatedAt))
	}
	if !sameTime(got.ExpiresAt, ms(want.ExpiresAt)) {
		t.Errorf("challenge %s: ExpiresAt = %v, want %v", want.ID, got.ExpiresAt, ms(want.ExpiresAt))
	}
	switch {
	case (got.UsedAt == nil) != (want.UsedAt == nil):
		t.Errorf("challenge %s: UsedAt = %v, want %v", want.ID, fmtTime(got.UsedAt), fmtTime(want.UsedAt))
	case got.UsedAt != nil && !sameTime(*got.UsedAt, ms(*want.UsedAt)):
		t.Errorf("challenge %s: UsedAt = %v, want %v", want.ID, *got.UsedAt, ms(*want.UsedAt))
	}
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "nil"
	}
	return t.String()
}

// checkErr reports whether err is target, and reports a mistake if not.
func checkErr(t *testing.T, call string, err, target error) bool {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want one wrapping %q", call, err, target)
		return false
	}
	return true
}

func usernames(users []*store.User) []string {
	names := []string{}
	for _, u := range users {
		names = append(names, u.Username)
	}
	return names
}

func sessionIDs(sessions []*store.Session) []string {
	ids := []string{}
	for _, s := range sessions {
		ids = append(ids, s.ID)
	}
	return ids
}

func sorted[T interface{ ~string | ~int64 }](s []T) []T {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func ptr[T any](v T) *T { return &v }
