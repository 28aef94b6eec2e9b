package admin

import (
	"context"
	"fmt"
	"strings"

	"gatehouse/server/store"
	"gatehouse/shared"
)

// Users lists users matching q, newest first.
func (s *Service) Users(ctx context.Context, q string, p Page) (*shared.Page[shared.User], error) {
	rows, total, err := s.state.ListUsers(ctx, store.UserFilter{Query: strings.TrimSpace(q), Offset: p.offset(), Limit: p.PerPage})
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
	u, err := s.state.UserByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("user %d: %w", id, err)
	}
	return &u.User, nil
}

// CreateUser creates an account with a role no higher than the actor's.
func (s *Service) CreateUser(ctx context.Context, a Actor, in shared.UserCreate) (*shared.User, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.Role.Rank() > a.Role.Rank() {
		s.audit(ctx, a, shared.ActionUserCreate, "user "+in.Username, shared.OutcomeDenied, "role "+string(in.Role)+" above own")
		return nil, deny("you cannot create a user with a role above your own")
	}
	hash, err := s.passwords.Hash(in.Password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &store.User{User: shared.User{Username: in.Username, FullName: in.FullName, Email: in.Email, Role: in.Role, CreatedAt: now, UpdatedAt: now}, PasswordHash: hash}
	if err := s.state.CreateUser(ctx, u); err != nil {
		return nil, fmt.Errorf("create user %q: %w", in.Username, err)
	}
	s.audit(ctx, a, shared.ActionUserCreate, userTarget(u), shared.OutcomeOK, "role "+string(u.Role))
	return &u.User, nil
}

// target loads the user the actor wants to change and refuses when that
// user's role is above the actor's.
func (s *Service) target(ctx context.Context, a Actor, id int64, action string) (*store.User, error) {
	u, err := s.state.UserByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("user %d: %w", id, err)
	}
	if u.Role.Rank() > a.Role.Rank() {
		s.audit(ctx, a, action, userTarget(u), shared.OutcomeDenied, "target's role above own")
		return nil, deny("you cannot change a user whose role is above your own")
	}
	return u, nil
}

// UpdateUser changes another user's name, e-mail, role or disabled flag.
// Changing a role needs roles:write and can never raise anyone above the
// actor's own role; disabling revokes all of the user's sessions; the last
// enabled admin can be neither disabled nor demoted.
func (s *Service) UpdateUser(ctx context.Context, a Actor, id int64, in shared.UserUpdate) (*shared.User, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	u, err := s.target(ctx, a, id, shared.ActionUserUpdate)
	if err != nil {
		return nil, err
	}
	if in.Role != nil && *in.Role != u.Role {
		if !a.Can(shared.PermRolesWrite) {
			s.audit(ctx, a, shared.ActionUserUpdate, userTarget(u), shared.OutcomeDenied, "role change without roles:write")
			return nil, deny("changing roles needs the %s permission", shared.PermRolesWrite)
		}
		if in.Role.Rank() > a.Role.Rank() {
			return nil, deny("you cannot raise anyone above your own role")
		}
	}
	if in.Empty() {
		return &u.User, nil
	}
	upd := store.UserUpdate{FullName: in.FullName, Email: in.Email, Role: in.Role, Disabled: in.Disabled}
	nu, err := s.state.UpdateUser(ctx, id, upd, s.now())
	if err != nil {
		return nil, fmt.Errorf("update user %d: %w", id, err)
	}
	s.audit(ctx, a, shared.ActionUserUpdate, userTarget(nu), shared.OutcomeOK, describe(in))
	return &nu.User, nil
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
	u, err := s.target(ctx, a, id, shared.ActionUserDelete)
	if err != nil {
		return err
	}
	if err := s.state.DeleteUser(ctx, id); err != nil {
		return fmt.Errorf("delete user %d: %w", id, err)
	}
	s.audit(ctx, a, shared.ActionUserDelete, userTarget(u), shared.OutcomeOK, "")
	return nil
}

// ResetPassword sets another user's password and revokes all of their
// sessions.
func (s *Service) ResetPassword(ctx context.Context, a Actor, id int64, in shared.PasswordReset) error {
	if err := in.Validate(); err != nil {
		return err
	}
	u, err := s.target(ctx, a, id, shared.ActionPasswordReset)
	if err != nil {
		return err
	}
	hash, err := s.passwords.Hash(in.NewPassword)
	if err != nil {
		return err
	}
	if err := s.state.SetPassword(ctx, id, hash, "", shared.RevokedPasswordReset, s.now()); err != nil {
		return fmt.Errorf("reset password of user %d: %w", id, err)
	}
	s.audit(ctx, a, shared.ActionPasswordReset, userTarget(u), shared.OutcomeOK, "all sessions revoked")
	return nil
}
