package auth

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"gatehouse/server/cache"
	"gatehouse/server/sqlite"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// Rules that only an interleaving shows — a change landing while a
// password is being checked, a password check that cannot start, keys
// replaced while a token is verified — forced here through the hooks the
// package has: Passwords.compare, the hashing slots, the clock.

// newInternalService returns a service on a real SQLite store, using pw,
// with the user ann (password "password-1").
func newInternalService(t *testing.T, pw *Passwords) (*Service, *cache.Store, *store.User) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Now().UTC().Truncate(time.Millisecond)
	clock := func() time.Time { return now }
	tokens, err := NewTokens(TokensConfig{Issuer: "i", Audience: "a", Keys: ring(t, NewKey(secretA)), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	st := cache.New(db, 5*time.Second, 1024, clock)
	lockout, ipLockout := DefaultLockouts(3, 15*time.Minute)
	svc := NewService(st, tokens, pw, testDataKeys(t), Config{
		AccessTTL: 30 * time.Minute, SlideAfter: time.Minute, SessionMax: 12 * time.Hour,
		RefreshTTL: 7 * 24 * time.Hour, RefreshGrace: 10 * time.Second, DeviceTTL: 90 * 24 * time.Hour,
		Lockout: lockout, IPLockout: ipLockout, StepUpMaxAge: 5 * time.Minute,
	}, slog.New(slog.DiscardHandler), clock)
	hash, err := bcrypt.GenerateFromPassword([]byte("password-1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	ann := &store.User{User: shared.User{Username: "ann", Role: shared.RoleViewer, CreatedAt: now, UpdatedAt: now}, PasswordHash: string(hash)}
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, ann) }); err != nil {
		t.Fatal(err)
	}
	return svc, st, ann
}

func TestASignInRacingAChangeToTheAccountOpensNoSession(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		change func(tx store.Tx, u *store.User) error
		want   error
	}{
		{"a password changed while the old one was checked", func(tx store.Tx, u *store.User) error {
			u.PasswordHash = "$2a$04$another.hash.entirely.................................."
			return tx.SaveUser(ctx, u)
		}, ErrBadCredentials},
		{"an account disabled while its password was checked", func(tx store.Tx, u *store.User) error {
			u.Disabled = true
			return tx.SaveUser(ctx, u)
		}, ErrInactive},
		{"an account deleted while its password was checked", func(tx store.Tx, u *store.User) error {
			return tx.DeleteUser(ctx, u.ID)
		}, ErrBadCredentials},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pw := NewPasswords(4, 1, time.Second)
			svc, st, ann := newInternalService(t, pw)
			pw.compare = func(hash, p []byte) error {
				err := st.Update(ctx, func(tx store.Tx) error {
					u, err := tx.LockUser(ctx, ann.ID)
					if err != nil {
						return err
					}
					return tt.change(tx, u)
				})
				if err != nil {
					t.Error(err)
				}
				return bcrypt.CompareHashAndPassword(hash, p) // the password was right when the check began
			}
			if _, err := svc.Login(ctx, "ann", "password-1", Meta{IP: "192.0.2.1"}); !errors.Is(err, tt.want) {
				t.Fatalf("%v, want %v", err, tt.want)
			}
			if _, n, err := st.ListSessions(ctx, store.SessionFilter{UserID: ann.ID}); err != nil || n != 0 {
				t.Fatalf("%d sessions opened (%v), want none", n, err)
			}
		})
	}
}

func TestABusyPasswordCheckCostsNoAttempt(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		// try makes the attempt (while every hashing slot is taken) and
		// returns the throttle keys it must have left untouched.
		try func(svc *Service, p *Principal) ([]string, error)
	}{
		{"signing in to an account", func(svc *Service, _ *Principal) ([]string, error) {
			_, err := svc.Login(ctx, "ann", "password-1", Meta{IP: "192.0.2.1"})
			return []string{"user:ann", "ip:192.0.2.1"}, err
		}},
		{"signing in to an unknown account", func(svc *Service, _ *Principal) ([]string, error) {
			_, err := svc.Login(ctx, "nobody", "password-1", Meta{IP: "192.0.2.1"})
			return []string{"user:nobody", "ip:192.0.2.1"}, err
		}},
		{"confirming the current password", func(svc *Service, p *Principal) ([]string, error) {
			err := svc.CheckCurrentPassword(ctx, p, "password-1", Meta{})
			return []string{"password:" + strconv.FormatInt(p.UserID, 10) + ":" + p.SessionID}, err
		}},
	} {
		t.Run(tt.name+" while every hashing slot is taken", func(t *testing.T) {
			pw := NewPasswords(4, 1, time.Millisecond)
			svc, st, _ := newInternalService(t, pw)
			g, err := svc.Login(ctx, "ann", "password-1", Meta{IP: "198.51.100.1"})
			if err != nil {
				t.Fatal(err)
			}
			p, err := svc.Authenticate(ctx, g.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			release, err := pw.acquire(ctx) // the only slot
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			keys, err := tt.try(svc, p)
			var be *BusyError
			if !errors.As(err, &be) {
				t.Fatalf("%v, want *BusyError", err)
			}
			err = st.Update(ctx, func(tx store.Tx) error {
				for _, k := range keys {
					a, err := tx.LockAttempts(ctx, k)
					if err != nil {
						return err
					}
					if a.Failures != 0 {
						t.Errorf("%s counts %d failures, want 0: a check that never ran costs nothing", k, a.Failures)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAVerdictReachedWhileTheKeysAreReplacedIsNotRemembered(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var (
		tk     *Tokens
		armed  bool
		reads  int
		during bool
	)
	// The parser reads the clock while it verifies: the keys are replaced
	// right then, as a SIGHUP would, dropping the key that signed the token.
	clock := func() time.Time {
		if armed {
			if reads++; reads == 2 {
				tk.SetKeys(ring(t, NewKey(secretB)))
				during = true
			}
		}
		return now
	}
	tk = newTestTokens(t, clock, NewKey(secretA))
	tok, err := tk.Issue(Subject{UserID: 1, SessionID: "s"}, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	armed = true
	if _, err := tk.Verify(tok); err != nil {
		t.Fatalf("the verification the rotation overtook: %v", err)
	}
	if !during {
		t.Fatal("the keys were not replaced during the verification; the test no longer interleaves")
	}
	if _, err := tk.Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("the token of the removed key, verified again: %v, want ErrInvalidToken", err)
	}
}
