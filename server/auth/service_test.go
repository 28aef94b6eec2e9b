package auth_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/server/auth"
	"gatehouse/server/cache"
	"gatehouse/server/clocktest"
	"gatehouse/server/seal"
	"gatehouse/server/sqlite"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// counting is a store that counts the reads the per-request check may
// make, delegating everything to the SQLite store it wraps.
type counting struct {
	db              *sqlite.DB
	sessions, users atomic.Int64
}

func (c *counting) SessionByID(ctx context.Context, id string) (*store.Session, error) {
	c.sessions.Add(1)
	return c.db.SessionByID(ctx, id)
}

func (c *counting) UserByID(ctx context.Context, id int64) (*store.User, error) {
	c.users.Add(1)
	return c.db.UserByID(ctx, id)
}

func (c *counting) UserByUsername(ctx context.Context, name string) (*store.User, error) {
	return c.db.UserByUsername(ctx, name)
}

func (c *counting) ListUsers(ctx context.Context, f store.UserFilter) ([]*store.User, int, error) {
	return c.db.ListUsers(ctx, f)
}

func (c *counting) CountUsersByRole(ctx context.Context) (map[shared.Role]int, error) {
	return c.db.CountUsersByRole(ctx)
}

func (c *counting) ListSessions(ctx context.Context, f store.SessionFilter) ([]*store.Session, int, error) {
	return c.db.ListSessions(ctx, f)
}

func (c *counting) CountActiveSessions(ctx context.Context, now time.Time) (int, error) {
	return c.db.CountActiveSessions(ctx, now)
}

func (c *counting) ListAudit(ctx context.Context, f store.AuditFilter) ([]shared.AuditEvent, int, error) {
	return c.db.ListAudit(ctx, f)
}

func (c *counting) CountSignIns(ctx context.Context, since time.Time) ([]shared.HourCount, error) {
	return c.db.CountSignIns(ctx, since)
}

func (c *counting) Update(ctx context.Context, fn func(store.Tx) error) error {
	return c.db.Update(ctx, fn)
}

func (c *counting) Ping(ctx context.Context) error { return c.db.Ping(ctx) }
func (c *counting) Close() error                   { return c.db.Close() }

type fixture struct {
	svc   *auth.Service
	store *cache.Store
	db    *counting
	user  *store.User
	clock *clocktest.Clock
}

var secret = []byte("0123456789abcdef0123456789abcdef")

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: &counting{db: db}, clock: clocktest.Start(time.Millisecond)}
	keys, err := auth.NewKeyring(auth.NewKey(secret))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(auth.TokensConfig{Issuer: "i", Audience: "a", Keys: keys, Leeway: 5 * time.Second, Verdicts: auth.NewVerdicts(1024), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.store = cache.New(f.db, 5*time.Second, 1024, f.clock.Now)
	pw := auth.NewPasswords(4, 4, 5*time.Second)
	lockout, ipLockout := auth.DefaultLockouts(3, 15*time.Minute)
	data, err := seal.Parse(seal.Generate("test"))
	if err != nil {
		t.Fatal(err)
	}
	f.svc = auth.NewService(f.store, tokens, pw, data, auth.Config{
		AccessTTL: 30 * time.Minute, SlideAfter: time.Minute, SessionMax: 12 * time.Hour,
		RefreshTTL: 7 * 24 * time.Hour, RefreshGrace: 10 * time.Second, DeviceTTL: 90 * 24 * time.Hour,
		Lockout: lockout, IPLockout: ipLockout, Issuer: "Gatehouse test", MFA: auth.MFAOptional, StepUpMaxAge: 5 * time.Minute,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)), f.clock.Now)
	hash, err := pw.Hash(context.Background(), "password-1")
	if err != nil {
		t.Fatal(err)
	}
	f.user = &store.User{User: shared.User{Username: "ann", Role: shared.RoleManager, CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}, PasswordHash: hash}
	f.update(t, func(tx store.Tx) error { return tx.CreateUser(context.Background(), f.user) })
	return f
}

