package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"gatehouse/server/store"
	"gatehouse/shared"
)

const userColumns = `id, username, full_name, email, role, disabled, password_hash, created_at, updated_at,
	must_change_password, totp_secret, totp_key_id, totp_pending, totp_pending_key_id, totp_last_step`

// scanUser reads a row of userColumns. The wire user's MFA is derived
// from the factor, not stored.
func scanUser(row pgx.Row) (*store.User, error) {
	var (
		u    store.User
		role string
	)
	err := row.Scan(&u.ID, &u.Username, &u.FullName, &u.Email, &role, &u.Disabled,
		&u.PasswordHash, &u.CreatedAt, &u.UpdatedAt,
		&u.MustChangePassword, &u.TOTP.Secret, &u.TOTP.KeyID, &u.TOTP.Pending, &u.TOTP.PendingKeyID,
		&u.TOTP.LastStep)
	if err != nil {
		return nil, err
	}
	u.Role = shared.Role(role)
	u.CreatedAt = u.CreatedAt.UTC()
	u.UpdatedAt = u.UpdatedAt.UTC()
	u.MFA = u.TOTP.Enabled()
	return &u, nil
}

func scanUsers(rows pgx.Rows) (*store.User, error) { return scanUser(rows) }

// CreateUser inserts u, setting its ID, and CreatedAt and UpdatedAt to the
// current time where they are zero. A taken username fails with
// store.ErrConflict and leaves the transaction usable.
func (t *tx) CreateUser(ctx context.Context, u *store.User) error {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return err
	}
	defer exit()
	now := ms(time.Now())
	created, updated := now, now
	if !u.CreatedAt.IsZero() {
		created = ms(u.CreatedAt)
	}
	if !u.UpdatedAt.IsZero() {
		updated = ms(u.UpdatedAt)
	}
	if u.EnabledAdmin() {
		if err := t.lock(ctx, "admins", ""); err != nil {
			return t.fail(ctx, fmt.Sprintf("create user %q", u.Username), err)
		}
	}
	// ON CONFLICT DO NOTHING rather than a unique violation, which would
	// abort the whole transaction.
	var id int64
	err = t.q.QueryRow(ctx, `
		INSERT INTO users (username, full_name, email, role, disabled, password_hash, created_at, updated_at,
			must_change_password, totp_secret, totp_key_id, totp_pending, totp_pending_key_id, totp_last_step)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT DO NOTHING
		RETURNING id`,
		text(u.Username), text(u.FullName), text(u.Email), text(string(u.Role)), u.Disabled,
		text(u.PasswordHash), created, updated,
		u.MustChangePassword, nullBytes(u.TOTP.Secret), text(u.TOTP.KeyID), nullBytes(u.TOTP.Pending),
		text(u.TOTP.PendingKeyID), u.TOTP.LastStep).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrConflict
	}
	if err != nil {
		return t.fail(ctx, fmt.Sprintf("create user %q", u.Username), err)
	}
	u.ID, u.CreatedAt, u.UpdatedAt = id, created, updated
	return nil
}

// UserByID returns the user with the given ID.
func (r reads) UserByID(ctx context.Context, id int64) (*store.User, error) {
	ctx, exit, err := r.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer exit()
	u, err := scanUser(r.q.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, r.fail(ctx, fmt.Sprintf("user %d", id), err)
	}
	return u, nil
}

// LockUser returns the user, holding its row (SELECT … FOR UPDATE).
func (t *tx) LockUser(ctx context.Context, id int64) (*store.User, error) {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer exit()
	var u *store.User
	err = t.lockAndQueryRow(ctx, "user", strconv.FormatInt(id, 10),
		`SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE`, []any{id},
		func(row pgx.Row) (err error) { u, err = scanUser(row); return err })
	if err != nil {
		return nil, t.fail(ctx, fmt.Sprintf("lock user %d", id), err)
	}
	return u, nil
}

