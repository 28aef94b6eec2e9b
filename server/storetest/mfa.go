package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

var recoveryCodeTests = []test{
	{"ReplaceRecoveryCodes sets the user's codes, dropping those before, a hash given twice counting once", testReplaceRecoveryCodes},
	{"ConsumeRecoveryCode uses a code once and counts the codes left", testConsumeRecoveryCode},
	{"a recovery code matches for its own user only, even when another user has the same hash", testRecoveryCodeOwner},
	{"a user who does not exist has no codes, and cannot be given any", testRecoveryCodesNoUser},
	{"DeleteUser removes the user's recovery codes and no one else's", testDeleteUserRemovesCodes},
	{"a consume rolled back leaves the code usable", testConsumeRolledBack},
}

var challengeTests = []test{
	{"CreateChallenge stores every field and LockChallenge returns it", testCreateChallenge},
	{"SaveChallenge writes the attempts and the use, and nothing else", testSaveChallenge},
	{"CreateChallenge with a taken ID fails with ErrConflict, and nothing changes", testCreateChallengeConflict},
	{"challenge calls fail with ErrNotFound when the challenge or its user does not exist, and create nothing", testChallengeNotFound},
	{"DeleteUser removes the user's challenges and no one else's", testDeleteUserRemovesChallenges},
}

// consumed is what ConsumeRecoveryCode answered.
type consumed struct {
	used bool
	left int
}

// wantConsume consumes hash of userID in a transaction of its own and
// checks the answer.
func (f *fixture) wantConsume(what string, userID int64, hash []byte, want consumed) {
	f.t.Helper()
	used, left := f.consume(userID, hash)
	if got := (consumed{used, left}); got != want {
		f.t.Errorf("ConsumeRecoveryCode(%s) = used %t, %d left; want used %t, %d left", what, got.used, got.left, want.used, want.left)
	}
}

// wantLeft checks how many codes the user has left.
func (f *fixture) wantLeft(what string, userID int64, want int) {
	f.t.Helper()
	if n := f.codesLeft(userID); n != want {
		f.t.Errorf("RecoveryCodesLeft(%s) = %d, want %d", what, n, want)
	}
}

func testReplaceRecoveryCodes(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	bob := f.user("bob", shared.RoleViewer)
	f.wantLeft("alice, never given any", alice.ID, 0)

	first := codes("a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9")
	f.replaceCodes(alice.ID, first)
	f.replaceCodes(bob.ID, codes("b0", "b1"))
	f.wantLeft("alice", alice.ID, 10)

	// Binary hashes of any length, a zero byte and high bytes among them;
	// one given twice.
	odd := []byte{0x00, 0xff, 0x80, 0x00}
	f.replaceCodes(alice.ID, [][]byte{code("c0"), odd, code("c1"), code("c0")})
	f.wantLeft("alice, after a replacement with a hash twice", alice.ID, 3)
	f.wantConsume("alice's code of before", alice.ID, first[0], consumed{false, 3})
	f.wantConsume("alice's new binary code", alice.ID, odd, consumed{true, 2})
	f.wantConsume("alice's new code given twice", alice.ID, code("c0"), consumed{true, 1})
	f.wantConsume("alice's new code given twice, again", alice.ID, code("c0"), consumed{false, 1})
	f.wantLeft("bob, whose codes were not replaced", bob.ID, 2)

	for _, none := range [][][]byte{nil, {}} {
		f.replaceCodes(alice.ID, codes("d0"))
		f.replaceCodes(alice.ID, none)
		f.wantLeft(fmt.Sprintf("alice, after a replacement with %#v", none), alice.ID, 0)
		f.wantConsume("alice's code of before", alice.ID, code("d0"), consumed{false, 0})
	}
	f.wantLeft("bob", bob.ID, 2)

	// In one transaction, replaced twice: the last set stands.
	f.update(func(tx store.Tx) error {
		if err := tx.ReplaceRecoveryCodes(f.ctx, alice.ID, codes("e0", "e1")); err != nil {
			return err
		}
		if n, err := tx.RecoveryCodesLeft(f.ctx, alice.ID); err != nil || n != 2 {
			t.Errorf("RecoveryCodesLeft in the transaction = %d, %v; want 2", n, err)
		}
		return tx.ReplaceRecoveryCodes(f.ctx, alice.ID, codes("e1", "e2", "e3"))
	})
	f.wantConsume("alice's code of the first set", alice.ID, code("e0"), consumed{false, 3})
	f.wantConsume("alice's code of both sets", alice.ID, code("e1"), consumed{true, 2})
}

