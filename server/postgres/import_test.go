package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gatehouse/server/store"
	"gatehouse/shared"
)

// at returns a time the store keeps exactly: whole milliseconds, UTC.
func at(s int) time.Time { return time.UnixMilli(1_767_000_000_123 + int64(s)*1001).UTC() }

// rowsOf returns an iterator over rows.
func rowsOf[T any](rows []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// failing returns an iterator over rows that yields err after the first n.
func failing[T any](rows []T, n int, err error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for _, r := range rows[:n] {
			if !yield(r, nil) {
				return
			}
		}
		var zero T
		yield(zero, err)
	}
}

// sample is a dump's worth of rows of every kind, every field set, with
// gaps in the IDs (deleted rows).
type sample struct {
	users    []*store.User
	sessions []*store.Session
	audit    []*shared.AuditEvent
	attempts []*store.Attempts
	codes    []*store.RecoveryCode
}

func newSample() *sample {
	user := func(id int64, name string, role shared.Role, disabled bool, s int) *store.User {
		return &store.User{User: shared.User{
			ID: id, Username: name, FullName: "Full " + name, Email: name + "@example.com", Role: role,
			Disabled: disabled, CreatedAt: at(s), UpdatedAt: at(s + 1),
		}, PasswordHash: "$2a$04$hash-of-" + name}
	}
	revoked := at(20)
	users := []*store.User{
		user(1, "alice", shared.RoleAdmin, false, 1),
		user(2, "bob", shared.RoleManager, true, 2),
		user(5, "carol", shared.RoleViewer, false, 3),
	}
	// Alice has a second factor and is enrolling another; Bob is enrolling
	// and must change his password.
	users[0].MFA = true
	users[0].TOTP = store.TOTP{Secret: []byte("\x00sealed\xff"), KeyID: "key-1",
		Pending: []byte("sealed pending"), PendingKeyID: "key-2", LastStep: 58_000_123}
	users[1].MustChangePassword = true
	users[1].TOTP = store.TOTP{Pending: []byte{1, 2, 3}, PendingKeyID: "key-2"}
	return &sample{
		users: users,
		sessions: []*store.Session{
			{ID: "s-active", UserID: 1, CreatedAt: at(10), LastSeenAt: at(15), ExpiresAt: at(100),
				RefreshSalt: []byte("0123456789abcdef"), RefreshGen: 3, RefreshExpiresAt: at(90), RotatedAt: at(14),
				UserAgent: "Firefox", IP: "192.0.2.1", AMR: []string{"pwd", "otp"}, AuthTime: at(13)},
			{ID: "s-revoked", UserID: 2, CreatedAt: at(11), LastSeenAt: at(12), ExpiresAt: at(101),
				RefreshSalt: []byte("fedcba9876543210"), RefreshGen: 0, RefreshExpiresAt: at(91), RotatedAt: at(11),
				RevokedAt: &revoked, RevokedReason: shared.RevokedRefreshReuse, UserAgent: "curl", IP: "2001:db8::1",
				AMR: []string{"pwd"}, AuthTime: at(11)},
			// Created in the same millisecond as the one before it, and
			// after it: lists keep that order.
			{ID: "a-same-ms", UserID: 5, CreatedAt: at(11), LastSeenAt: at(11), ExpiresAt: at(102),
				RefreshSalt: []byte{0, 1, 2}, RefreshGen: 1, RefreshExpiresAt: at(92), RotatedAt: at(13),
				AuthTime: at(12)}, // no AMR
		},
		audit: []*shared.AuditEvent{
			{ID: 1, Time: at(30), ActorID: 0, Actor: "gatehouse", Action: "admin.bootstrap", Target: "user alice",
				Outcome: shared.OutcomeOK, Detail: "first start"},
			{ID: 2, Time: at(31), ActorID: 1, Actor: "alice", Action: shared.ActionLogin, Target: "user alice",
				IP: "192.0.2.1", Outcome: shared.OutcomeFailed, Detail: "wrong password"},
			{ID: 6, Time: at(32), ActorID: 7, Actor: "gone", Action: shared.ActionLogin, Target: "user gone",
				Outcome: shared.OutcomeOK},
		},
		attempts: []*store.Attempts{
			{Key: "ip:192.0.2.1", Failures: 12, LastFailure: at(40)},
			{Key: "user:bob", Failures: 3, LastFailure: at(41)},
		},
		// The same hash for two users.
		codes: []*store.RecoveryCode{
			{UserID: 1, Hash: []byte{0x01}, CreatedAt: at(50)},
			{UserID: 1, Hash: []byte{0xaa, 0x00}, CreatedAt: at(50)},
			{UserID: 1, Hash: []byte{0xff, 0xfe}, CreatedAt: at(51)},
			{UserID: 5, Hash: []byte{0x01}, CreatedAt: at(52)},
		},
	}
}