// UserByUsername returns the user with exactly that username.
func (r reads) UserByUsername(ctx context.Context, username string) (*store.User, error) {
	ctx, exit, err := r.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer exit()
	u, err := scanUser(r.q.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE username = $1`, text(username)))
	if err != nil {
		return nil, r.fail(ctx, fmt.Sprintf("user %q", username), err)
	}
	return u, nil
}

// ListUsers returns one page of users in the filter's order, and how many
// match in all, both from one snapshot.
func (r reads) ListUsers(ctx context.Context, f store.UserFilter) ([]*store.User, int, error) {
	ctx, exit, err := r.enter(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer exit()
	where, args := "", []any(nil)
	if f.Query != "" {
		// strpos rather than LIKE: the query is matched literally, '%' and
		// '_' included.
		lower := func(x string) string { return "strpos(lower(" + x + r.d.fold + "), lower($1" + r.d.fold + ")) > 0" }
		where = "WHERE " + lower("username") + " OR " + lower("full_name") + " OR " + lower("email")
		args = []any{text(f.Query)}
	}
	n, off := limit(f.Offset, f.Limit)
	page := fmt.Sprintf(" LIMIT $%d OFFSET $%d", len(args)+1, len(args)+2)

	var (
		users []*store.User
		total int
	)
	err = r.snapshot(ctx, func(q querier) error {
		if err := q.QueryRow(ctx, `SELECT count(*) FROM users `+where, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := q.Query(ctx,
			`SELECT `+userColumns+` FROM users `+where+` ORDER BY `+userOrder(f.Sort)+page,
			append(args, n, off)...)
		if err != nil {
			return err
		}
		users, err = collect(rows, scanUsers)
		return err
	})
	if err != nil {
		return nil, 0, r.fail(ctx, "list users", err)
	}
	return users, total, nil
}

// LockEnabledAdmins returns the IDs of the enabled admins, lowest first,
// holding their rows (no demotion, disabling or deletion of one can
// commit) and the advisory lock that CreateUser and SaveUser take before
// they write an enabled admin (no promotion can either).
func (t *tx) LockEnabledAdmins(ctx context.Context) ([]int64, error) {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer exit()
	var ids []int64
	err = t.lockAndQuery(ctx, "admins", "",
		`SELECT id FROM users WHERE role = $1 AND NOT disabled ORDER BY id FOR UPDATE`,
		[]any{string(shared.RoleAdmin)},
		func(rows pgx.Rows) (err error) {
			ids, err = collect(rows, func(rows pgx.Rows) (int64, error) {
				var id int64
				return id, rows.Scan(&id)
			})
			return err
		})
	if err != nil {
		return nil, t.fail(ctx, "lock enabled admins", err)
	}
	return ids, nil
}

// SaveUser writes every field of u but its ID, username and creation time.
// Writing an enabled admin waits for the transactions holding the enabled
// admins (see LockEnabledAdmins).
func (t *tx) SaveUser(ctx context.Context, u *store.User) error {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return err
	}
	defer exit()
	if u.EnabledAdmin() {
		if err := t.lock(ctx, "admins", ""); err != nil {
			return t.fail(ctx, fmt.Sprintf("save user %d", u.ID), err)
		}
	}
	tag, err := t.q.Exec(ctx, `
		UPDATE users SET full_name = $1, email = $2, role = $3, disabled = $4, password_hash = $5, updated_at = $6,
			must_change_password = $7, totp_secret = $8, totp_key_id = $9, totp_pending = $10,
			totp_pending_key_id = $11, totp_last_step = $12
		WHERE id = $13`,
		text(u.FullName), text(u.Email), text(string(u.Role)), u.Disabled, text(u.PasswordHash),
		ms(u.UpdatedAt), u.MustChangePassword, nullBytes(u.TOTP.Secret), text(u.TOTP.KeyID),
		nullBytes(u.TOTP.Pending), text(u.TOTP.PendingKeyID), u.TOTP.LastStep, u.ID)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return t.fail(ctx, fmt.Sprintf("save user %d", u.ID), err)
	}
	return nil
}

// DeleteUser removes the user and, by the foreign keys' cascade, their
// sessions, recovery codes and challenges.
func (t *tx) DeleteUser(ctx context.Context, id int64) error {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return err
	}
	defer exit()
	tag, err := t.q.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	if err != nil {
		return t.fail(ctx, fmt.Sprintf("delete user %d", id), err)
	}
	return nil
}

// CountUsersByRole counts users, disabled ones included, per role. Every
// known role has an entry, if only a zero.
func (r reads) CountUsersByRole(ctx context.Context) (map[shared.Role]int, error) {
	ctx, exit, err := r.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer exit()
	counts := make(map[shared.Role]int, len(shared.Roles))
	for _, role := range shared.Roles {
		counts[role] = 0
	}
	rows, err := r.q.Query(ctx, `SELECT role, count(*) FROM users GROUP BY role`)
	if err == nil {
		_, err = collect(rows, func(rows pgx.Rows) (struct{}, error) {
			var (
				role string
				n    int
			)
			err := rows.Scan(&role, &n)
			counts[shared.Role(role)] = n
			return struct{}{}, err
		})
	}
	if err != nil {
		return nil, r.fail(ctx, "count users", err)
	}
	return counts, nil
}

// userOrder is the ORDER BY list of an order of users. Usernames are
// compared byte by byte (COLLATE "C"), as SQLite does.
func userOrder(s shared.UserSort) string {
	s = s.Normal()
	dir := " ASC"
	if s.Desc {
		dir = " DESC"
	}
	switch s.Key {
	case shared.SortUsername:
		return `username COLLATE "C"` + dir
	case shared.SortRole:
		return store.RoleRankSQL() + dir + `, username COLLATE "C" ASC`
	}
	return "created_at" + dir + ", id" + dir
}
