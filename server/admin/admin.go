// Package admin carries out what signed-in users ask of Gatehouse —
// managing accounts, sessions and reading the audit log — with the rules
// that go beyond a route's permission: nobody acts on a user above their
// own role or raises anyone above it, role changes need roles:write, and
// every write is audited.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"gatehouse/server/auth"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// ErrForbidden matches every *DeniedError: the actor may not do what they
// asked.
var ErrForbidden = errors.New("forbidden")

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

// ErrWrongPassword is returned by ChangePassword when the current password
// does not match.
var ErrWrongPassword = &shared.ValidationError{Fields: shared.FieldErrors{"current_password": "is not your current password"}}

// Service runs account, session and audit operations.
type Service struct {
	state     *auth.State
	auth      *auth.Service
	passwords *auth.Passwords
	log       *slog.Logger
}

// New returns a Service writing through state (so that the auth caches
// follow every change).
func New(state *auth.State, a *auth.Service, pw *auth.Passwords, log *slog.Logger) *Service {
	return &Service{state: state, auth: a, passwords: pw, log: log}
}

// Actor is who asks, and from where.
type Actor struct {
	*auth.Principal
	auth.Meta
}

func (s *Service) now() time.Time { return s.auth.Now() }

func (s *Service) audit(ctx context.Context, a Actor, action, target string, outcome, detail string) {
	e := &shared.AuditEvent{Time: s.now(), ActorID: a.UserID, Actor: a.Username, Action: action, Target: target, IP: a.IP, Outcome: outcome, Detail: detail}
	if err := s.state.AddAudit(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit event not recorded", "action", action, "err", err)
	}
}

func userTarget(u *store.User) string { return "user " + u.Username }

// Page is a page request: 1-based page number and size.
type Page struct{ Page, PerPage int }

func (p Page) offset() int { return (p.Page - 1) * p.PerPage }

func page[T any](items []T, total int, p Page) *shared.Page[T] {
	if items == nil {
		items = []T{}
	}
	return &shared.Page[T]{Items: items, Total: total, Page: p.Page, PerPage: p.PerPage}
}

// Me returns the actor's own account.
func (s *Service) Me(ctx context.Context, a Actor) (*shared.User, error) {
	u, err := s.state.UserByID(ctx, a.UserID)
	if err != nil {
		return nil, fmt.Errorf("own profile: %w", err)
	}
	return &u.User, nil
}

// UpdateProfile changes the actor's own name and e-mail.
func (s *Service) UpdateProfile(ctx context.Context, a Actor, in shared.ProfileUpdate) (*shared.User, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	u, err := s.state.UpdateUser(ctx, a.UserID, store.UserUpdate{FullName: in.FullName, Email: in.Email}, s.now())
	if err != nil {
		return nil, fmt.Errorf("update profile: %w", err)
	}
	s.audit(ctx, a, shared.ActionProfileUpdate, userTarget(u), shared.OutcomeOK, "")
	return &u.User, nil
}

// ChangePassword checks the current password, sets the new one and revokes
// the actor's other sessions (the one in use stays).
func (s *Service) ChangePassword(ctx context.Context, a Actor, in shared.PasswordChange) error {
	if err := in.Validate(); err != nil {
		return err
	}
	ok, err := s.auth.CheckPassword(ctx, a.UserID, in.CurrentPassword)
	if err != nil {
		return err
	}
	if !ok {
		s.audit(ctx, a, shared.ActionPasswordChange, "user "+a.Username, shared.OutcomeFailed, "wrong current password")
		return ErrWrongPassword
	}
	hash, err := s.passwords.Hash(in.NewPassword)
	if err != nil {
		return err
	}
	if err := s.state.SetPassword(ctx, a.UserID, hash, a.SessionID, shared.RevokedPasswordChange, s.now()); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	s.audit(ctx, a, shared.ActionPasswordChange, "user "+a.Username, shared.OutcomeOK, "other sessions revoked")
	return nil
}

// MySessions lists the actor's own sessions, marking the current one.
func (s *Service) MySessions(ctx context.Context, a Actor, p Page) (*shared.Page[shared.Session], error) {
	return s.sessions(ctx, a, store.SessionFilter{UserID: a.UserID}, p)
}

// RevokeMySession revokes one of the actor's own sessions. A session of
// someone else is reported as not found.
func (s *Service) RevokeMySession(ctx context.Context, a Actor, id string) error {
	sess, err := s.state.SessionByID(ctx, id)
	if err == nil && sess.UserID != a.UserID {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("session %q: %w", id, err)
	}
	return s.revokeSession(ctx, a, sess, shared.RevokedByUser)
}

// Sessions lists sessions of every user (or one), optionally only active
// or only inactive ones.
func (s *Service) Sessions(ctx context.Context, a Actor, userID int64, active *bool, p Page) (*shared.Page[shared.Session], error) {
	return s.sessions(ctx, a, store.SessionFilter{UserID: userID, Active: active}, p)
}

func (s *Service) sessions(ctx context.Context, a Actor, f store.SessionFilter, p Page) (*shared.Page[shared.Session], error) {
	f.Now, f.Offset, f.Limit = s.now(), p.offset(), p.PerPage
	rows, total, err := s.state.ListSessions(ctx, f)
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

// RevokeSession revokes any session.
func (s *Service) RevokeSession(ctx context.Context, a Actor, id string) error {
	sess, err := s.state.SessionByID(ctx, id)
	if err != nil {
		return fmt.Errorf("session %q: %w", id, err)
	}
	return s.revokeSession(ctx, a, sess, shared.RevokedByAdmin)
}

func (s *Service) revokeSession(ctx context.Context, a Actor, sess *store.Session, reason string) error {
	if err := s.state.RevokeSession(ctx, sess.ID, reason, s.now()); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	s.audit(ctx, a, shared.ActionSessionRevoke, "session "+sess.ID+" of "+sess.Username, shared.OutcomeOK, reason)
	return nil
}

// RevokeUserSessions signs a user out everywhere.
func (s *Service) RevokeUserSessions(ctx context.Context, a Actor, userID int64) error {
	u, err := s.state.UserByID(ctx, userID)
	if err != nil {
		return fmt.Errorf("user %d: %w", userID, err)
	}
	ids, err := s.state.RevokeUserSessions(ctx, userID, "", shared.RevokedByAdmin, s.now())
	if err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	s.audit(ctx, a, shared.ActionSessionsRevoke, userTarget(u), shared.OutcomeOK, strconv.Itoa(len(ids))+" sessions revoked")
	return nil
}