func testConsumeRecoveryCode(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	f.replaceCodes(alice.ID, codes("c1", "c2", "c3"))
	f.wantConsume("c2", alice.ID, code("c2"), consumed{true, 2})
	f.wantConsume("c2 again", alice.ID, code("c2"), consumed{false, 2})
	f.wantConsume("a code never given", alice.ID, code("zz"), consumed{false, 2})
	f.wantConsume("an empty hash", alice.ID, nil, consumed{false, 2})
	f.wantConsume("a prefix of c1", alice.ID, code("c1")[:16], consumed{false, 2})
	f.wantConsume("c1", alice.ID, code("c1"), consumed{true, 1})
	f.wantLeft("alice", alice.ID, 1)

	// Within one transaction, the second consume sees the first.
	f.update(func(tx store.Tx) error {
		for i, want := range []consumed{{true, 0}, {false, 0}} {
			used, left, err := tx.ConsumeRecoveryCode(f.ctx, alice.ID, code("c3"))
			if err != nil {
				return err
			}
			if got := (consumed{used, left}); got != want {
				t.Errorf("ConsumeRecoveryCode(c3) #%d in one transaction = %+v, want %+v", i+1, got, want)
			}
		}
		if n, err := tx.RecoveryCodesLeft(f.ctx, alice.ID); err != nil || n != 0 {
			t.Errorf("RecoveryCodesLeft in the transaction = %d, %v; want 0", n, err)
		}
		return nil
	})
	f.wantLeft("alice, every code used", alice.ID, 0)
}

func testRecoveryCodeOwner(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	bob := f.user("bob", shared.RoleViewer)
	carol := f.user("carol", shared.RoleViewer)
	f.replaceCodes(alice.ID, codes("shared", "alice-only"))
	f.replaceCodes(bob.ID, codes("shared", "bob-only"))

	f.wantConsume("alice, with bob's code", alice.ID, code("bob-only"), consumed{false, 2})
	f.wantLeft("bob, after alice tried his code", bob.ID, 2)
	f.wantConsume("alice, with the hash both have", alice.ID, code("shared"), consumed{true, 1})
	f.wantLeft("bob, after alice used the hash both have", bob.ID, 2)
	f.wantConsume("carol, who has none, with the hash both have", carol.ID, code("shared"), consumed{false, 0})
	f.wantConsume("a user who does not exist", carol.ID+1000, code("shared"), consumed{false, 0})
	f.wantConsume("bob, with the hash both have", bob.ID, code("shared"), consumed{true, 1})
	f.wantConsume("bob, with his own", bob.ID, code("bob-only"), consumed{true, 0})
	f.wantConsume("alice, with her own", alice.ID, code("alice-only"), consumed{true, 0})
}

func testRecoveryCodesNoUser(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	missing := u.ID + 1000
	f.wantLeft("a user who does not exist", missing, 0)
	for _, hashes := range [][][]byte{codes("x"), nil} {
		err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.ReplaceRecoveryCodes(f.ctx, missing, hashes) })
		checkErr(t, fmt.Sprintf("ReplaceRecoveryCodes(a user who does not exist, %d codes)", len(hashes)), err, store.ErrNotFound)
	}
	f.wantLeft("a user who does not exist", missing, 0)
	// The user created next gets another ID, and no codes.
	next := f.user("bob", shared.RoleViewer)
	f.wantLeft("the next user", next.ID, 0)
}

