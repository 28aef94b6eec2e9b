package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

const userColumns = `id, username, full_name, email, role, disabled, password_hash, created_at, updated_at`

// scanUser reads a row of userColumns.
func scanUser(row interface{ Scan(...any) error }) (*store.User, error) {
	var (
		u                store.User
		created, updated int64
		role             string
	)
	err := row.Scan(&u.ID, &u.Username, &u.FullName, &u.Email, &role, &u.Disabled,
		&u.PasswordHash, &created, &updated)
	if err != nil {
		return nil, err
	}
	u.Role = shared.Role(role)
	u.CreatedAt = fromMillis(created)
	u.UpdatedAt = fromMillis(updated)
	return &u, nil
}

func userByID(ctx context.Context, q querier, id int64) (*store.User, error) {
	return scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// CreateUser inserts u, setting its ID, CreatedAt and UpdatedAt.
func (d *DB) CreateUser(ctx context.Context, u *store.User) error {
	now := fromMillis(millis(time.Now()))
	created, updated := now, now
	if !u.CreatedAt.IsZero() {
		created = fromMillis(millis(u.CreatedAt))
	}
	if !u.UpdatedAt.IsZero() {
		updated = fromMillis(millis(u.UpdatedAt))
	}
	res, err := d.db.ExecContext(ctx, `
		INSERT INTO users (username, full_name, email, role, disabled, password_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.Username, u.FullName, u.Email, string(u.Role), u.Disabled, u.PasswordHash,
		millis(created), millis(updated))
	if err != nil {
		return d.fail(fmt.Sprintf("create user %q", u.Username), err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return d.fail(fmt.Sprintf("create user %q", u.Username), err)
	}
	u.ID, u.CreatedAt, u.UpdatedAt = id, created, updated
	return nil
}

// UserByID returns the user with the given ID.
func (d *DB) UserByID(ctx context.Context, id int64) (*store.User, error) {
	u, err := userByID(ctx, d.db, id)
	if err != nil {
		return nil, d.fail(fmt.Sprintf("user %d", id), err)
	}
	return u, nil
}

// UserByUsername returns the user with exactly that username.
func (d *DB) UserByUsername(ctx context.Context, username string) (*store.User, error) {
	u, err := scanUser(d.db.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE username = ?`, username))
	if err != nil {
		return nil, d.fail(fmt.Sprintf("user %q", username), err)
	}
	return u, nil
}

// ListUsers returns one page of users, newest first, and how many match in
// all.
func (d *DB) ListUsers(ctx context.Context, f store.UserFilter) ([]*store.User, int, error) {
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
	err := d.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users `+where, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx,
			`SELECT `+userColumns+` FROM users `+where+`
			ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
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
		return nil, 0, d.fail("list users", err)
	}
	return users, total, nil
}

// UpdateUser applies upd at time now and returns the updated user. The
// last-admin check, the update and, when the user is disabled, the
// revocation of their sessions happen in one transaction.
func (d *DB) UpdateUser(ctx context.Context, id int64, upd store.UserUpdate, now time.Time) (*store.User, error) {
	var updated *store.User
	err := d.write(ctx, func(tx *sql.Tx) error {
		u, err := userByID(ctx, tx, id)
		if err != nil {
			return err
		}
		wasAdmin := isEnabledAdmin(u)
		if upd.FullName != nil {
			u.FullName = *upd.FullName
		}
		if upd.Email != nil {
			u.Email = *upd.Email
		}
		if upd.Role != nil {
			u.Role = *upd.Role
		}
		if upd.Disabled != nil {
			u.Disabled = *upd.Disabled
		}
		if wasAdmin && !isEnabledAdmin(u) {
			if err := checkOtherAdmin(ctx, tx, id); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE users SET full_name = ?, email = ?, role = ?, disabled = ?, updated_at = ?
			WHERE id = ?`,
			u.FullName, u.Email, string(u.Role), u.Disabled, millis(now), id)
		if err != nil {
			return err
		}
		if upd.Disabled != nil && *upd.Disabled {
			if _, err := revokeUserSessions(ctx, tx, id, "", shared.RevokedUserDisabled, now); err != nil {
				return err
			}
		}
		updated, err = userByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, d.fail(fmt.Sprintf("update user %d", id), err)
	}
	return updated, nil
}

func isEnabledAdmin(u *store.User) bool {
	return u.Role == shared.RoleAdmin && !u.Disabled
}

// checkOtherAdmin returns store.ErrLastAdmin unless an enabled admin other
// than the user id exists.
func checkOtherAdmin(ctx context.Context, q querier, id int64) error {
	var others int
	err := q.QueryRowContext(ctx,
		`SELECT count(*) FROM users WHERE role = ? AND disabled = 0 AND id <> ?`,
		string(shared.RoleAdmin), id).Scan(&others)
	if err != nil {
		return err
	}
	if others == 0 {
		return store.ErrLastAdmin
	}
	return nil
}

// SetPassword stores a new password hash and revokes every session of the
// user but keepSession with reason, in one transaction.
func (d *DB) SetPassword(ctx context.Context, id int64, hash string, keepSession, reason string, now time.Time) error {
	err := d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, millis(now), id)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		_, err = revokeUserSessions(ctx, tx, id, keepSession, reason, now)
		return err
	})
	if err != nil {
		return d.fail(fmt.Sprintf("set password of user %d", id), err)
	}
	return nil
}

// DeleteUser removes the user and their sessions, unless they are the last
// enabled admin.
func (d *DB) DeleteUser(ctx context.Context, id int64) error {
	err := d.write(ctx, func(tx *sql.Tx) error {
		u, err := userByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if isEnabledAdmin(u) {
			if err := checkOtherAdmin(ctx, tx, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return d.fail(fmt.Sprintf("delete user %d", id), err)
	}
	return nil
}

// CountUsersByRole counts users, disabled ones included, per role. Every
// known role has an entry, if only a zero.
func (d *DB) CountUsersByRole(ctx context.Context) (map[shared.Role]int, error) {
	counts := make(map[shared.Role]int, len(shared.Roles))
	for _, r := range shared.Roles {
		counts[r] = 0
	}
	rows, err := d.db.QueryContext(ctx, `SELECT role, count(*) FROM users GROUP BY role`)
	if err != nil {
		return nil, d.fail("count users", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			role string
			n    int
		)
		if err := rows.Scan(&role, &n); err != nil {
			return nil, d.fail("count users", err)
		}
		counts[shared.Role(role)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, d.fail("count users", err)
	}
	return counts, nil
}
