package auth_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/server/auth"
	"gatehouse/server/sqlite"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// counting counts the reads the per-request check may make.
type counting struct {
	store.Store
	sessions, users atomic.Int64
}

func (c *counting) SessionByID(ctx context.Context, id string) (*store.Session, error) {
	c.sessions.Add(1)
	return c.Store.SessionByID(ctx, id)
}

func (c *counting) UserByID(ctx context.Context, id int64) (*store.User, error) {
	c.users.Add(1)
	return c.Store.UserByID(ctx, id)
}

type fixture struct {
	svc   *auth.Service
	state *auth.State
	db    *counting
	now   time.Time
	mu    sync.Mutex
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: &counting{Store: db}, now: time.Now().UTC().Truncate(time.Millisecond)}
	tokens, err := auth.NewTokens(auth.TokensConfig{Issuer: "i", Audience: "a", Sign: auth.NewKey([]byte("0123456789abcdef0123456789abcdef")), Leeway: 5 * time.Second, Verdicts: auth.NewVerdicts(1024), Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.state = auth.NewState(f.db, 5*time.Second, 1024, f.clock)
	pw := &auth.Passwords{Cost: 4}
	f.svc = auth.NewService(f.state, tokens, pw, auth.Config{
		AccessTTL: 30 * time.Minute, SlideAfter: time.Minute, SessionMax: 12 * time.Hour,
		RefreshTTL: 7 * 24 * time.Hour, RefreshGrace: 10 * time.Second, LoginBurst: 3, LoginEvery: time.Minute,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)), f.clock)
	hash, _ := pw.Hash("password-1")
	u := &store.User{User: shared.User{Username: "ann", Role: shared.RoleManager, CreatedAt: f.now, UpdatedAt: f.now}, PasswordHash: hash}
	if err := f.db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAuthenticateServesRepeatsFromCacheAndSeesRevocationAtOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g, err := f.svc.Login(ctx, "ann", "password-1", auth.Meta{IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
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

	f.advance(6 * time.Second) // past the cache TTL: state is read again
	if _, err := f.svc.Authenticate(ctx, g.AccessToken); err != nil {
		t.Fatal(err)
	}
	if s := f.db.sessions.Load(); s != 2 {
		t.Fatalf("after the TTL %d session reads, want 2", s)
	}

	if err := f.state.RevokeSession(ctx, g.SessionID, shared.RevokedByAdmin, f.clock()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, g.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("after revocation: %v, want ErrInvalidToken", err)
	}
}

func TestDisablingAndDemotingTakeEffectOnTheNextRequest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g, err := f.svc.Login(ctx, "ann", "password-1", auth.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, g.AccessToken); err != nil {
		t.Fatal(err)
	}
	viewer := shared.RoleViewer
	if _, err := f.state.UpdateUser(ctx, g.UserID, store.UserUpdate{Role: &viewer}, f.clock()); err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Authenticate(ctx, g.AccessToken)
	if err != nil || p.Role != shared.RoleViewer {
		t.Fatalf("after demotion: %+v, %v; want the viewer role", p, err)
	}
	yes := true
	if _, err := f.state.UpdateUser(ctx, g.UserID, store.UserUpdate{Disabled: &yes}, f.clock()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, g.AccessToken); !errors.Is(err, auth.ErrInactive) {
		t.Fatalf("a disabled user's token: %v, want ErrInactive", err)
	}
}

func TestSlideIsCappedBySessionExpiry(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	g, err := f.svc.Login(ctx, "ann", "password-1", auth.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.svc.Authenticate(ctx, g.AccessToken)
	if tok, _, _ := f.svc.Slide(ctx, p); tok != "" {
		t.Fatal("a fresh token must not slide")
	}
	f.advance(12*time.Hour - 10*time.Minute) // ten minutes left of the session
	g2, err := f.svc.Refresh(ctx, g.RefreshToken, auth.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	f.advance(2 * time.Minute)
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

func TestLoginThrottlesAndAnswersAlike(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, errUnknown := f.svc.Login(ctx, "nobody", "password-1", auth.Meta{IP: "10.0.0.1"})
	_, errWrong := f.svc.Login(ctx, "ann", "wrong-pass", auth.Meta{IP: "10.0.0.1"})
	if !errors.Is(errUnknown, auth.ErrBadCredentials) || !errors.Is(errWrong, auth.ErrBadCredentials) || errUnknown.Error() != errWrong.Error() {
		t.Fatalf("unknown user %v and wrong password %v must be the same error", errUnknown, errWrong)
	}
	for range 3 {
		f.svc.Login(ctx, "ann", "wrong-pass", auth.Meta{IP: "10.0.0.2"})
	}
	_, err := f.svc.Login(ctx, "ann", "password-1", auth.Meta{IP: "10.0.0.3"})
	var te *auth.ThrottledError
	if !errors.As(err, &te) || te.RetryAfter <= 0 {
		t.Fatalf("after the burst: %v, want *ThrottledError", err)
	}
	f.advance(time.Minute)
	if _, err := f.svc.Login(ctx, "ann", "password-1", auth.Meta{IP: "10.0.0.3"}); err != nil {
		t.Fatalf("after a minute the right password must work: %v", err)
	}
}