func (f *fixture) update(t testing.TB, fn func(tx store.Tx) error) {
	t.Helper()
	if err := f.store.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) login(t testing.TB) *auth.Grant {
	t.Helper()
	g, err := f.svc.Login(context.Background(), "ann", "password-1", auth.Meta{IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestAuthenticateServesRepeatsFromCacheAndSeesRevocationAtOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g := f.login(t)
	for range 100 {
		p, err := f.svc.Authenticate(ctx, g.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if p.Role != shared.RoleManager || p.SessionID != g.SessionID {
			t.Fatalf("principal %+v", p)
		}
	}
	if s, u := f.db.sessions.Load(), f.db.users.Load(); s != 1 || u != 1 {
		t.Fatalf("100 requests read %d sessions and %d users, want 1 and 1", s, u)
	}

	f.clock.Advance(6 * time.Second) // past the cache TTL: state is read again
	if _, err := f.svc.Authenticate(ctx, g.AccessToken); err != nil {
		t.Fatal(err)
	}
	if s := f.db.sessions.Load(); s != 2 {
		t.Fatalf("after the TTL %d session reads, want 2", s)
	}

	// Any write of the session through the cache drops it.
	f.update(t, func(tx store.Tx) error {
		s, err := tx.LockSession(ctx, g.SessionID)
		if err != nil {
			return err
		}
		now := f.clock.Now()
		s.RevokedAt, s.RevokedReason = &now, shared.RevokedByAdmin
		return tx.SaveSession(ctx, s)
	})
	if _, err := f.svc.Authenticate(ctx, g.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("after revocation: %v, want ErrInvalidToken", err)
	}
}

func TestDisablingAndDemotingTakeEffectOnTheNextRequest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g := f.login(t)
	if _, err := f.svc.Authenticate(ctx, g.AccessToken); err != nil {
		t.Fatal(err)
	}
	set := func(change func(u *store.User)) {
		f.update(t, func(tx store.Tx) error {
			u, err := tx.LockUser(ctx, g.UserID)
			if err != nil {
				return err
			}
			change(u)
			return tx.SaveUser(ctx, u)
		})
	}
	set(func(u *store.User) { u.Role = shared.RoleViewer })
	p, err := f.svc.Authenticate(ctx, g.AccessToken)
	if err != nil || p.Role != shared.RoleViewer {
		t.Fatalf("after demotion: %+v, %v; want the viewer role", p, err)
	}
	set(func(u *store.User) { u.Disabled = true })
	if _, err := f.svc.Authenticate(ctx, g.AccessToken); !errors.Is(err, auth.ErrInactive) {
		t.Fatalf("a disabled user's token: %v, want ErrInactive", err)
	}
}

func TestSlideIsCappedBySessionExpiry(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g := f.login(t)
	p, _ := f.svc.Authenticate(ctx, g.AccessToken)
	if tok, _, _ := f.svc.Slide(ctx, p); tok != "" {
		t.Fatal("a fresh token must not slide")
	}
	f.clock.Advance(12*time.Hour - 10*time.Minute) // ten minutes left of the session
	g2, err := f.svc.Refresh(ctx, g.RefreshToken, auth.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Minute)
	p, err = f.svc.Authenticate(ctx, g2.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	tok, exp, err := f.svc.Slide(ctx, p)
	if err != nil || tok == "" {
		t.Fatalf("slide: %q, %v", tok, err)
	}
	if !exp.Equal(p.SessionExpires) {
		t.Fatalf("slid token expires %v, want the session's end %v", exp, p.SessionExpires)
	}
}

func TestLoginAnswersUnknownUserAndWrongPasswordAlike(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, errUnknown := f.svc.Login(ctx, "nobody", "password-1", auth.Meta{IP: "10.0.0.1"})
	_, errWrong := f.svc.Login(ctx, "ann", "wrong-pass", auth.Meta{IP: "10.0.0.1"})
	if !errors.Is(errUnknown, auth.ErrBadCredentials) || !errors.Is(errWrong, auth.ErrBadCredentials) || errUnknown.Error() != errWrong.Error() {
		t.Fatalf("unknown user %v and wrong password %v must be the same error", errUnknown, errWrong)
	}
	// Usernames are folded to lower case, as phones capitalise them.
	if _, err := f.svc.Login(ctx, " Ann ", "password-1", auth.Meta{IP: "10.0.0.1"}); err != nil {
		t.Fatalf("\" Ann \": %v", err)
	}
}

func TestLoginRefusesUnboundedInputBeforeAnyWork(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for name, c := range map[string]struct{ user, pw string }{
		"a 1 MB username":           {strings.Repeat("a", 1<<20), "password-1"},
		"a 33-character username":   {strings.Repeat("a", 33), "password-1"},
		"a username with a control": {"ann\x00", "password-1"},
		"a 73-byte password":        {"ann", strings.Repeat("p", 73)},
		"an empty password":         {"ann", ""},
	} {
		_, err := f.svc.Login(ctx, c.user, c.pw, auth.Meta{IP: "10.9.9.9"})
		var re *auth.RequestError
		if !errors.As(err, &re) {
			t.Errorf("%s: %v, want *RequestError", name, err)
		}
	}
	events, _, err := f.store.ListAudit(ctx, store.AuditFilter{})
	if err != nil || len(events) != 0 {
		t.Fatalf("refused input was audited: %v (%v)", events, err)
	}
	// The 72-byte edge is a password, checked (and wrong).
	if _, err := f.svc.Login(ctx, "ann", strings.Repeat("p", 72), auth.Meta{IP: "10.9.9.10"}); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("a 72-byte password: %v, want ErrBadCredentials", err)
	}
}

// keys lists the throttle keys in the store with their failures.
func keys(t *testing.T, f *fixture, names ...string) map[string]int {
	t.Helper()
	out := make(map[string]int)
	f.update(t, func(tx store.Tx) error {
		for _, n := range names {
			a, err := tx.LockAttempts(context.Background(), n)
			if err != nil {
				return err
			}
			out[n] = a.Failures
		}
		return nil
	})
	return out
}

func TestLoginCountsEachAttemptBeforeChecking(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	var checked, throttled atomic.Int64
	for i := range n {
		wg.Go(func() {
			_, err := f.svc.Login(ctx, "ann", "wrong-pass", auth.Meta{IP: "10.0.0." + string(rune('a'+i))})
			var te *auth.ThrottledError
			switch {
			case errors.Is(err, auth.ErrBadCredentials):
				checked.Add(1)
			case errors.As(err, &te):
				throttled.Add(1)
			default:
				t.Errorf("attempt: %v", err)
			}
		})
	}
	wg.Wait()
	if checked.Load() != 3 || throttled.Load() != n-3 {
		t.Fatalf("%d of %d concurrent guesses were checked (%d throttled); with 3 free, want exactly 3", checked.Load(), n, throttled.Load())
	}
	if got := keys(t, f, "user:ann")["user:ann"]; got != 3 {
		t.Fatalf("user:ann counts %d failures, want 3", got)
	}
}

func TestKnownDeviceIsNotLockedOutByOthers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g := f.login(t) // this browser now holds a device token
	for range 10 {
		f.svc.Login(ctx, "ann", "wrong-pass", auth.Meta{IP: "198.51.100.7"})
	}
	var te *auth.ThrottledError
	if _, err := f.svc.Login(ctx, "ann", "password-1", auth.Meta{IP: "203.0.113.1"}); !errors.As(err, &te) {
		t.Fatalf("an unknown device after the lockout: %v, want *ThrottledError", err)
	}
	if _, err := f.svc.Login(ctx, "ann", "password-1", auth.Meta{IP: "203.0.113.1", Device: g.Device}); err != nil {
		t.Fatalf("the owner's device must still sign in: %v", err)
	}
	// The device's own failures count against the device only.
	for range 3 {
		f.svc.Login(ctx, "ann", "wrong-pass", auth.Meta{IP: "203.0.113.1", Device: g.Device})
	}
	if _, err := f.svc.Login(ctx, "ann", "password-1", auth.Meta{IP: "203.0.113.1", Device: g.Device}); !errors.As(err, &te) {
		t.Fatalf("a device after its own 3 failures: %v, want *ThrottledError", err)
	}
	// A device token of another account is an unknown device.
	if _, err := f.svc.Login(ctx, "nobody", "password-1", auth.Meta{IP: "192.0.2.1", Device: g.Device}); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("another account with ann's device token: %v", err)
	}
	if got := keys(t, f, "user:nobody")["user:nobody"]; got != 1 {
		t.Fatalf("user:nobody counts %d, want 1", got)
	}
}

