package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

const userColumns = `id, username, full_name, email, role, disabled, password_hash, created_at, updated_at,
	must_change_password, totp_secret, totp_key_id, totp_pending, totp_pending_key_id, totp_last_step`

// scanUser reads a row of userColumns. The wire user's MFA is derived
// from the factor, not stored.
func scanUser(row interface{ Scan(...any) error }) (*store.User, error) {
	var (
		u                store.User
		created, updated int64
		role             string
	)
	err := row.Scan(&u.ID, &u.Username, &u.FullName, &u.Email, &role, &u.Disabled,
		&u.PasswordHash, &created, &updated,
		&u.MustChangePassword, &u.TOTP.Secret, &u.TOTP.KeyID, &u.TOTP.Pending, &u.TOTP.PendingKeyID,
		&u.TOTP.LastStep)
	if err != nil {
		return nil, err
	}
	u.Role = shared.Role(role)
	u.CreatedAt = fromMillis(created)
	u.UpdatedAt = fromMillis(updated)
	u.MFA = u.TOTP.Enabled()
	return &u, nil
}

func userByID(ctx context.Context, q querier, id int64) (*store.User, error) {
	return scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// CreateUser inserts u, setting its ID, and CreatedAt and UpdatedAt to the
// current time where they are zero.
func (t *tx) CreateUser(ctx context.Context, u *store.User) error {
	now := fromMillis(millis(time.Now()))
	created, updated := now, now
	if !u.CreatedAt.IsZero() {
		created = fromMillis(millis(u.CreatedAt))
	}
	if !u.UpdatedAt.IsZero() {
		updated = fromMillis(millis(u.UpdatedAt))
	}
	res, err := t.q.ExecContext(ctx, `
		INSERT INTO users (username, full_name, email, role, disabled, password_hash, created_at, updated_at,
			must_change_password, totp_secret, totp_key_id, totp_pending, totp_pending_key_id, totp_last_step)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.Username, u.FullName, u.Email, string(u.Role), u.Disabled, u.PasswordHash,
		millis(created), millis(updated),
		u.MustChangePassword, nullBytes(u.TOTP.Secret), u.TOTP.KeyID, nullBytes(u.TOTP.Pending),
		u.TOTP.PendingKeyID, u.TOTP.LastStep)
	if err != nil {
		return t.fail(fmt.Sprintf("create user %q", u.Username), err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return t.fail(fmt.Sprintf("create user %q", u.Username), err)
	}
	u.ID, u.CreatedAt, u.UpdatedAt = id, created, updated
	return nil
}

// UserByID returns the user with the given ID.
func (r reads) UserByID(ctx context.Context, id int64) (*store.User, error) {
	u, err := userByID(ctx, r.q, id)
	if err != nil {
		return nil, r.fail(fmt.Sprintf("user %d", id), err)
	}
	return u, nil
}

// LockUser returns the user; the transaction holds the whole database.
func (t *tx) LockUser(ctx context.Context, id int64) (*store.User, error) {
	return t.UserByID(ctx, id)
}

// UserByUsername returns the user with exactly that username.
func (r reads) UserByUsername(ctx context.Context, username string) (*store.User, error) {
	u, err := scanUser(r.q.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE username = ?`, username))
	if err != nil {
		return nil, r.fail(fmt.Sprintf("user %q", username), err)
	}
	return u, nil
}

// ListUsers returns one page of users in the filter's order, and how many
// match in all.
func (r reads) ListUsers(ctx context.Context, f store.UserFilter) ([]*store.User, int, error) {
	where, args := "", []any(nil)
	if f.Query != "" {
		// instr rather than LIKE: the query is matched literally, '%' and
		// '_' included, and gatehouse_lower folds more than ASCII.
		where = `WHERE instr(gatehouse_lower(username), ?) > 0
			OR instr(gatehouse_lower(full_name), ?) > 0
			OR instr(gatehouse_lower(email), ?) > 0`
		q := strings.ToLower(f.Query) // as gatehouse_lower does
		args = []any{q, q, q}
	}
	n, off := limit(f.Offset, f.Limit)

	users := []*store.User{}
	var total int
	err := r.snapshot(ctx, func(q querier) error {
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM users `+where, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx,
			`SELECT `+userColumns+` FROM users `+where+`
			ORDER BY `+userOrder(f.Sort)+` LIMIT ? OFFSET ?`,
			append(args, n, off)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return err
			}
			users = append(users, u)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, r.fail("list users", err)
	}
	return users, total, nil
}

// LockEnabledAdmins returns the IDs of the enabled admins, lowest first.
func (t *tx) LockEnabledAdmins(ctx context.Context) ([]int64, error) {
	rows, err := t.q.QueryContext(ctx,
		`SELECT id FROM users WHERE role = ? AND disabled = 0 ORDER BY id`, string(shared.RoleAdmin))
	if err != nil {
		return nil, t.fail("enabled admins", err)
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, t.fail("enabled admins", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail("enabled admins", err)
	}
	return ids, nil
}

// SaveUser writes every field of u but its ID, username and creation time.
func (t *tx) SaveUser(ctx context.Context, u *store.User) error {
	res, err := t.q.ExecContext(ctx, `
		UPDATE users SET full_name = ?, email = ?, role = ?, disabled = ?, password_hash = ?, updated_at = ?,
			must_change_password = ?, totp_secret = ?, totp_key_id = ?, totp_pending = ?,
			totp_pending_key_id = ?, totp_last_step = ?
		WHERE id = ?`,
		u.FullName, u.Email, string(u.Role), u.Disabled, u.PasswordHash, millis(u.UpdatedAt),
		u.MustChangePassword, nullBytes(u.TOTP.Secret), u.TOTP.KeyID, nullBytes(u.TOTP.Pending),
		u.TOTP.PendingKeyID, u.TOTP.LastStep, u.ID)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return t.fail(fmt.Sprintf("save user %d", u.ID), err)
	}
	return nil
}

// DeleteUser removes the user and their sessions, and by the foreign
// keys' cascade their recovery codes and challenges.
func (t *tx) DeleteUser(ctx context.Context, id int64) error {
	if _, err := t.q.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
		return t.fail(fmt.Sprintf("delete user %d", id), err)
	}
	res, err := t.q.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
	if err == nil {
		err = mustAffect(res)
	}
	if err != nil {
		return t.fail(fmt.Sprintf("delete user %d", id), err)
	}
	return nil
}

// CountUsersByRole counts users, disabled ones included, per role. Every
// known role has an entry, if only a zero.
func (r reads) CountUsersByRole(ctx context.Context) (map[shared.Role]int, error) {
	counts := make(map[shared.Role]int, len(shared.Roles))
	for _, role := range shared.Roles {
		counts[role] = 0
	}
	rows, err := r.q.QueryContext(ctx, `SELECT role, count(*) FROM users GROUP BY role`)
	if err != nil {
		return nil, r.fail("count users", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			role string
			n    int
		)
		if err := rows.Scan(&role, &n); err != nil {
			return nil, r.fail("count users", err)
		}
		counts[shared.Role(role)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, r.fail("count users", err)
	}
	return counts, nil
}

// userOrder is the ORDER BY list of an order of users. Usernames are
// compared byte by byte (the BINARY collation).
func userOrder(s shared.UserSort) string {
	s = s.Normal()
	dir := " ASC"
	if s.Desc {
		dir = " DESC"
	}
	switch s.Key {
	case shared.SortUsername:
		return "username" + dir
	case shared.SortRole:
		return store.RoleRankSQL() + dir + ", username ASC"
	}
	return "created_at" + dir + ", id" + dir
}
