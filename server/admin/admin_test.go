package admin_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/server/admin"
	"gatehouse/server/auth"
	"gatehouse/server/cache"
	"gatehouse/server/clocktest"
	"gatehouse/server/seal"
	"gatehouse/server/sqlite"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// The rules of this package, each tried at the service: who may act on
// whom, with the actor's account as it is when the write happens (not as
// the request's Principal remembers it), the last enabled admin, which
// sessions a change ends and the reason it records.

var ctx = context.Background()

const password = "password-1"

// fixture is an admin service over a real SQLite store, with the auth
// service that signs its actors in, on a clock the test moves.
type fixture struct {
	t     *testing.T
	store *cache.Store
	auth  *auth.Service
	svc   *admin.Service
	hash  string
	clock *clocktest.Clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, clock: clocktest.Start(time.Millisecond)}
	keys, err := auth.NewKeyring(auth.NewKey([]byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(auth.TokensConfig{Issuer: "i", Audience: "a", Keys: keys, Leeway: 5 * time.Second, Verdicts: auth.NewVerdicts(1024), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.store = cache.New(db, 5*time.Second, 1024, f.clock.Now)
	pw := auth.NewPasswords(4, 4, 5*time.Second)
	lockout, ipLockout := auth.DefaultLockouts(5, 15*time.Minute)
	log := slog.New(slog.DiscardHandler)
	f.auth = auth.NewService(f.store, tokens, pw, dataKeys(t), auth.Config{
		AccessTTL: 30 * time.Minute, SlideAfter: time.Minute, SessionMax: 12 * time.Hour,
		RefreshTTL: 7 * 24 * time.Hour, RefreshGrace: 10 * time.Second, DeviceTTL: 90 * 24 * time.Hour,
		Lockout: lockout, IPLockout: ipLockout, StepUpMaxAge: 5 * time.Minute,
	}, log, f.clock.Now)
	f.svc = admin.New(f.store, f.auth, pw, log)
	if f.hash, err = pw.Hash(ctx, password); err != nil {
		t.Fatal(err)
	}
	return f
}

// user creates a user with the role, straight in the store.
func (f *fixture) user(name string, role shared.Role) *store.User {
	f.t.Helper()
	now := f.clock.Now()
	u := &store.User{User: shared.User{Username: name, FullName: "Name of " + name, Role: role, CreatedAt: now, UpdatedAt: now}, PasswordHash: f.hash}
	f.update(func(tx store.Tx) error { return tx.CreateUser(ctx, u) })
	return u
}

// signIn signs u in and returns them as the API hands an actor to the
// service: authenticated now, with the role they have now.
func (f *fixture) signIn(u *store.User) admin.Actor {
	f.t.Helper()
	m := auth.Meta{IP: "192.0.2.1", UserAgent: "test"}
	g, err := f.auth.Login(ctx, u.Username, password, m)
	if err != nil {
		f.t.Fatalf("sign in %s: %v", u.Username, err)
	}
	p, err := f.auth.Authenticate(ctx, g.AccessToken)
	if err != nil {
		f.t.Fatalf("authenticate %s: %v", u.Username, err)
	}
	return admin.Actor{Principal: p, Meta: m}
}

func (f *fixture) update(fn func(tx store.Tx) error) {
	f.t.Helper()
	if err := f.store.Update(ctx, fn); err != nil {
		f.t.Fatal(err)
	}
}

// alter changes a user's row behind the service's back, as a request of
// another admin would between this request's authentication and its
// transaction.
func (f *fixture) alter(id int64, change func(u *store.User)) {
	f.t.Helper()
	f.update(func(tx store.Tx) error {
		u, err := tx.LockUser(ctx, id)
		if err != nil {
			return err
		}
		change(u)
		return tx.SaveUser(ctx, u)
	})
}

// session returns a session row as stored.
func (f *fixture) session(id string) *store.Session {
	f.t.Helper()
	s, err := f.store.SessionByID(ctx, id)
	if err != nil {
		f.t.Fatalf("session %s: %v", id, err)
	}
	return s
}

// events returns the audit events with the action and outcome.
func (f *fixture) events(action, outcome string) []shared.AuditEvent {
	f.t.Helper()
	all, _, err := f.store.ListAudit(ctx, store.AuditFilter{Action: action})
	if err != nil {
		f.t.Fatal(err)
	}
	return slices.DeleteFunc(all, func(e shared.AuditEvent) bool { return e.Outcome != outcome })
}

// snapshot describes every user and session row, for telling whether a
// refused action changed anything.
func (f *fixture) snapshot() string {
	f.t.Helper()
	users, _, err := f.store.ListUsers(ctx, store.UserFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	sessions, _, err := f.store.ListSessions(ctx, store.SessionFilter{Now: f.clock.Now()})
	if err != nil {
		f.t.Fatal(err)
	}
	var b strings.Builder
	for _, u := range users {
		fmt.Fprintf(&b, "user %d %s %q %q %s disabled=%t hash=%s\n", u.ID, u.Username, u.FullName, u.Email, u.Role, u.Disabled, u.PasswordHash)
	}
	for _, s := range sessions {
		fmt.Fprintf(&b, "session %s of %d revoked=%v %s\n", s.ID, s.UserID, s.RevokedAt != nil, s.RevokedReason)
	}
	return b.String()
}

// action is one thing an actor asks of the service about a target user,
// who holds a session.
type action struct {
	name  string
	audit string // the audit action of a refusal
	do    func(f *fixture, a admin.Actor, target *store.User, targetSession string) error
}

var actions = []action{
	{"creating a user of the target's role", shared.ActionUserCreate, func(f *fixture, a admin.Actor, target *store.User, _ string) error {
		_, err := f.svc.CreateUser(ctx, a, shared.UserCreate{Username: "newcomer", Password: "newcomer-password", Role: target.Role})
		return err
	}},
	{"renaming the target", shared.ActionUserUpdate, func(f *fixture, a admin.Actor, target *store.User, _ string) error {
		_, err := f.svc.UpdateUser(ctx, a, target.ID, shared.UserUpdate{FullName: ptr("Renamed")})
		return err
	}},
	{"disabling the target", shared.ActionUserUpdate, func(f *fixture, a admin.Actor, target *store.User, _ string) error {
		_, err := f.svc.UpdateUser(ctx, a, target.ID, shared.UserUpdate{Disabled: ptr(true)})
		return err
	}},
	{"resetting the target's password", shared.ActionPasswordReset, func(f *fixture, a admin.Actor, target *store.User, _ string) error {
		return f.svc.ResetPassword(ctx, a, target.ID, shared.PasswordReset{NewPassword: "chosen-by-actor"})
	}},
	{"revoking the target's session", shared.ActionSessionRevoke, func(f *fixture, a admin.Actor, _ *store.User, targetSession string) error {
		return f.svc.RevokeSession(ctx, a, targetSession)
	}},
	{"signing the target out everywhere", shared.ActionSessionsRevoke, func(f *fixture, a admin.Actor, target *store.User, _ string) error {
		return f.svc.RevokeUserSessions(ctx, a, target.ID)
	}},
	{"deleting the target", shared.ActionUserDelete, func(f *fixture, a admin.Actor, target *store.User, _ string) error {
		return f.svc.DeleteUser(ctx, a, target.ID)
	}},
}

func ptr[T any](v T) *T { return &v }

func TestRulesGoByTheActorsAccountAsItIsWhenTheWriteHappens(t *testing.T) {
	t.Parallel()
	changes := []struct {
		name          string
		actor, target shared.Role
		change        func(f *fixture, id int64)
		want          error
	}{
		{"an admin demoted to manager after signing in", shared.RoleAdmin, shared.RoleAdmin,
			func(f *fixture, id int64) { f.alter(id, func(u *store.User) { u.Role = shared.RoleManager }) }, admin.ErrForbidden},
		{"a manager demoted to viewer after signing in", shared.RoleManager, shared.RoleViewer,
			func(f *fixture, id int64) { f.alter(id, func(u *store.User) { u.Role = shared.RoleViewer }) }, admin.ErrForbidden},
		{"a manager disabled after signing in", shared.RoleManager, shared.RoleViewer,
			func(f *fixture, id int64) { f.alter(id, func(u *store.User) { u.Disabled = true }) }, auth.ErrInactive},
		{"a manager deleted after signing in", shared.RoleManager, shared.RoleViewer,
			func(f *fixture, id int64) {
				f.update(func(tx store.Tx) error { return tx.DeleteUser(ctx, id) })
			}, auth.ErrInvalidToken},
	}
	for _, c := range changes {
		for _, act := range actions {
			t.Run(c.name+" is refused "+act.name, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				actor, target := f.user("actor", c.actor), f.user("target", c.target)
				a := f.signIn(actor)
				targetSession := f.signIn(target).SessionID
				c.change(f, actor.ID)
				before := f.snapshot()

				err := act.do(f, a, target, targetSession)
				if !errors.Is(err, c.want) {
					t.Fatalf("%v, want %v", err, c.want)
				}
				if after := f.snapshot(); after != before {
					t.Fatalf("the refused action changed the store:\nbefore:\n%safter:\n%s", before, after)
				}
				if errors.Is(c.want, admin.ErrForbidden) {
					if n := len(f.events(act.audit, shared.OutcomeDenied)); n != 1 {
						t.Fatalf("%d denied %s events, want the refusal audited once", n, act.audit)
					}
				}
			})
		}
	}
}

func TestActorsMayActOnTheirOwnRankAndBelow(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ actor, target shared.Role }{
		{shared.RoleManager, shared.RoleViewer},
		{shared.RoleManager, shared.RoleManager},
		{shared.RoleAdmin, shared.RoleManager},
		{shared.RoleAdmin, shared.RoleAdmin},
	} {
		for _, act := range actions {
			t.Run(fmt.Sprintf("a %s may go on %s of a %s", c.actor, act.name, c.target), func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				actor, target := f.user("actor", c.actor), f.user("target", c.target)
				a := f.signIn(actor)
				if err := act.do(f, a, target, f.signIn(target).SessionID); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func TestRoleChangesNeedRolesWriteWhenTheWriteHappens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		actor       shared.Role
		demoteActor bool // to manager, after signing in
		to          shared.Role
		want        error
	}{
		{"an admin may make a viewer a manager", shared.RoleAdmin, false, shared.RoleManager, nil},
		{"an admin may make a viewer an admin", shared.RoleAdmin, false, shared.RoleAdmin, nil},
		{"a manager may not make a viewer a manager", shared.RoleManager, false, shared.RoleManager, admin.ErrForbidden},
		{"an admin demoted to manager after signing in may not make a viewer a manager", shared.RoleAdmin, true, shared.RoleManager, admin.ErrForbidden},
		{"a manager may give a viewer the role they already have", shared.RoleManager, false, shared.RoleViewer, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.user("another-admin", shared.RoleAdmin) // the actor is never the last admin
			actor, target := f.user("actor", tt.actor), f.user("target", shared.RoleViewer)
			a := f.signIn(actor)
			if tt.demoteActor {
				f.alter(actor.ID, func(u *store.User) { u.Role = shared.RoleManager })
			}
			_, err := f.svc.UpdateUser(ctx, a, target.ID, shared.UserUpdate{Role: ptr(tt.to)})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("%v, want %v", err, tt.want)
			}
			got, err := f.store.UserByID(ctx, target.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := shared.RoleViewer
			if tt.want == nil {
				want = tt.to
			}
			if got.Role != want {
				t.Fatalf("the target is a %s, want a %s", got.Role, want)
			}
		})
	}
}

func TestTheLastEnabledAdminCanBeEditedButNotRemoved(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		update shared.UserUpdate
		delete bool
		want   error
	}{
		{"renamed", shared.UserUpdate{FullName: ptr("Still In Charge")}, false, nil},
		{"given another e-mail address", shared.UserUpdate{Email: ptr("boss@example.com")}, false, nil},
		{"given the admin role again", shared.UserUpdate{Role: ptr(shared.RoleAdmin)}, false, nil},
		{"enabled again", shared.UserUpdate{Disabled: ptr(false)}, false, nil},
		{"demoted", shared.UserUpdate{Role: ptr(shared.RoleManager)}, false, admin.ErrLastAdmin},
		{"disabled", shared.UserUpdate{Disabled: ptr(true)}, false, admin.ErrLastAdmin},
		{"deleted", shared.UserUpdate{}, true, admin.ErrLastAdmin},
	}
	for _, tt := range tests {
		verb := "may be "
		if tt.want != nil {
			verb = "may not be "
		}
		t.Run("the last enabled admin "+verb+tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			boss := f.user("boss", shared.RoleAdmin)
			f.alter(f.user("former-admin", shared.RoleAdmin).ID, func(u *store.User) { u.Disabled = true })
			a := f.signIn(boss)
			var err error
			if tt.delete {
				err = f.svc.DeleteUser(ctx, a, boss.ID)
			} else {
				_, err = f.svc.UpdateUser(ctx, a, boss.ID, tt.update)
			}
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("%v, want %v", err, tt.want)
			}
		})
	}
	t.Run("a manager may be promoted while there is one admin", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		a := f.signIn(f.user("boss", shared.RoleAdmin))
		m := f.user("manager", shared.RoleManager)
		if _, err := f.svc.UpdateUser(ctx, a, m.ID, shared.UserUpdate{Role: ptr(shared.RoleAdmin)}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOnlyDisablingAUserEndsTheirSessions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		update  shared.UserUpdate
		revoked bool
	}{
		{"renaming", shared.UserUpdate{FullName: ptr("New Name")}, false},
		{"a new e-mail address", shared.UserUpdate{Email: ptr("new@example.com")}, false},
		{"a new role", shared.UserUpdate{Role: ptr(shared.RoleManager)}, false},
		{"enabling a user who is enabled", shared.UserUpdate{Disabled: ptr(false)}, false},
		{"disabling", shared.UserUpdate{Disabled: ptr(true)}, true},
	}
	for _, tt := range tests {
		ends := " leaves their sessions alone"
		if tt.revoked {
			ends = " ends their sessions"
		}
		t.Run(tt.name+ends, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			a := f.signIn(f.user("boss", shared.RoleAdmin))
			target := f.user("target", shared.RoleViewer)
			sid := f.signIn(target).SessionID
			if _, err := f.svc.UpdateUser(ctx, a, target.ID, tt.update); err != nil {
				t.Fatal(err)
			}
			s := f.session(sid)
			if got := s.RevokedAt != nil; got != tt.revoked {
				t.Fatalf("session revoked: %t (%q), want %t", got, s.RevokedReason, tt.revoked)
			}
			if tt.revoked && s.RevokedReason != shared.RevokedUserDisabled {
				t.Fatalf("revoked with reason %q, want %q", s.RevokedReason, shared.RevokedUserDisabled)
			}
		})
	}
}

