package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gatehouse/server/auth"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// Rules of sign-in throttling, refresh rotation and current-password
// checks, each at its edge; the fixture is service_test.go's (3 free
// failures per account, 30 per address, lockouts forgotten after an hour).

func TestASignInSettlesOnlyItsOwnAttemptWithTheAddress(t *testing.T) {
	const ip = "203.0.113.9"
	tests := []struct {
		name string
		last func(f *fixture) error // after 4 wrong guesses at other accounts from ip
		want map[string]int
	}{
		{"signing in to one's own account keeps the count of guesses at others",
			func(f *fixture) error {
				_, err := f.svc.Login(context.Background(), "ann", "password-1", auth.Meta{IP: ip})
				return err
			}, map[string]int{"ip:" + ip: 4, "user:ann": 0}},
		{"a wrong password adds one",
			func(f *fixture) error {
				_, err := f.svc.Login(context.Background(), "ann", "wrong-pass", auth.Meta{IP: ip})
				if !errors.Is(err, auth.ErrBadCredentials) {
					return err
				}
				return nil
			}, map[string]int{"ip:" + ip: 5, "user:ann": 1}},
		{"malformed input adds one to the address only",
			func(f *fixture) error {
				_, err := f.svc.Login(context.Background(), "ann", strings.Repeat("p", 73), auth.Meta{IP: ip})
				var re *auth.RequestError
				if !errors.As(err, &re) {
					return err
				}
				return nil
			}, map[string]int{"ip:" + ip: 5, "user:ann": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			for i := range 4 {
				f.svc.Login(context.Background(), fmt.Sprintf("nobody%d", i), "wrong-pass", auth.Meta{IP: ip})
			}
			if err := tt.last(f); err != nil {
				t.Fatal(err)
			}
			names := make([]string, 0, len(tt.want))
			for k := range tt.want {
				names = append(names, k)
			}
			if got := keys(t, f, names...); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("failures %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFailuresOlderThanTheForgetTimeStartOver(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"an account locked an hour ago has its free attempts again", func(t *testing.T, f *fixture) {
			for i := range 3 {
				f.svc.Login(ctx, "ann", "wrong-pass", auth.Meta{IP: fmt.Sprintf("198.51.100.%d", i)})
			}
			var te *auth.ThrottledError
			if _, err := f.svc.Login(ctx, "ann", "password-1", auth.Meta{IP: "198.51.100.9"}); !errors.As(err, &te) {
				t.Fatalf("after 3 failures: %v, want *ThrottledError", err)
			}
			f.clock.Advance(time.Hour)
			for i := range 3 {
				if _, err := f.svc.Login(ctx, "ann", "wrong-pass", auth.Meta{IP: fmt.Sprintf("198.51.100.%d", 10+i)}); !errors.Is(err, auth.ErrBadCredentials) {
					t.Fatalf("wrong guess %d an hour later: %v, want ErrBadCredentials (checked, not throttled)", i+1, err)
				}
			}
		}},
		{"a session's wrong current passwords an hour old start over", func(t *testing.T, f *fixture) {
			p, err := f.svc.Authenticate(ctx, f.login(t).AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				f.svc.CheckCurrentPassword(ctx, p, "wrong", auth.Meta{})
			}
			f.clock.Advance(time.Hour)
			for i := range 2 {
				if err := f.svc.CheckCurrentPassword(ctx, p, "wrong", auth.Meta{}); !errors.Is(err, auth.ErrWrongPassword) {
					t.Fatalf("wrong password %d an hour later: %v, want ErrWrongPassword", i+1, err)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newFixture(t)) })
	}
}

func TestCurrentPasswordsAreCountedPerSessionAndClearedByTheRightOne(t *testing.T) {
	ctx := context.Background()
	type step struct {
		session int // which of two sessions of ann's asks
		pw      string
		want    error
	}
	wrong := func(s int) step { return step{s, "wrong", auth.ErrWrongPassword} }
	tests := []struct {
		name  string
		steps []step
		ended [2]bool // which sessions the steps ended
	}{
		{"each session has a count of its own", []step{wrong(0), wrong(0), wrong(1), wrong(1), {1, "password-1", nil}, {0, "password-1", nil}}, [2]bool{}},
		{"the right password clears the count", []step{wrong(0), wrong(0), {0, "password-1", nil}, wrong(0), wrong(0)}, [2]bool{}},
		{"the third wrong password ends that session only", []step{wrong(0), wrong(0), {0, "wrong", auth.ErrInvalidToken}, {0, "password-1", auth.ErrInvalidToken}, {1, "password-1", nil}}, [2]bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var ps [2]*auth.Principal
			var tokens [2]string
			for i := range ps {
				tokens[i] = f.login(t).AccessToken
				p, err := f.svc.Authenticate(ctx, tokens[i])
				if err != nil {
					t.Fatal(err)
				}
				ps[i] = p
			}
			for i, s := range tt.steps {
				err := f.svc.CheckCurrentPassword(ctx, ps[s.session], s.pw, auth.Meta{})
				if s.want == nil && err != nil || s.want != nil && !errors.Is(err, s.want) {
					t.Fatalf("step %d (session %d, %q): %v, want %v", i+1, s.session, s.pw, err, s.want)
				}
			}
			for i, tok := range tokens {
				_, err := f.svc.Authenticate(ctx, tok)
				if ended := errors.Is(err, auth.ErrInvalidToken); ended != tt.ended[i] || !ended && err != nil {
					t.Errorf("session %d afterwards: %v, want ended %t", i, err, tt.ended[i])
				}
			}
		})
	}
}

func TestTheGraceWindowEndsAtRefreshGraceExactly(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		after time.Duration // since the rotation
		reuse bool
	}{
		{9 * time.Second, false},
		{10 * time.Second, false},
		{10*time.Second + time.Millisecond, true},
	} {
		name := fmt.Sprintf("the replaced token %v after the rotation gets an access token", tt.after)
		if tt.reuse {
			name = fmt.Sprintf("the replaced token %v after the rotation is reuse", tt.after)
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			g := f.login(t)
			f.clock.Advance(time.Minute)
			if _, err := f.svc.Refresh(ctx, g.RefreshToken, auth.Meta{}); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(tt.after)
			again, err := f.svc.Refresh(ctx, g.RefreshToken, auth.Meta{})
			s, serr := f.store.SessionByID(ctx, g.SessionID)
			if serr != nil {
				t.Fatal(serr)
			}
			if tt.reuse {
				if !errors.Is(err, auth.ErrBadRefresh) || s.RevokedReason != shared.RevokedRefreshReuse {
					t.Fatalf("%v, session revoked for %q; want ErrBadRefresh and the session revoked for reuse", err, s.RevokedReason)
				}
				return
			}
			if err != nil || again.AccessToken == "" || again.RefreshToken != "" || s.RefreshGen != 1 {
				t.Fatalf("%+v, %v, generation %d; want an access token, no new refresh token, no new rotation", again, err, s.RefreshGen)
			}
		})
	}
}

