// Package admin carries out what signed-in users ask of Gatehouse —
// managing accounts, sessions and reading the audit log — with the rules
// that go beyond a route's permission: nobody acts on a user above their
// own role or raises anyone above it, role changes need roles:write, the
// last enabled admin can be neither disabled, demoted nor deleted, and
// every write is audited.
//
// Each rule is checked inside the store transaction of the write it
// guards, on the rows as they are in that transaction — the actor's
// current role included — so a concurrent change (a promotion, a
// demotion) cannot slip between the check and the write.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gatehouse/server/auth"
	"gatehouse/server/cache"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// ErrForbidden matches every *DeniedError: the actor may not do what they
// asked.
var ErrForbidden = errors.New("forbidden")

// ErrLastAdmin: the change would leave no enabled admin.
var ErrLastAdmin = errors.New("the last enabled admin can be neither disabled, demoted nor deleted")

// DeniedError says why the actor may not do what they asked, in words fit
// to show them.
type DeniedError struct {
	Reason string
}

func (e *DeniedError) Error() string { return "forbidden: " + e.Reason }

// Is makes errors.Is(err, ErrForbidden) hold.
func (e *DeniedError) Is(target error) bool { return target == ErrForbidden }

func deny(format string, args ...any) error {
	return &DeniedError{Reason: fmt.Sprintf(format, args...)}
}

// Service runs account, session and audit operations.
type Service struct {
	store     *cache.Store
	auth      *auth.Service
	passwords *auth.Passwords
	log       *slog.Logger
}

// New returns a Service writing through st (so that the auth caches follow
// every change).
func New(st *cache.Store, a *auth.Service, pw *auth.Passwords, log *slog.Logger) *Service {
	return &Service{store: st, auth: a, passwords: pw, log: log}
}

// Actor is who asks, and from where.
type Actor struct {
	*auth.Principal
	auth.Meta
}

func (s *Service) now() time.Time {
	// In milliseconds, UTC, as both stores keep times: what a write
	// answers is what a read of it gives back.
	return time.UnixMilli(s.auth.Now().UnixMilli()).UTC()
}

// event returns an audit event of the actor's.
func (s *Service) event(a Actor, action, target, outcome, detail string) *shared.AuditEvent {
	return &shared.AuditEvent{Time: s.now(), ActorID: a.UserID, Actor: a.Username, Action: action, Target: target, IP: a.IP, Outcome: outcome, Detail: detail}
}

// audit records an event in a transaction of its own — for what was
// refused, whose transaction rolled back. A failure to record is logged.
func (s *Service) audit(ctx context.Context, e *shared.AuditEvent) {
	ctx = context.WithoutCancel(ctx)
	if err := s.store.Update(ctx, func(tx store.Tx) error { return tx.AddAudit(ctx, e) }); err != nil {
		s.log.ErrorContext(ctx, "audit event not recorded", "action", e.Action, "err", err)
	}
}

// refused is what a transaction that broke a rule returns: the error for
// the caller and the audit event recording the refusal.
type refused struct {
	err   error
	event *shared.AuditEvent
}

func (r *refused) Error() string { return r.err.Error() }
func (r *refused) Unwrap() error { return r.err }

// update runs fn in a transaction. When fn refuses (returns a *refused),
// the refusal is audited after the rollback and its error returned.
func (s *Service) update(ctx context.Context, fn func(tx store.Tx) error) error {
	err := s.store.Update(ctx, fn)
	var r *refused
	if errors.As(err, &r) {
		s.audit(ctx, r.event)
		return r.err
	}
	return err
}