func testDeleteUserRemovesCodes(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	bob := f.user("bob", shared.RoleViewer)
	f.replaceCodes(alice.ID, codes("shared", "a1", "a2"))
	f.replaceCodes(bob.ID, codes("shared", "b1"))
	f.update(func(tx store.Tx) error { return tx.DeleteUser(f.ctx, alice.ID) })
	f.wantLeft("alice, deleted", alice.ID, 0)
	f.wantConsume("alice, deleted", alice.ID, code("a1"), consumed{false, 0})
	f.wantLeft("bob", bob.ID, 2)
	// A user of the same name is another user.
	again := f.user("alice", shared.RoleViewer)
	f.wantLeft("the new alice", again.ID, 0)
	f.wantConsume("bob, with the hash both had", bob.ID, code("shared"), consumed{true, 1})
}

func testConsumeRolledBack(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	f.replaceCodes(alice.ID, codes("c1", "c2", "c3"))
	errBoom := errors.New("boom")
	err := f.s.Update(f.ctx, func(tx store.Tx) error {
		used, left, err := tx.ConsumeRecoveryCode(f.ctx, alice.ID, code("c1"))
		if err != nil {
			return err
		}
		if !used || left != 2 {
			t.Errorf("ConsumeRecoveryCode(c1) = used %t, %d left; want used, 2 left", used, left)
		}
		if err := tx.ReplaceRecoveryCodes(f.ctx, alice.ID, nil); err != nil {
			return err
		}
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("Update = %v, want %v", err, errBoom)
	}
	f.wantLeft("alice, after a rolled back consume and replacement", alice.ID, 3)
	f.wantConsume("c1", alice.ID, code("c1"), consumed{true, 2})
}

func testCreateChallenge(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	for _, tc := range []struct {
		name   string
		modify func(*store.Challenge)
	}{
		{"a new challenge", nil},
		{"times in a time zone, below the millisecond", func(c *store.Challenge) {
			c.CreatedAt = time.Date(2025, 6, 1, 17, 45, 1, 123_456_789, india)
			c.ExpiresAt = c.CreatedAt.Add(5*time.Minute + 999_999)
		}},
		{"a challenge tried and used", func(c *store.Challenge) {
			c.Attempts = 4
			c.UsedAt = ptr(base.Add(time.Minute + 123_456_789).In(india))
		}},
		{"a challenge without a device", func(c *store.Challenge) { c.Device = "" }},
		{"a device token of any text", func(c *store.Challenge) { c.Device = "dévice “token” 🦀 'x' \"y\"" }},
		{"a sign-in that asked for the refresh token as a cookie only", func(c *store.Challenge) { c.CookieOnly = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.sub(t)
			c := f.challenge(alice, base, tc.modify)
			got, err := f.getChallenge(c.ID)
			f.must(err, "LockChallenge(%q)", c.ID)
			checkChallenge(t, got, c)
		})
	}
}

func testSaveChallenge(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	bob := f.user("bob", shared.RoleViewer)
	c := f.challenge(alice, base, nil)
	bystander := f.challenge(alice, base, nil)

	want := *c
	for i, step := range []struct {
		name     string
		attempts int
		used     *time.Time
	}{
		{"a failed attempt", 1, nil},
		{"another", 2, nil},
		{"a success", 3, ptr(base.Add(time.Minute + 123_456_789).In(india))},
		{"the use lifted", 3, nil},
	} {
		want.Attempts, want.UsedAt = step.attempts, step.used
		// The ID selects the row; nothing but the attempts and the use is
		// written.
		save := want
		save.UserID, save.Device, save.CookieOnly = bob.ID, fmt.Sprintf("another device %d", i), !want.CookieOnly
		save.CreatedAt, save.ExpiresAt = base.Add(-time.Hour), base.Add(time.Hour)
		f.update(func(tx store.Tx) error { return tx.SaveChallenge(f.ctx, &save) })
		got, err := f.getChallenge(c.ID)
		f.must(err, "LockChallenge after %s", step.name)
		checkChallenge(t, got, &want)
	}
	got, err := f.getChallenge(bystander.ID)
	f.must(err, "LockChallenge(bystander)")
	checkChallenge(t, got, bystander)

	// Locked, changed and saved in one transaction, then read in it.
	f.update(func(tx store.Tx) error {
		got, err := tx.LockChallenge(f.ctx, c.ID)
		if err != nil {
			return err
		}
		got.Attempts++
		if err := tx.SaveChallenge(f.ctx, got); err != nil {
			return err
		}
		again, err := tx.LockChallenge(f.ctx, c.ID)
		if err != nil {
			return err
		}
		want.Attempts = 4
		checkChallenge(t, again, &want)
		return nil
	})
}

func testCreateChallengeConflict(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	bob := f.user("bob", shared.RoleViewer)
	c := f.challenge(alice, base, nil)
	dup := newChallenge(bob, base.Add(time.Hour))
	dup.ID, dup.Attempts, dup.Device = c.ID, 3, "intruder"
	err := f.s.Update(f.ctx, func(tx store.Tx) error { return tx.CreateChallenge(f.ctx, dup) })
	checkErr(t, "CreateChallenge(taken ID)", err, store.ErrConflict)
	got, err := f.getChallenge(c.ID)
	f.must(err, "LockChallenge")
	checkChallenge(t, got, c)

	// The refusal leaves the transaction usable.
	other := newChallenge(bob, base)
	f.update(func(tx store.Tx) error {
		if err := tx.CreateChallenge(f.ctx, dup); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateChallenge(taken ID) = %v, want ErrConflict", err)
		}
		return tx.CreateChallenge(f.ctx, other)
	})
	got, err = f.getChallenge(other.ID)
	f.must(err, "LockChallenge(created after a refusal)")
	checkChallenge(t, got, other)
}