func TestOnlyTheGenerationJustReplacedHasAGrace(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		gen   int // presented, after two rotations a second apart
		reuse bool
	}{
		{"the generation just replaced gets an access token", 1, false},
		{"the one before it, even within the grace, is reuse", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			g := f.login(t)
			tokens := []string{g.RefreshToken}
			for range 2 {
				f.clock.Advance(time.Second)
				next, err := f.svc.Refresh(ctx, tokens[len(tokens)-1], auth.Meta{})
				if err != nil {
					t.Fatal(err)
				}
				tokens = append(tokens, next.RefreshToken)
			}
			f.clock.Advance(time.Second)
			_, err := f.svc.Refresh(ctx, tokens[tt.gen], auth.Meta{})
			if got := errors.Is(err, auth.ErrBadRefresh); got != tt.reuse || !tt.reuse && err != nil {
				t.Fatalf("generation %d: %v, want reuse %t", tt.gen, err, tt.reuse)
			}
			s, err := f.store.SessionByID(ctx, g.SessionID)
			if err != nil || (s.RevokedReason == shared.RevokedRefreshReuse) != tt.reuse {
				t.Fatalf("session %+v (%v): revoked for reuse should be %t", s, err, tt.reuse)
			}
		})
	}
}

func TestADisabledUserCannotRefresh(t *testing.T) {
	// Disabling through the admin service also revokes the sessions; this
	// is the rule on its own, for a user disabled any other way.
	f := newFixture(t)
	ctx := context.Background()
	g := f.login(t)
	f.update(t, func(tx store.Tx) error {
		u, err := tx.LockUser(ctx, g.UserID)
		if err != nil {
			return err
		}
		u.Disabled = true
		return tx.SaveUser(ctx, u)
	})
	if _, err := f.svc.Refresh(ctx, g.RefreshToken, auth.Meta{}); !errors.Is(err, auth.ErrInactive) {
		t.Fatalf("%v, want ErrInactive", err)
	}
	if s, err := f.store.SessionByID(ctx, g.SessionID); err != nil || s.RefreshGen != 0 {
		t.Fatalf("session %+v (%v): the refused refresh rotated it", s, err)
	}
}