// acting reads the actor's account and session inside tx: the role a rule
// uses is the one the actor has now, not the one the request started with.
// A disabled or deleted actor may do nothing, nor may a session that ended
// after the request was authenticated — signed out, revoked by the owner
// who found it stolen, ended by a password change or reset: a write still
// waiting (for a hashing slot, say) must not land after the revocation
// that was meant to stop it.
func (s *Service) acting(ctx context.Context, tx store.Tx, a Actor) (*store.User, error) {
	u, err := tx.UserByID(ctx, a.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &auth.EndedError{Reason: shared.RevokedUserDeleted, Err: fmt.Errorf("%w: user no longer exists", auth.ErrInvalidToken)}
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, auth.ErrInactive
	}
	sess, err := tx.SessionByID(ctx, a.SessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown session", auth.ErrInvalidToken)
	}
	if err != nil {
		return nil, err
	}
	if sess.UserID != u.ID {
		return nil, fmt.Errorf("%w: session of another user", auth.ErrInvalidToken)
	}
	if why := auth.SessionEnd(sess, s.now()); why != "" {
		return nil, &auth.EndedError{Reason: why, Err: fmt.Errorf("%w: session ended", auth.ErrInvalidToken)}
	}
	return u, nil
}

// onUser reads, in tx, the actor as they are now and the user id they
// act on, holding that user's row, and checks that the actor holds perm
// and ranks at least as high (see may). e makes the audit events of
// action on that user.
func (s *Service) onUser(ctx context.Context, tx store.Tx, a Actor, id int64, action string, perm shared.Permission) (actor, u *store.User, e func(outcome, detail string) *shared.AuditEvent, err error) {
	if actor, err = s.acting(ctx, tx, a); err != nil {
		return nil, nil, nil, err
	}
	if u, err = tx.LockUser(ctx, id); err != nil {
		return nil, nil, nil, fmt.Errorf("user %d: %w", id, err)
	}
	e = func(outcome, detail string) *shared.AuditEvent {
		return s.event(a, action, userTarget(u), outcome, detail)
	}
	return actor, u, e, may(actor, e, perm, u)
}

// may checks, inside tx, that the actor still holds perm and ranks at least
// as high as target (when target is not nil). action and what name the
// audit event of a refusal.
func may(actor *store.User, e func(outcome, detail string) *shared.AuditEvent, perm shared.Permission, target *store.User) error {
	if !actor.Role.Can(perm) {
		return &refused{deny("your role (%s) lacks the %s permission", actor.Role, perm), e(shared.OutcomeDenied, "no "+string(perm))}
	}
	if target != nil && target.Role.Rank() > actor.Role.Rank() {
		return &refused{deny("you cannot act on a user whose role is above your own"), e(shared.OutcomeDenied, "target's role above own")}
	}
	return nil
}

// lastAdmin refuses a change that would leave no enabled admin: before is
// the target as it is, after as it would be (nil: deleted). It locks the
// enabled admins, so two admins demoting each other at once cannot both
// succeed.
func lastAdmin(ctx context.Context, tx store.Tx, before, after *store.User, e func(outcome, detail string) *shared.AuditEvent) error {
	if !before.EnabledAdmin() || (after != nil && after.EnabledAdmin()) {
		return nil
	}
	admins, err := tx.LockEnabledAdmins(ctx)
	if err != nil {
		return err
	}
	for _, id := range admins {
		if id != before.ID {
			return nil
		}
	}
	return &refused{ErrLastAdmin, e(shared.OutcomeDenied, "last enabled admin")}
}

func userTarget(u *store.User) string { return "user " + u.Username }

// stepUp refuses, audited, an action for which the actor's sign-in is not
// recent enough (RFC 9470).
func (s *Service) stepUp(a Actor, e func(outcome, detail string) *shared.AuditEvent) error {
	if err := s.auth.RequireRecent(a.Principal); err != nil {
		return &refused{err, e(shared.OutcomeDenied, "sign-in not recent enough")}
	}
	return nil
}

// filterText checks a list's text filter (name is its query parameter):
// valid UTF-8 without NUL, at most shared.MaxFilterLen characters. It is
// *auth.RequestError otherwise, before any query runs: SQLite refuses a LIKE
// pattern over 50,000 bytes (an error that would answer 500), and no longer
// filter can match anything.
func filterText(name, v string) error {
	switch {
	case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		return &auth.RequestError{Reason: name + " must be text (valid UTF-8, no NUL)"}
	case utf8.RuneCountInString(v) > shared.MaxFilterLen:
		return &auth.RequestError{Reason: fmt.Sprintf("%s must be at most %d characters", name, shared.MaxFilterLen)}
	}
	return nil
}

