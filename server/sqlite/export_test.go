package sqlite

import (
	"errors"
	"fmt"
	"iter"
	"reflect"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

// at returns a time the store keeps exactly: whole milliseconds, UTC.
func at(s int) time.Time { return time.UnixMilli(1_767_000_000_123 + int64(s)*1001).UTC() }

// collect ranges over seq and returns what it yielded.
func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

// filled is what TestExport writes: every kind of row, every field set.
type filled struct {
	users    []*store.User // the users left, by ID
	sessions []*store.Session
	audit    []*shared.AuditEvent
	attempts []*store.Attempts     // by key
	codes    []*store.RecoveryCode // by user and hash, CreatedAt zero: see written
	// written is when the recovery codes were, as the store chose their
	// creation time itself.
	written [2]time.Time
}

// fill writes rows of every kind into db, with a deleted user and a
// deleted audit event above the IDs left, and returns what it left.
func fill(t *testing.T, db *DB) filled {
	t.Helper()
	ctx := t.Context()
	var f filled
	user := func(name string, role shared.Role, disabled bool, s int) *store.User {
		return &store.User{User: shared.User{
			Username: name, FullName: "Full " + name, Email: name + "@example.com", Role: role,
			Disabled: disabled, CreatedAt: at(s), UpdatedAt: at(s + 1),
		}, PasswordHash: "$2a$04$hash-of-" + name}
	}
	gone := user("gone", shared.RoleViewer, false, 9)
	f.users = []*store.User{
		user("alice", shared.RoleAdmin, false, 1),
		user("bob", shared.RoleManager, true, 2),
		user("carol", shared.RoleViewer, false, 3),
	}
	// Alice has a second factor and is enrolling another; Bob is enrolling
	// and must change his password.
	f.users[0].MFA = true
	f.users[0].TOTP = store.TOTP{Secret: []byte("\x00sealed\xff"), KeyID: "key-1",
		Pending: []byte("sealed pending"), PendingKeyID: "key-2", LastStep: 58_000_123}
	f.users[1].MustChangePassword = true
	f.users[1].TOTP = store.TOTP{Pending: []byte{1, 2, 3}, PendingKeyID: "key-2"}
	revoked := at(20)
	before := time.Now().Truncate(time.Millisecond)
	err := db.Update(ctx, func(tx store.Tx) error {
		for _, u := range append(f.users, gone) {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		// Codes of the same hash for two users; the deleted user's go with
		// them.
		for _, c := range []struct {
			u      *store.User
			hashes [][]byte
		}{
			{f.users[0], [][]byte{{0xaa, 0x00}, {0x01}, {0xff, 0xfe}}},
			{f.users[2], [][]byte{{0x01}}},
			{gone, [][]byte{{0x02}}},
		} {
			if err := tx.ReplaceRecoveryCodes(ctx, c.u.ID, c.hashes); err != nil {
				return err
			}
		}
		f.codes = []*store.RecoveryCode{
			{UserID: f.users[0].ID, Hash: []byte{0x01}},
			{UserID: f.users[0].ID, Hash: []byte{0xaa, 0x00}},
			{UserID: f.users[0].ID, Hash: []byte{0xff, 0xfe}},
			{UserID: f.users[2].ID, Hash: []byte{0x01}},
		}
		// Challenges are not exported.
		if err := tx.CreateChallenge(ctx, &store.Challenge{ID: "c1", UserID: f.users[0].ID,
			CreatedAt: at(50), ExpiresAt: at(60)}); err != nil {
			return err
		}
		f.sessions = []*store.Session{
			{ID: "s-active", UserID: f.users[0].ID, CreatedAt: at(10), LastSeenAt: at(15), ExpiresAt: at(100),
				RefreshSalt: []byte("0123456789abcdef"), RefreshGen: 3, RefreshExpiresAt: at(90), RotatedAt: at(14),
				UserAgent: "Firefox", IP: "192.0.2.1", AMR: []string{"pwd", "otp"}, AuthTime: at(13)},
			// Two sessions of one millisecond: the export keeps their order.
			{ID: "s-revoked", UserID: f.users[1].ID, CreatedAt: at(11), LastSeenAt: at(12), ExpiresAt: at(101),
				RefreshSalt: []byte("fedcba9876543210"), RefreshGen: 0, RefreshExpiresAt: at(91), RotatedAt: at(11),
				RevokedAt: &revoked, RevokedReason: shared.RevokedRefreshReuse, UserAgent: "curl", IP: "2001:db8::1",
				AMR: []string{"pwd"}, AuthTime: at(11)},
			{ID: "a-same-ms", UserID: f.users[2].ID, CreatedAt: at(11), LastSeenAt: at(11), ExpiresAt: at(102),
				RefreshSalt: []byte{0, 1, 2}, RefreshGen: 1, RefreshExpiresAt: at(92), RotatedAt: at(13),
				AuthTime: at(11)}, // no AMR
		}
		for _, s := range f.sessions {
			if err := tx.CreateSession(ctx, s); err != nil {
				return err
			}
		}
		f.audit = []*shared.AuditEvent{
			{Time: at(30), ActorID: 0, Actor: "gatehouse", Action: "admin.bootstrap", Target: "user alice",
				Outcome: shared.OutcomeOK, Detail: "first start"},
			{Time: at(31), ActorID: f.users[0].ID, Actor: "alice", Action: shared.ActionLogin, Target: "user alice",
				IP: "192.0.2.1", Outcome: shared.OutcomeFailed, Detail: "wrong password"},
		}
		for _, e := range append(f.audit, &shared.AuditEvent{Time: at(32), Action: "dropped"}) {
			if err := tx.AddAudit(ctx, e); err != nil {
				return err
			}
		}
		f.attempts = []*store.Attempts{
			{Key: "ip:192.0.2.1", Failures: 12, LastFailure: at(40)},
			{Key: "user:bob", Failures: 3, LastFailure: at(41)},
		}
		for _, a := range f.attempts {
			if err := tx.SaveAttempts(ctx, a); err != nil {
				return err
			}
		}
		return tx.DeleteUser(ctx, gone.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.written = [2]time.Time{before, time.Now()}
	// Audit retention will delete events; no Tx method does yet.
	if _, err := db.db.ExecContext(ctx, "DELETE FROM audit_events WHERE action = 'dropped'"); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestExport(t *testing.T) {
	ctx := t.Context()
	db := openTemp(t)
	want := fill(t, db)

	var got filled
	var dump store.Dump
	err := db.Export(ctx, func(d *store.Dump) error {
		dump = *d
		// Written after the snapshot: not part of the dump.
		late := &store.User{User: shared.User{Username: "late", Role: shared.RoleViewer}, PasswordHash: "h"}
		if err := createUser(ctx, db, late); err != nil {
			return err
		}
		var err error
		if got.users, err = collect(d.Users); err != nil {
			return err
		}
		if got.sessions, err = collect(d.Sessions); err != nil {
			return err
		}
		if got.audit, err = collect(d.Audit); err != nil {
			return err
		}
		if got.attempts, err = collect(d.Attempts); err != nil {
			return err
		}
		got.codes, err = collect(d.RecoveryCodes)
		return err
	})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}

	t.Run("every field of every row is exported, times exact, in order of creation", func(t *testing.T) {
		for _, c := range got.codes {
			if at := c.CreatedAt; at.Before(want.written[0]) || at.After(want.written[1]) ||
				at.Location() != time.UTC || !at.Equal(at.Truncate(time.Millisecond)) {
				t.Errorf("recovery code %x: CreatedAt %v, want between %v and %v, in UTC, in milliseconds",
					c.Hash, at, want.written[0], want.written[1])
			}
			c.CreatedAt = time.Time{}
		}
		for _, c := range []struct {
			name      string
			got, want any
		}{
			{"users", got.users, want.users},
			{"sessions", got.sessions, want.sessions},
			{"audit events", got.audit, want.audit},
			{"attempts", got.attempts, want.attempts},
			{"recovery codes", got.codes, want.codes},
		} {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("%s:\n got %s\nwant %s", c.name, show(c.got), show(c.want))
			}
		}
	})
	t.Run("the counts are of the same snapshot, without what was written during the export", func(t *testing.T) {
		if c := (store.Counts{Users: 3, Sessions: 3, AuditEvents: 2, Attempts: 2, RecoveryCodes: 4}); dump.Counts != c {
			t.Errorf("Counts = %v, want %v", dump.Counts, c)
		}
	})
	t.Run("the last IDs count deleted rows", func(t *testing.T) {
		if dump.LastUserID != 4 || dump.LastAuditID != 3 {
			t.Errorf("LastUserID, LastAuditID = %d, %d; want 4 (the deleted user's), 3 (the deleted event's)",
				dump.LastUserID, dump.LastAuditID)
		}
	})
	t.Run("after Export returns, the iterators fail", func(t *testing.T) {
		if _, err := collect(dump.Users); err == nil {
			t.Error("ranging over Users after Export succeeded")
		}
	})
}

func TestExportReturnsTheFunctionsError(t *testing.T) {
	db := openTemp(t)
	fill(t, db)
	stop := errors.New("stop")
	err := db.Export(t.Context(), func(d *store.Dump) error {
		for range d.Audit {
			break // an iterator left early is closed
		}
		return stop
	})
	if err != stop {
		t.Errorf("Export = %v, want the function's own error", err)
	}
	// The read transaction has ended: a write does not wait for it.
	if err := createUser(t.Context(), db, &store.User{User: shared.User{Username: "next", Role: shared.RoleViewer}}); err != nil {
		t.Errorf("CreateUser after Export: %v", err)
	}
}

func TestExportOfAClosedStore(t *testing.T) {
	db := openTemp(t)
	db.Close()
	err := db.Export(t.Context(), func(*store.Dump) error { return nil })
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Export = %v, want store.ErrUnavailable", err)
	}
}

// show formats a slice of row pointers for a failure message.
func show(rows any) string {
	v := reflect.ValueOf(rows)
	out := ""
	for i := range v.Len() {
		out += fmt.Sprintf("\n\t%+v", v.Index(i).Elem().Interface())
	}
	return out
}