func TestRefreshDetectsReuseOfAnySupersededGeneration(t *testing.T) {
	for _, rotations := range []int{1, 2, 10} {
		t.Run(strings.Repeat("rotate ", rotations), func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			g := f.login(t)
			first, tok := g.RefreshToken, g.RefreshToken
			for range rotations {
				f.clock.Advance(time.Minute)
				next, err := f.svc.Refresh(ctx, tok, auth.Meta{})
				if err != nil {
					t.Fatal(err)
				}
				tok = next.RefreshToken
			}
			f.clock.Advance(time.Minute) // past the grace
			if _, err := f.svc.Refresh(ctx, first, auth.Meta{}); !errors.Is(err, auth.ErrBadRefresh) {
				t.Fatalf("replaying the first token: %v, want ErrBadRefresh", err)
			}
			s, err := f.store.SessionByID(ctx, g.SessionID)
			if err != nil || s.RevokedReason != shared.RevokedRefreshReuse {
				t.Fatalf("session after reuse: %+v, %v; want revoked for reuse", s, err)
			}
			if _, err := f.svc.Refresh(ctx, tok, auth.Meta{}); !errors.Is(err, auth.ErrBadRefresh) {
				t.Fatalf("the thief's newest token after reuse: %v, want ErrBadRefresh", err)
			}
		})
	}
}

func TestForgedRefreshTokensRevokeNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g := f.login(t)
	parts := strings.Split(g.RefreshToken, ".")
	for _, forged := range []string{
		parts[0] + ".0." + parts[2] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", // right session, made-up MAC
		parts[0] + ".5." + parts[2] + "." + parts[3],                                 // a future generation
		"unknown-session.0." + parts[2] + "." + parts[3],
		"garbage",
	} {
		if _, err := f.svc.Refresh(ctx, forged, auth.Meta{}); !errors.Is(err, auth.ErrBadRefresh) {
			t.Errorf("%q: %v, want ErrBadRefresh", forged, err)
		}
	}
	if _, err := f.svc.Refresh(ctx, g.RefreshToken, auth.Meta{}); err != nil {
		t.Fatalf("the real token after forgeries: %v", err)
	}
}

func TestWrongCurrentPasswordsEndTheSessionNotTheAccount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g := f.login(t)
	p, err := f.svc.Authenticate(ctx, g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := f.svc.CheckCurrentPassword(ctx, p, "wrong", auth.Meta{}); !errors.Is(err, auth.ErrWrongPassword) {
			t.Fatalf("wrong password %d: %v, want ErrWrongPassword", i+1, err)
		}
	}
	if err := f.svc.CheckCurrentPassword(ctx, p, "wrong", auth.Meta{}); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("the third wrong password: %v, want ErrInvalidToken (session ended)", err)
	}
	if _, err := f.svc.Authenticate(ctx, g.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("the session after the cap: %v, want revoked", err)
	}
	if err := f.svc.CheckCurrentPassword(ctx, p, "password-1", auth.Meta{}); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("even the right password after the cap: %v, want ErrInvalidToken", err)
	}
	if _, err := f.svc.Login(ctx, "ann", "password-1", auth.Meta{IP: "127.0.0.2"}); err != nil {
		t.Fatalf("the owner must still sign in: %v", err)
	}
}

// A session's budget of current passwords spent by checks that may still
// be running (right passwords sent at once) makes one more wait, counting
// nothing and ending nothing; spent by failures no check can still be
// making, it ends the session.
func TestCurrentPasswordBudgetSpentByChecksInFlight(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		age      time.Duration // since the last failure was counted
		wantBusy bool
	}{
		{"counted a moment ago: busy, the session lives", time.Second, true},
		{"counted long ago: the session ends", 2 * time.Minute, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			g := f.login(t)
			p, err := f.svc.Authenticate(ctx, g.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			k := "password:" + strconv.FormatInt(p.UserID, 10) + ":" + p.SessionID
			err = f.db.Update(ctx, func(tx store.Tx) error {
				return tx.SaveAttempts(ctx, &store.Attempts{Key: k, Failures: 3, LastFailure: f.clock.Now()})
			})
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(tt.age)
			err = f.svc.CheckCurrentPassword(ctx, p, "password-1", auth.Meta{})
			var busy *auth.BusyError
			if tt.wantBusy {
				if !errors.As(err, &busy) {
					t.Fatalf("the right password with the budget in flight: %v, want *BusyError", err)
				}
				if _, err := f.svc.Authenticate(ctx, g.AccessToken); err != nil {
					t.Fatalf("the session ended: %v", err)
				}
				return
			}
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("the right password after the budget was spent long ago: %v, want ErrInvalidToken", err)
			}
			if _, err := f.svc.Authenticate(ctx, g.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("the session lives: %v", err)
			}
		})
	}
}