// counts returns the counts of the sample.
func (s *sample) counts() store.Counts {
	return store.Counts{Users: len(s.users), Sessions: len(s.sessions), AuditEvents: len(s.audit), Attempts: len(s.attempts),
		RecoveryCodes: len(s.codes)}
}

// dump returns a dump of the sample; the highest IDs ever handed out are
// 7 (a deleted user) and 9 (a deleted event).
func (s *sample) dump() *store.Dump {
	return &store.Dump{
		Counts: s.counts(), LastUserID: 7, LastAuditID: 9,
		Users: rowsOf(s.users), Sessions: rowsOf(s.sessions), Audit: rowsOf(s.audit), Attempts: rowsOf(s.attempts),
		RecoveryCodes: rowsOf(s.codes),
	}
}

// held counts the rows of the database.
func held(t *testing.T, db *DB) store.Counts {
	t.Helper()
	var c store.Counts
	err := pgx.BeginFunc(t.Context(), db.pool, func(tx pgx.Tx) (err error) {
		c, err = count(t.Context(), tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// recoveryCodes returns every recovery code the database holds, by user
// and hash.
func recoveryCodes(t *testing.T, db *DB) []*store.RecoveryCode {
	t.Helper()
	rows, err := db.pool.Query(t.Context(), `SELECT user_id, hash, created_at FROM recovery_codes ORDER BY user_id, hash`)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := collect(rows, func(rows pgx.Rows) (*store.RecoveryCode, error) {
		var c store.RecoveryCode
		err := rows.Scan(&c.UserID, &c.Hash, &c.CreatedAt)
		c.CreatedAt = c.CreatedAt.UTC()
		return &c, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return codes
}

// mustCreateUser creates a user named name and returns its ID.
func mustCreateUser(t *testing.T, db *DB, name string) int64 {
	t.Helper()
	u := &store.User{User: shared.User{Username: name, Role: shared.RoleViewer}, PasswordHash: "h"}
	if err := db.Update(t.Context(), func(tx store.Tx) error { return tx.CreateUser(t.Context(), u) }); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// mustAudit appends an event and returns its ID.
func mustAudit(t *testing.T, db *DB) int64 {
	t.Helper()
	e := &shared.AuditEvent{Action: "test"}
	if err := db.Update(t.Context(), func(tx store.Tx) error { return tx.AddAudit(t.Context(), e) }); err != nil {
		t.Fatal(err)
	}
	return e.ID
}

func TestImport(t *testing.T) {
	ctx := t.Context()
	db := openNew(t)
	s := newSample()
	copied, err := db.Import(ctx, s.dump(), false)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if copied != s.counts() {
		t.Errorf("Import copied %v, want %v", copied, s.counts())
	}

	t.Run("every field of every row is kept, IDs and times exact", func(t *testing.T) {
		for _, want := range s.users {
			got, err := db.UserByID(ctx, want.ID)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("user %d = %+v, %v\nwant %+v", want.ID, got, err, want)
			}
		}
		owner := map[int64]string{1: "alice", 2: "bob", 5: "carol"}
		for _, want := range s.sessions {
			got, err := db.SessionByID(ctx, want.ID)
			w := *want
			w.Username = owner[w.UserID]
			if err != nil || !reflect.DeepEqual(got, &w) {
				t.Errorf("session %s = %+v, %v\nwant %+v", want.ID, got, err, w)
			}
		}
		events, _, err := db.ListAudit(ctx, store.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		want := []shared.AuditEvent{}
		for _, e := range slices.Backward(s.audit) {
			want = append(want, *e)
		}
		if !reflect.DeepEqual(events, want) {
			t.Errorf("audit events (newest first):\n got %+v\nwant %+v", events, want)
		}
		for _, want := range s.attempts {
			var got *store.Attempts
			err := db.Update(ctx, func(tx store.Tx) (err error) {
				got, err = tx.LockAttempts(ctx, want.Key)
				return err
			})
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("attempts %q = %+v, %v; want %+v", want.Key, got, err, want)
			}
		}
		if got := recoveryCodes(t, db); !reflect.DeepEqual(got, s.codes) {
			t.Errorf("recovery codes:\n got %s\nwant %s", showRows(got), showRows(s.codes))
		}
	})
	t.Run("the recovery codes work", func(t *testing.T) {
		err := db.Update(ctx, func(tx store.Tx) error {
			for _, c := range []struct {
				user int64
				hash []byte
				used bool
				left int
			}{
				{1, []byte{0x01}, true, 2},
				{5, []byte{0xaa, 0x00}, false, 1},
				{5, []byte{0x01}, true, 0},
			} {
				used, left, err := tx.ConsumeRecoveryCode(ctx, c.user, c.hash)
				if err != nil {
					return err
				}
				if used != c.used || left != c.left {
					t.Errorf("ConsumeRecoveryCode(%d, %x) = %t, %d; want %t, %d", c.user, c.hash, used, left, c.used, c.left)
				}
			}
			return errors.New("roll back")
		})
		if err == nil || err.Error() != "roll back" {
			t.Fatal(err)
		}
	})
	t.Run("sessions created in one millisecond keep their order", func(t *testing.T) {
		list, _, err := db.ListSessions(ctx, store.SessionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range list {
			ids = append(ids, s.ID)
		}
		if want := []string{"a-same-ms", "s-revoked", "s-active"}; !slices.Equal(ids, want) {
			t.Errorf("sessions newest first: %q, want %q", ids, want)
		}
	})
	t.Run("new users and audit events get IDs never handed out, deleted rows' included", func(t *testing.T) {
		if id := mustCreateUser(t, db, "dave"); id != 8 {
			t.Errorf("a user created after the import got ID %d, want 8 (the dump's last was 7)", id)
		}
		if id := mustAudit(t, db); id != 10 {
			t.Errorf("an event added after the import got ID %d, want 10 (the dump's last was 9)", id)
		}
	})
	t.Run("a database with rows is refused, and left as it was", func(t *testing.T) {
		before := held(t, db)
		_, err := db.Import(ctx, newSample().dump(), false)
		if !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("Import = %v, want ErrNotEmpty", err)
		}
		if !strings.Contains(err.Error(), "users 4") {
			t.Errorf("error %q does not say what the database holds", err)
		}
		if after := held(t, db); after != before {
			t.Errorf("the database held %v, and %v after a refused import", before, after)
		}
	})
}

func TestImportReplace(t *testing.T) {
	ctx := t.Context()
	db := openNew(t)
	// The target handed out user IDs up to 10, above the dump's 7.
	for i := range 10 {
		mustCreateUser(t, db, fmt.Sprintf("old%d", i))
	}
	mustAudit(t, db)
	err := db.Update(ctx, func(tx store.Tx) error {
		if err := tx.ReplaceRecoveryCodes(ctx, 1, [][]byte{{0x01}, {0x09}}); err != nil {
			return err
		}
		return tx.CreateChallenge(ctx, &store.Challenge{ID: "old-challenge", UserID: 1, CreatedAt: at(0), ExpiresAt: at(300)})
	})
	if err != nil {
		t.Fatal(err)
	}
	s := newSample()
	if _, err := db.Import(ctx, s.dump(), true); err != nil {
		t.Fatalf("Import with replace: %v", err)
	}
	t.Run("what the database held is gone, the dump is there", func(t *testing.T) {
		if c := held(t, db); c != s.counts() {
			t.Errorf("the database holds %v, want the dump's %v", c, s.counts())
		}
		if _, err := db.UserByUsername(ctx, "old0"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("an old user is still there: %v", err)
		}
		if u, err := db.UserByID(ctx, 5); err != nil || u.Username != "carol" {
			t.Errorf("user 5 = %+v, %v; want carol", u, err)
		}
		if got := recoveryCodes(t, db); !reflect.DeepEqual(got, s.codes) {
			t.Errorf("recovery codes:\n got %s\nwant %s", showRows(got), showRows(s.codes))
		}
		err := db.Update(ctx, func(tx store.Tx) error {
			_, err := tx.LockChallenge(ctx, "old-challenge")
			return err
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LockChallenge(a challenge the database held) = %v, want ErrNotFound", err)
		}
	})
	t.Run("identities never move back", func(t *testing.T) {
		if id := mustCreateUser(t, db, "dave"); id != 11 {
			t.Errorf("a new user got ID %d, want 11 (the target had handed out 10)", id)
		}
		if id := mustAudit(t, db); id != 10 {
			t.Errorf("a new event got ID %d, want 10 (the dump's last was 9)", id)
		}
	})
}

// TestImportIsOneTransaction makes imports fail at every stage and checks
// that the database is left exactly as it was.
func TestImportIsOneTransaction(t *testing.T) {
	broken := errors.New("the source broke")
	tests := []struct {
		name    string
		replace bool
		spoil   func(s *sample, d *store.Dump, cancel context.CancelFunc)
		wantErr string // in the error; broken: errors.Is
	}{
		{
			name:    "a username twice: the unique index stops the copy",
			spoil:   func(s *sample, d *store.Dump, _ context.CancelFunc) { s.users[2].Username = "alice" },
			wantErr: "users_username",
		},
		{
			name: "a session of a user the dump lacks: the foreign key stops the copy",
			spoil: func(s *sample, d *store.Dump, _ context.CancelFunc) {
				s.sessions[2].UserID = 3
			},
			wantErr: "foreign key",
		},
		{
			name: "a recovery code of a user the dump lacks: the foreign key stops the copy",
			spoil: func(s *sample, d *store.Dump, _ context.CancelFunc) {
				s.codes[3].UserID = 3
			},
			wantErr: "foreign key",
		},
		{
			name:    "a recovery code twice: the primary key stops the copy",
			spoil:   func(s *sample, d *store.Dump, _ context.CancelFunc) { s.codes[1].Hash = s.codes[0].Hash },
			wantErr: "recovery_codes_pkey",
		},
		{
			name:    "a session whose AMR would not read back",
			spoil:   func(s *sample, d *store.Dump, _ context.CancelFunc) { s.sessions[1].AMR = []string{"pwd otp"} },
			wantErr: "AMR value",
		},
		{
			name: "the source yields fewer recovery codes than it counted",
			spoil: func(s *sample, d *store.Dump, _ context.CancelFunc) {
				d.RecoveryCodes = rowsOf(s.codes[:3])
			},
			wantErr: "the source counted",
		},
		{
			name: "the source fails in the middle of the audit log",
			spoil: func(s *sample, d *store.Dump, _ context.CancelFunc) {
				d.Audit = failing(s.audit, 2, broken)
			},
		},
		{
			name: "the context is canceled in the middle of the audit log",
			spoil: func(s *sample, d *store.Dump, cancel context.CancelFunc) {
				d.Audit = func(yield func(*shared.AuditEvent, error) bool) {
					if yield(s.audit[0], nil) {
						cancel()
						yield(s.audit[1], nil)
					}
				}
			},
			wantErr: "context canceled",
		},
		{
			name: "the source yields fewer rows than it counted",
			spoil: func(s *sample, d *store.Dump, _ context.CancelFunc) {
				d.Attempts = rowsOf(s.attempts[:1])
			},
			wantErr: "the source counted",
		},
		{
			name:    "with replace, a failure keeps what the database held",
			replace: true,
			spoil:   func(s *sample, d *store.Dump, _ context.CancelFunc) { d.Audit = failing(s.audit, 1, broken) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := openNew(t)
			var before store.Counts
			if tt.replace {
				mustCreateUser(t, db, "old")
				mustAudit(t, db)
				before = held(t, db)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			s := newSample()
			d := s.dump()
			tt.spoil(s, d, cancel)

			_, err := db.Import(ctx, d, tt.replace)
			t.Logf("Import: %v", err)
			switch {
			case err == nil:
				t.Fatal("Import succeeded")
			case tt.wantErr == "" && !errors.Is(err, broken):
				t.Fatalf("Import = %v, want the source's error", err)
			case !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Import = %v, want an error mentioning %q", err, tt.wantErr)
			case errors.Is(err, store.ErrUnavailable):
				t.Errorf("Import = %v, which says the database is unavailable: it is not", err)
			}
			if after := held(t, db); after != before {
				t.Errorf("the database held %v, and %v after a failed import", before, after)
			}
			if _, err := db.UserByUsername(t.Context(), "alice"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a user of the failed import is there: %v", err)
			}
		})
	}
}

// showRows formats rows for a failure message.
func showRows[T any](rows []*T) string {
	out := ""
	for _, r := range rows {
		out += fmt.Sprintf("\n\t%+v", *r)
	}
	return out
}