func testChallengeNotFound(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	c := f.challenge(u, base, nil)
	ghost := &store.User{User: shared.User{ID: u.ID + 1000, Username: "ghost"}}
	orphan := newChallenge(ghost, base)
	for _, tc := range []struct {
		name string
		call func(tx store.Tx) error
	}{
		{"CreateChallenge of a user who does not exist", func(tx store.Tx) error { return tx.CreateChallenge(f.ctx, orphan) }},
		{"CreateChallenge of user 0", func(tx store.Tx) error {
			o := newChallenge(&store.User{}, base)
			return tx.CreateChallenge(f.ctx, o)
		}},
		{"LockChallenge of an unknown ID", func(tx store.Tx) error {
			_, err := tx.LockChallenge(f.ctx, "no-such-challenge")
			return err
		}},
		{"LockChallenge of an empty ID", func(tx store.Tx) error {
			_, err := tx.LockChallenge(f.ctx, "")
			return err
		}},
		{"SaveChallenge of an unknown ID", func(tx store.Tx) error {
			missing := *c
			missing.ID = "no-such-challenge"
			return tx.SaveChallenge(f.ctx, &missing)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var inner error
			err := f.s.Update(t.Context(), func(tx store.Tx) error {
				inner = tc.call(tx)
				return inner
			})
			checkErr(t, tc.name, inner, store.ErrNotFound)
			checkErr(t, "Update", err, store.ErrNotFound)
		})
	}
	_, err := f.getChallenge(orphan.ID)
	checkErr(t, "LockChallenge(refused challenge)", err, store.ErrNotFound)
	_, err = f.getChallenge("no-such-challenge")
	checkErr(t, "LockChallenge(challenge that was saved but not created)", err, store.ErrNotFound)
	got, err := f.getChallenge(c.ID)
	f.must(err, "LockChallenge")
	checkChallenge(t, got, c)
}

func testDeleteUserRemovesChallenges(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	bob := f.user("bob", shared.RoleViewer)
	gone := []*store.Challenge{
		f.challenge(alice, base, nil),
		f.challenge(alice, base.Add(time.Minute), func(c *store.Challenge) { c.UsedAt = ptr(base.Add(2 * time.Minute)) }),
	}
	kept := f.challenge(bob, base, nil)
	f.update(func(tx store.Tx) error { return tx.DeleteUser(f.ctx, alice.ID) })
	for _, c := range gone {
		_, err := f.getChallenge(c.ID)
		checkErr(t, "LockChallenge(challenge of a deleted user)", err, store.ErrNotFound)
		err = f.s.Update(f.ctx, func(tx store.Tx) error { return tx.SaveChallenge(f.ctx, c) })
		checkErr(t, "SaveChallenge(challenge of a deleted user)", err, store.ErrNotFound)
	}
	got, err := f.getChallenge(kept.ID)
	f.must(err, "LockChallenge(bob's)")
	checkChallenge(t, got, kept)
}