// Page is a page request: 1-based page number and size.
type Page struct{ Page, PerPage int }

func (p Page) offset() int { return (p.Page - 1) * p.PerPage }

func page[T any](items []T, total int, p Page) *shared.Page[T] {
	if items == nil {
		items = []T{}
	}
	return &shared.Page[T]{Items: items, Total: total, Page: p.Page, PerPage: p.PerPage}
}

// Me returns the actor's own account as the per-request check read it:
// no further read, and a change made on this instance is seen by the next
// request (the cache drops it).
func (s *Service) Me(ctx context.Context, a Actor) (*shared.User, error) {
	u := a.User
	return &u, nil
}

// UpdateProfile changes the actor's own name and e-mail.
func (s *Service) UpdateProfile(ctx context.Context, a Actor, in shared.ProfileUpdate) (*shared.User, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var u *store.User
	err := s.update(ctx, func(tx store.Tx) error {
		if _, err := s.acting(ctx, tx, a); err != nil {
			return err
		}
		var err error
		if u, err = tx.LockUser(ctx, a.UserID); err != nil {
			return err
		}
		before := u.User
		if in.FullName != nil {
			u.FullName = *in.FullName
		}
		if in.Email != nil {
			u.Email = *in.Email
		}
		if u.User == before {
			return nil // nothing changes: nothing written, nothing audited
		}
		u.UpdatedAt = s.now()
		if err := tx.SaveUser(ctx, u); err != nil {
			return err
		}
		return tx.AddAudit(ctx, s.event(a, shared.ActionProfileUpdate, userTarget(u), shared.OutcomeOK, ""))
	})
	if err != nil {
		return nil, fmt.Errorf("update profile: %w", err)
	}
	return &u.User, nil
}

// ChangePassword checks the current password and, with a second factor,
// the code that comes in the same form, no second prompt (see
// auth.Service.CheckPasswordAndCode), sets the new password and revokes
// the actor's other sessions; the one in use stays.
func (s *Service) ChangePassword(ctx context.Context, a Actor, in shared.PasswordChange) error {
	if err := in.Validate(); err != nil {
		return err
	}
	err := s.auth.CheckPasswordAndCode(ctx, a.Principal, in.CurrentPassword, in.OTP, a.Meta)
	switch {
	case errors.Is(err, auth.ErrWrongPassword):
		s.audit(ctx, s.event(a, shared.ActionPasswordChange, "user "+a.Username, shared.OutcomeFailed, "wrong current password"))
		return &shared.ValidationError{Fields: shared.FieldErrors{"current_password": "is not your current password"}}
	case errors.Is(err, auth.ErrBadCode):
		return &shared.ValidationError{Fields: shared.FieldErrors{"otp": "is not the code your app shows now"}}
	case err != nil:
		return err
	}
	hash, err := s.passwords.Hash(ctx, in.NewPassword)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.update(ctx, func(tx store.Tx) error {
		sess, err := tx.LockSession(ctx, a.SessionID)
		if err != nil {
			return err
		}
		if why := auth.SessionEnd(sess, now); why != "" {
			return &auth.EndedError{Reason: why, Err: fmt.Errorf("%w: session ended", auth.ErrInvalidToken)}
		}
		u, err := tx.LockUser(ctx, a.UserID)
		if err != nil {
			return err
		}
		u.PasswordHash, u.UpdatedAt, u.MustChangePassword = hash, now, false
		if err := tx.SaveUser(ctx, u); err != nil {
			return err
		}
		if _, err := tx.RevokeSessions(ctx, u.ID, a.SessionID, shared.RevokedPasswordChange, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, s.event(a, shared.ActionPasswordChange, userTarget(u), shared.OutcomeOK, "other sessions revoked"))
	})
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return nil
}

// MySessions lists the actor's own sessions, marking the current one.
func (s *Service) MySessions(ctx context.Context, a Actor, p Page) (*shared.Page[shared.Session], error) {
	return s.sessions(ctx, a, store.SessionFilter{UserID: a.UserID}, p)
}

