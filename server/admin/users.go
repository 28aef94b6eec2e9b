package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gatehouse/server/auth"
	"gatehouse/server/store"
	"gatehouse/shared"
)

// Users lists users matching q in the order sort (the zero value: newest
// first). A q that is not text or longer than shared.MaxFilterLen is
// *auth.RequestError.
func (s *Service) Users(ctx context.Context, q string, sort shared.UserSort, p Page) (*shared.Page[shared.User], error) {
	if err := filterText("q", q); err != nil {
		return nil, err
	}
	rows, total, err := s.store.ListUsers(ctx, store.UserFilter{Query: strings.TrimSpace(q), Sort: sort, Offset: p.offset(), Limit: p.PerPage})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	items := make([]shared.User, len(rows))
	for i, r := range rows {
		items[i] = r.User
	}
	return page(items, total, p), nil
}

// User returns one user.
func (s *Service) User(ctx context.Context, id int64) (*shared.User, error) {
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("user %d: %w", id, err)
	}
	return &u.User, nil
}

// CreateUser creates an account with a role no higher than the actor's.
// Its password, set by the actor, must be changed at the first sign-in
// unless in says otherwise (shared.UserCreate.MustChange). An account with
// a role above the lowest is a grant of that role, and needs a recent
// sign-in as a role change does: otherwise a stolen access token would
// make its thief an account of their own — a manager or an admin whose
// password they chose — that outlives the owner revoking every session.
func (s *Service) CreateUser(ctx context.Context, a Actor, in shared.UserCreate) (*shared.User, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	e := func(outcome, detail string) *shared.AuditEvent {
		return s.event(a, shared.ActionUserCreate, "user "+in.Username, outcome, detail)
	}
	// A cheap look before the costly hash; the rule is checked again in
	// the transaction that writes.
	if in.Role.Rank() > a.Role.Rank() {
		s.audit(ctx, e(shared.OutcomeDenied, "role "+string(in.Role)+" above own"))
		return nil, deny("you cannot create a user with a role above your own")
	}
	if in.Role.Rank() > shared.Roles[0].Rank() {
		var r *refused
		if err := s.stepUp(a, e); errors.As(err, &r) {
			s.audit(ctx, r.event)
			return nil, r.err
		}
	}
	hash, err := s.passwords.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &store.User{User: shared.User{Username: in.Username, FullName: in.FullName, Email: in.Email, Role: in.Role,
		MustChangePassword: in.MustChange(), CreatedAt: now, UpdatedAt: now}, PasswordHash: hash}
	err = s.update(ctx, func(tx store.Tx) error {
		actor, err := s.acting(ctx, tx, a)
		if err != nil {
			return err
		}
		if err := may(actor, e, shared.PermUsersWrite, nil); err != nil {
			return err
		}
		if in.Role.Rank() > actor.Role.Rank() {
			return &refused{deny("you cannot create a user with a role above your own"), e(shared.OutcomeDenied, "role "+string(in.Role)+" above own")}
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		detail := "role " + string(u.Role)
		if u.MustChangePassword {
			detail += "; must change the password at the first sign-in"
		}
		return tx.AddAudit(ctx, e(shared.OutcomeOK, detail))
	})
	if err != nil {
		return nil, fmt.Errorf("create user %q: %w", in.Username, err)
	}
	return &u.User, nil
}

// UpdateUser changes another user's name, e-mail, role or disabled flag.
// Changing a role needs roles:write and can never raise anyone above the
// actor's own role; disabling revokes all of the user's sessions; the last
// enabled admin can be neither disabled nor demoted.
func (s *Service) UpdateUser(ctx context.Context, a Actor, id int64, in shared.UserUpdate) (*shared.User, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *store.User
	err := s.update(ctx, func(tx store.Tx) error {
		actor, u, e, err := s.onUser(ctx, tx, a, id, shared.ActionUserUpdate, shared.PermUsersWrite)
		if err != nil {
			return err
		}
		if in.Role != nil && *in.Role != u.Role {
			if err := s.stepUp(a, e); err != nil {
				return err
			}
			if !actor.Role.Can(shared.PermRolesWrite) {
				return &refused{deny("changing roles needs the %s permission", shared.PermRolesWrite), e(shared.OutcomeDenied, "role change without roles:write")}
			}
			if in.Role.Rank() > actor.Role.Rank() {
				return &refused{deny("you cannot raise anyone above your own role"), e(shared.OutcomeDenied, "role "+string(*in.Role)+" above own")}
			}
		}
		if in.Empty() {
			out = u
			return nil
		}
		next := *u
		if in.FullName != nil {
			next.FullName = *in.FullName
		}
		if in.Email != nil {
			next.Email = *in.Email
		}
		if in.Role != nil {
			next.Role = *in.Role
		}
		if in.Disabled != nil {
			next.Disabled = *in.Disabled
		}
		if next.User == u.User {
			out = u // nothing changes: nothing written, nothing audited
			return nil
		}
		if err := lastAdmin(ctx, tx, u, &next, e); err != nil {
			return err
		}
		next.UpdatedAt = s.now()
		if err := tx.SaveUser(ctx, &next); err != nil {
			return err
		}
		if next.Disabled && !u.Disabled {
			if _, err := tx.RevokeSessions(ctx, id, "", shared.RevokedUserDisabled, next.UpdatedAt); err != nil {
				return err
			}
		}
		out = &next
		return tx.AddAudit(ctx, e(shared.OutcomeOK, describe(in)))
	})
	if err != nil {
		return nil, fmt.Errorf("update user %d: %w", id, err)
	}
	return &out.User, nil
}

func describe(in shared.UserUpdate) string {
	var parts []string
	if in.FullName != nil {
		parts = append(parts, "full name")
	}
	if in.Email != nil {
		parts = append(parts, "e-mail")
	}
	if in.Role != nil {
		parts = append(parts, "role="+string(*in.Role))
	}
	if in.Disabled != nil {
		parts = append(parts, fmt.Sprintf("disabled=%t", *in.Disabled))
	}
	return strings.Join(parts, ", ")
}

// DeleteUser deletes a user and their sessions; never the last enabled admin.
func (s *Service) DeleteUser(ctx context.Context, a Actor, id int64) error {
	err := s.update(ctx, func(tx store.Tx) error {
		_, u, e, err := s.onUser(ctx, tx, a, id, shared.ActionUserDelete, shared.PermUsersWrite)
		if err != nil {
			return err
		}
		if err := s.stepUp(a, e); err != nil {
			return err
		}
		if err := lastAdmin(ctx, tx, u, nil, e); err != nil {
			return err
		}
		if err := tx.DeleteUser(ctx, id); err != nil {
			return err
		}
		return tx.AddAudit(ctx, e(shared.OutcomeOK, ""))
	})
	if err != nil {
		return fmt.Errorf("delete user %d: %w", id, err)
	}
	return nil
}

// ResetPassword sets the password of a user whose role is not above the
// actor's and revokes all of their sessions. It needs a recent sign-in,
// one's own password included: this route asks for no current password, so
// without the step-up a stolen access token of a manager or admin would
// set their password and take the account over. Setting someone else's
// password makes them change it at their next sign-in.
func (s *Service) ResetPassword(ctx context.Context, a Actor, id int64, in shared.PasswordReset) error {
	if err := in.Validate(); err != nil {
		return err
	}
	hash, err := s.passwords.Hash(ctx, in.NewPassword)
	if err != nil {
		return err
	}
	err = s.update(ctx, func(tx store.Tx) error {
		actor, u, e, err := s.onUser(ctx, tx, a, id, shared.ActionPasswordReset, shared.PermUsersWrite)
		if err != nil {
			return err
		}
		if err := s.stepUp(a, e); err != nil {
			return err
		}
		other := u.ID != actor.ID
		u.PasswordHash, u.UpdatedAt, u.MustChangePassword = hash, s.now(), other
		if err := tx.SaveUser(ctx, u); err != nil {
			return err
		}
		if _, err := tx.RevokeSessions(ctx, id, "", shared.RevokedPasswordReset, u.UpdatedAt); err != nil {
			return err
		}
		detail := "all sessions revoked"
		if other {
			detail += "; must change it at the next sign-in"
		}
		return tx.AddAudit(ctx, e(shared.OutcomeOK, detail))
	})
	if err != nil {
		return fmt.Errorf("reset password of user %d: %w", id, err)
	}
	return nil
}

// Operator is the actor name of commands run by whoever runs the server
// (the first admin at start, gatehouse create-admin).
const Operator = "gatehouse"

// CreateAdmin creates an enabled admin on behalf of the operator, audited
// as such: the first admin of an empty store, or gatehouse create-admin.
func (s *Service) CreateAdmin(ctx context.Context, in shared.UserCreate) (*shared.User, error) {
	in.Role = shared.RoleAdmin
	if err := in.Validate(); err != nil {
		return nil, err
	}
	hash, err := s.passwords.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &store.User{User: shared.User{Username: in.Username, FullName: in.FullName, Email: in.Email, Role: shared.RoleAdmin, CreatedAt: now, UpdatedAt: now}, PasswordHash: hash}
	err = s.update(ctx, func(tx store.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.AddAudit(ctx, &shared.AuditEvent{Time: now, Actor: Operator, Action: shared.ActionAdminBootstrap, Target: userTarget(u), Outcome: shared.OutcomeOK})
	})
	if err != nil {
		return nil, fmt.Errorf("create admin %q: %w", in.Username, err)
	}
	return &u.User, nil
}

// ResetMFA removes the second factor and recovery codes of a user whose
// role is not above the actor's, and revokes their sessions; it needs
// users:write and a recent sign-in.
func (s *Service) ResetMFA(ctx context.Context, a Actor, id int64) error {
	err := s.update(ctx, func(tx store.Tx) error {
		_, u, e, err := s.onUser(ctx, tx, a, id, shared.ActionMFAReset, shared.PermUsersWrite)
		if err != nil {
			return err
		}
		if err := s.stepUp(a, e); err != nil {
			return err
		}
		now := s.now()
		if err := auth.ClearFactor(ctx, tx, u, now); err != nil {
			return err
		}
		if _, err := tx.RevokeSessions(ctx, id, "", shared.RevokedMFAReset, now); err != nil {
			return err
		}
		return tx.AddAudit(ctx, e(shared.OutcomeOK, "factor and recovery codes removed; all sessions revoked"))
	})
	if err != nil {
		return fmt.Errorf("reset MFA of user %d: %w", id, err)
	}
	return nil
}

// LiftLockout clears the sign-in lockouts of a user whose role is not
// above the actor's (see auth.Service.LiftLockouts) and audits which were
// in force; it needs users:write and a recent sign-in.
func (s *Service) LiftLockout(ctx context.Context, a Actor, id int64) error {
	err := s.update(ctx, func(tx store.Tx) error {
		_, u, e, err := s.onUser(ctx, tx, a, id, shared.ActionLockoutLift, shared.PermUsersWrite)
		if err != nil {
			return err
		}
		if err := s.stepUp(a, e); err != nil {
			return err
		}
		lifted, err := s.auth.LiftLockouts(ctx, tx, u, s.now())
		if err != nil {
			return err
		}
		detail := "nothing was locked"
		if len(lifted) > 0 {
			detail = "lifted: " + strings.Join(lifted, ", ")
		}
		return tx.AddAudit(ctx, e(shared.OutcomeOK, detail))
	})
	if err != nil {
		return fmt.Errorf("lift the lockout of user %d: %w", id, err)
	}
	return nil
}

// OperatorResetPassword sets a random temporary password for the user
// named username on behalf of the operator (the local command, for a
// locked-out last admin): their sessions are revoked and they must change
// it at the next sign-in. It returns the password, to be shown once.
func (s *Service) OperatorResetPassword(ctx context.Context, username string) (string, error) {
	password := auth.TemporaryPassword()
	hash, err := s.passwords.Hash(ctx, password)
	if err != nil {
		return "", err
	}
	err = s.operator(ctx, username, shared.ActionPasswordReset, func(tx store.Tx, u *store.User, now time.Time) (string, error) {
		u.PasswordHash, u.UpdatedAt, u.MustChangePassword = hash, now, true
		if err := tx.SaveUser(ctx, u); err != nil {
			return "", err
		}
		_, err := tx.RevokeSessions(ctx, u.ID, "", shared.RevokedPasswordReset, now)
		return "temporary password; all sessions revoked; must change it at the next sign-in", err
	})
	if err != nil {
		return "", err
	}
	return password, nil
}

// OperatorResetMFA removes the second factor and recovery codes of the user
// named username on behalf of the operator, and revokes their sessions.
func (s *Service) OperatorResetMFA(ctx context.Context, username string) error {
	return s.operator(ctx, username, shared.ActionMFAReset, func(tx store.Tx, u *store.User, now time.Time) (string, error) {
		if err := auth.ClearFactor(ctx, tx, u, now); err != nil {
			return "", err
		}
		_, err := tx.RevokeSessions(ctx, u.ID, "", shared.RevokedMFAReset, now)
		return "factor and recovery codes removed; all sessions revoked", err
	})
}

// operator runs change on the user named username in a transaction,
// audited as the operator.
func (s *Service) operator(ctx context.Context, username, action string, change func(tx store.Tx, u *store.User, now time.Time) (string, error)) error {
	now := s.now()
	err := s.store.Update(ctx, func(tx store.Tx) error {
		found, err := tx.UserByUsername(ctx, username)
		if err != nil {
			return err
		}
		u, err := tx.LockUser(ctx, found.ID)
		if err != nil {
			return err
		}
		detail, err := change(tx, u, now)
		if err != nil {
			return err
		}
		return tx.AddAudit(ctx, &shared.AuditEvent{Time: now, Actor: Operator, Action: action, Target: userTarget(u), Outcome: shared.OutcomeOK, Detail: detail + " (local operator)"})
	})
	if err != nil {
		return fmt.Errorf("%s %q: %w", action, username, err)
	}
	return nil
}