func TestSignInInputIsCheckedUpToItsLimitsAndRefusedPastThem(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, tt := range []struct {
		name, user, pw string
		checked        bool // the password is checked (and wrong), rather than the input refused
	}{
		{"a 3-character username is checked", "abc", "password-1", true},
		{"a 2-character username is refused", "ab", "password-1", false},
		{"a 32-character username is checked", strings.Repeat("a", 32), "password-1", true},
		{"a 33-character username is refused", strings.Repeat("a", 33), "password-1", false},
		{"a 1-byte password is checked", "ann", "p", true},
		{"a 72-byte password is checked", "ann", strings.Repeat("p", 72), true},
		{"a 73-byte password is refused", "ann", strings.Repeat("p", 73), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Login(ctx, tt.user, tt.pw, auth.Meta{IP: "192.0.2.50"})
			var re *auth.RequestError
			if tt.checked && !errors.Is(err, auth.ErrBadCredentials) || !tt.checked && !errors.As(err, &re) {
				t.Fatalf("%v, want checked %t", err, tt.checked)
			}
		})
	}
}

func TestNoTokenOutlivesItsSession(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		get  func(f *fixture, g *auth.Grant) (*auth.Grant, error)
	}{
		{"a rotation ten minutes before the session's end", func(f *fixture, g *auth.Grant) (*auth.Grant, error) {
			return f.svc.Refresh(ctx, g.RefreshToken, auth.Meta{})
		}},
		{"the grace answer ten minutes before the session's end", func(f *fixture, g *auth.Grant) (*auth.Grant, error) {
			if _, err := f.svc.Refresh(ctx, g.RefreshToken, auth.Meta{}); err != nil {
				return nil, err
			}
			f.clock.Advance(time.Second)
			return f.svc.Refresh(ctx, g.RefreshToken, auth.Meta{})
		}},
	} {
		t.Run(tt.name+" expires with the session", func(t *testing.T) {
			f := newFixture(t)
			g := f.login(t)
			s, err := f.store.SessionByID(ctx, g.SessionID)
			if err != nil {
				t.Fatal(err)
			}
			end := s.ExpiresAt
			f.clock.Advance(12*time.Hour - 10*time.Minute)
			got, err := tt.get(f, g)
			if err != nil {
				t.Fatal(err)
			}
			if !got.AccessExpires.Equal(end) || got.RefreshExpires.After(end) {
				t.Fatalf("access token until %v, refresh token until %v; the session ends %v", got.AccessExpires, got.RefreshExpires, end)
			}
			if s, err := f.store.SessionByID(ctx, g.SessionID); err != nil || s.RefreshExpiresAt.After(end) {
				t.Fatalf("the stored refresh token expires %v (%v), after the session's end %v", s.RefreshExpiresAt, err, end)
			}
		})
	}
}