// RevokeMySession revokes one of the actor's own sessions. A session of
// someone else is reported as not found.
func (s *Service) RevokeMySession(ctx context.Context, a Actor, id string) error {
	return s.update(ctx, func(tx store.Tx) error {
		if _, err := s.acting(ctx, tx, a); err != nil {
			return err
		}
		sess, err := tx.LockSession(ctx, id)
		if err == nil && sess.UserID != a.UserID {
			err = store.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("session %q: %w", id, err)
		}
		return s.revokeSession(ctx, tx, a, sess, shared.RevokedByUser)
	})
}

// Sessions lists sessions of every user (or one), optionally only active
// or only inactive ones.
func (s *Service) Sessions(ctx context.Context, a Actor, userID int64, active *bool, p Page) (*shared.Page[shared.Session], error) {
	return s.sessions(ctx, a, store.SessionFilter{UserID: userID, Active: active}, p)
}

func (s *Service) sessions(ctx context.Context, a Actor, f store.SessionFilter, p Page) (*shared.Page[shared.Session], error) {
	f.Now, f.Offset, f.Limit = s.now(), p.offset(), p.PerPage
	rows, total, err := s.store.ListSessions(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	items := make([]shared.Session, len(rows))
	for i, r := range rows {
		items[i] = r.Wire()
		items[i].Current = r.ID == a.SessionID
	}
	return page(items, total, p), nil
}

// revokedBy is the reason recorded when someone revokes another user's
// sessions: it names the actor's role.
func revokedBy(actor *store.User) string {
	if actor.Role == shared.RoleAdmin {
		return shared.RevokedByAdmin
	}
	return shared.RevokedByManager
}

// RevokeSession revokes a session of any user whose role is not above the
// actor's.
func (s *Service) RevokeSession(ctx context.Context, a Actor, id string) error {
	return s.update(ctx, func(tx store.Tx) error {
		sess, err := tx.LockSession(ctx, id)
		if err != nil {
			return fmt.Errorf("session %q: %w", id, err)
		}
		actor, err := s.acting(ctx, tx, a)
		if err != nil {
			return err
		}
		owner, err := tx.LockUser(ctx, sess.UserID)
		if err != nil {
			return err
		}
		e := func(outcome, detail string) *shared.AuditEvent {
			return s.event(a, shared.ActionSessionRevoke, "session "+sess.ID+" of "+owner.Username, outcome, detail)
		}
		if err := may(actor, e, shared.PermSessionsRevoke, owner); err != nil {
			return err
		}
		reason := revokedBy(actor)
		if owner.ID == actor.ID {
			reason = shared.RevokedByUser
		}
		return s.revokeSession(ctx, tx, a, sess, reason)
	})
}

func (s *Service) revokeSession(ctx context.Context, tx store.Tx, a Actor, sess *store.Session, reason string) error {
	if sess.RevokedAt == nil {
		now := s.now()
		sess.RevokedAt, sess.RevokedReason = &now, reason
		if err := tx.SaveSession(ctx, sess); err != nil {
			return fmt.Errorf("revoke session: %w", err)
		}
	}
	return tx.AddAudit(ctx, s.event(a, shared.ActionSessionRevoke, "session "+sess.ID+" of "+sess.Username, shared.OutcomeOK, reason))
}

// RevokeUserSessions signs a user whose role is not above the actor's out
// everywhere.
func (s *Service) RevokeUserSessions(ctx context.Context, a Actor, userID int64) error {
	return s.update(ctx, func(tx store.Tx) error {
		actor, u, e, err := s.onUser(ctx, tx, a, userID, shared.ActionSessionsRevoke, shared.PermSessionsRevoke)
		if err != nil {
			return err
		}
		reason := revokedBy(actor)
		if u.ID == actor.ID {
			reason = shared.RevokedByUser
		}
		ids, err := tx.RevokeSessions(ctx, userID, "", reason, s.now())
		if err != nil {
			return fmt.Errorf("revoke sessions: %w", err)
		}
		return tx.AddAudit(ctx, e(shared.OutcomeOK, strconv.Itoa(len(ids))+" sessions revoked ("+reason+")"))
	})
}