func TestAPasswordChangeNeedsTheSessionStillActive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		end  func(f *fixture, a admin.Actor)
	}{
		{"signed out", func(f *fixture, a admin.Actor) {
			if err := f.auth.Logout(ctx, a.Principal, a.Meta); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"revoked by an admin", func(f *fixture, a admin.Actor) {
			boss := f.signIn(f.user("boss", shared.RoleAdmin))
			if err := f.svc.RevokeSession(ctx, boss, a.SessionID); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"past its absolute end", func(f *fixture, a admin.Actor) { f.clock.Advance(12 * time.Hour) }},
	}
	for _, tt := range tests {
		t.Run("a session "+tt.name+" after the request was authenticated changes no password", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			u := f.user("someone", shared.RoleViewer)
			a := f.signIn(u)
			tt.end(f, a)
			err := f.svc.ChangePassword(ctx, a, shared.PasswordChange{CurrentPassword: password, NewPassword: "a-new-password"})
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("%v, want ErrInvalidToken", err)
			}
			if got, err := f.store.UserByID(ctx, u.ID); err != nil || got.PasswordHash != f.hash {
				t.Fatalf("the password changed (%v)", err)
			}
		})
	}
}

// A request authenticated a moment before its session ended — signed out,
// revoked by an administrator or by the owner who found the token stolen,
// ended by a password reset — may still be on its way to the write (waiting
// for a hashing slot, say). Its write must not land: the session is read
// in the write's transaction, as the actor's account is.
func TestWritesNeedTheActorsSessionStillActive(t *testing.T) {
	t.Parallel()
	ends := []struct {
		name string
		end  func(f *fixture, a admin.Actor)
	}{
		{"signed out", func(f *fixture, a admin.Actor) {
			if err := f.auth.Logout(ctx, a.Principal, a.Meta); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"revoked by another admin", func(f *fixture, a admin.Actor) {
			boss := f.signIn(f.user("boss", shared.RoleAdmin))
			if err := f.svc.RevokeSession(ctx, boss, a.SessionID); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"ended by the owner signing out everywhere", func(f *fixture, a admin.Actor) {
			u, err := f.store.UserByID(ctx, a.UserID)
			if err != nil {
				f.t.Fatal(err)
			}
			owner := f.signIn(u)
			if err := f.svc.RevokeUserSessions(ctx, owner, a.UserID); err != nil {
				f.t.Fatal(err)
			}
		}},
		{"past its absolute end", func(f *fixture, a admin.Actor) { f.clock.Advance(12 * time.Hour) }},
	}
	own := []action{
		{"editing the own profile", shared.ActionProfileUpdate, func(f *fixture, a admin.Actor, _ *store.User, _ string) error {
			_, err := f.svc.UpdateProfile(ctx, a, shared.ProfileUpdate{FullName: ptr("Renamed")})
			return err
		}},
	}
	for _, end := range ends {
		for _, act := range append(slices.Clone(actions), own...) {
			t.Run("a session "+end.name+" after the request was authenticated is refused "+act.name, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				actor, target := f.user("actor", shared.RoleAdmin), f.user("target", shared.RoleViewer)
				f.user("other-admin", shared.RoleAdmin) // the actor is never the last admin
				a := f.signIn(actor)
				targetSession := f.signIn(target).SessionID
				end.end(f, a)
				before := f.snapshot()
				err := act.do(f, a, target, targetSession)
				if !errors.Is(err, auth.ErrInvalidToken) {
					t.Fatalf("%v, want ErrInvalidToken", err)
				}
				if after := f.snapshot(); after != before {
					t.Fatalf("the refused action changed the store:\nbefore:\n%safter:\n%s", before, after)
				}
			})
		}
	}
}

func TestRevocationsRecordWhoRevoked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		actor  shared.Role
		own    bool // the actor revokes a session of their own
		all    bool // every session of the user, or one
		reason string
	}{
		{"an admin revoking another user's session", shared.RoleAdmin, false, false, shared.RevokedByAdmin},
		{"an admin signing another user out everywhere", shared.RoleAdmin, false, true, shared.RevokedByAdmin},
		{"a manager revoking another user's session", shared.RoleManager, false, false, shared.RevokedByManager},
		{"a manager signing another user out everywhere", shared.RoleManager, false, true, shared.RevokedByManager},
		{"an admin revoking an own session through the admin route", shared.RoleAdmin, true, false, shared.RevokedByUser},
		{"an admin signing themselves out everywhere through the admin route", shared.RoleAdmin, true, true, shared.RevokedByUser},
		{"a manager revoking an own session through the admin route", shared.RoleManager, true, false, shared.RevokedByUser},
	}
	for _, tt := range tests {
		t.Run(tt.name+" records "+tt.reason, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			actor := f.user("actor", tt.actor)
			target := f.user("target", shared.RoleViewer)
			if tt.own {
				target = actor
			}
			a := f.signIn(actor)
			sid := f.signIn(target).SessionID
			var err error
			if tt.all {
				err = f.svc.RevokeUserSessions(ctx, a, target.ID)
			} else {
				err = f.svc.RevokeSession(ctx, a, sid)
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := f.session(sid); s.RevokedAt == nil || s.RevokedReason != tt.reason {
				t.Fatalf("session revoked at %v with reason %q, want %q", s.RevokedAt, s.RevokedReason, tt.reason)
			}
		})
	}
}

// dataKeys returns a fresh data key for sealing second factors.
func dataKeys(t testing.TB) *seal.Keys {
	t.Helper()
	k, err := seal.Parse(seal.Generate("test"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
