package storetest

import (
	"strings"
	"testing"
	"time"

	"gatehouse/server/store"
)

var attemptTests = []test{
	{"LockAttempts of a key that never failed answers no failures, not an error", testAttemptsUnknown},
	{"SaveAttempts stores the count and the time and replaces them", testSaveAttempts},
	{"SaveAttempts with no failures removes the key", testSaveAttemptsZero},
	{"attempt keys are matched exactly", testAttemptKeys},
	{"AttemptKeys finds the keys with failures that begin with a prefix, byte-wise", testAttemptKeysByPrefix},
}

func testAttemptKeysByPrefix(t *testing.T, f *fixture) {
	for _, k := range []string{"device:al:x", "device:alice:b", "device:alice:a", "device:alice:", "device:alice", "device:alicf:a",
		"device:ALICE:a", "device:alice:é", "Device:alice:a", "user:alice", "device:al%ce:a", "device:al_ce:a"} {
		f.saveAttempts(&store.Attempts{Key: k, Failures: 1, LastFailure: base})
	}
	f.saveAttempts(&store.Attempts{Key: "device:alice:gone", Failures: 1, LastFailure: base})
	f.saveAttempts(&store.Attempts{Key: "device:alice:gone"}) // removed
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"device:alice:", []string{"device:alice:", "device:alice:a", "device:alice:b", "device:alice:é"}},
		{"device:al%", []string{"device:al%ce:a"}},
		{"device:al_", []string{"device:al_ce:a"}},
		{"device:bob:", []string{}},
		{"user:alice", []string{"user:alice"}},
	} {
		var got []string
		f.update(func(tx store.Tx) (err error) {
			got, err = tx.AttemptKeys(f.ctx, tc.prefix)
			return err
		})
		if got == nil || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("AttemptKeys(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

func testAttemptsUnknown(t *testing.T, f *fixture) {
	for _, key := range []string{"account:alice", "ip:2001:db8::1"} {
		checkAttempts(t, f.attempts(key), &store.Attempts{Key: key})
	}
	// Reading creates nothing: still none after the transaction.
	checkAttempts(t, f.attempts("account:alice"), &store.Attempts{Key: "account:alice"})
}

func testSaveAttempts(t *testing.T, f *fixture) {
	const key = "account:alice"
	first := &store.Attempts{Key: key, Failures: 1, LastFailure: time.Date(2025, 6, 1, 17, 45, 1, 123_456_789, india)}
	f.saveAttempts(first)
	checkAttempts(t, f.attempts(key), first)

	next := &store.Attempts{Key: key, Failures: 7, LastFailure: first.LastFailure.Add(time.Hour)}
	f.saveAttempts(next)
	checkAttempts(t, f.attempts(key), next)

	// A count may also go down, and the time back.
	back := &store.Attempts{Key: key, Failures: 2, LastFailure: base}
	f.saveAttempts(back)
	checkAttempts(t, f.attempts(key), back)

	// Read and written in one transaction, as the throttle does.
	f.update(func(tx store.Tx) error {
		a, err := tx.LockAttempts(f.ctx, key)
		if err != nil {
			return err
		}
		checkAttempts(t, a, back)
		a.Failures++
		a.LastFailure = base.Add(time.Minute)
		if err := tx.SaveAttempts(f.ctx, a); err != nil {
			return err
		}
		a, err = tx.LockAttempts(f.ctx, key)
		if err != nil {
			return err
		}
		checkAttempts(t, a, &store.Attempts{Key: key, Failures: 3, LastFailure: base.Add(time.Minute)})
		return nil
	})
	checkAttempts(t, f.attempts(key), &store.Attempts{Key: key, Failures: 3, LastFailure: base.Add(time.Minute)})
}

func testSaveAttemptsZero(t *testing.T, f *fixture) {
	const key = "account:alice"
	other := &store.Attempts{Key: "account:bob", Failures: 4, LastFailure: base}
	f.saveAttempts(other)
	f.saveAttempts(&store.Attempts{Key: key, Failures: 5, LastFailure: base})

	f.saveAttempts(&store.Attempts{Key: key, Failures: 0, LastFailure: base.Add(time.Hour)})
	checkAttempts(t, f.attempts(key), &store.Attempts{Key: key})
	checkAttempts(t, f.attempts(other.Key), other)

	// Again, and for a key that never failed: nothing to remove is no error.
	f.saveAttempts(&store.Attempts{Key: key})
	f.saveAttempts(&store.Attempts{Key: "account:carol"})
	checkAttempts(t, f.attempts(key), &store.Attempts{Key: key})
	checkAttempts(t, f.attempts("account:carol"), &store.Attempts{Key: "account:carol"})

	// The key can fail again after its removal.
	again := &store.Attempts{Key: key, Failures: 1, LastFailure: base.Add(2 * time.Hour)}
	f.saveAttempts(again)
	checkAttempts(t, f.attempts(key), again)
}

func testAttemptKeys(t *testing.T, f *fixture) {
	long := "device:" + strings.Repeat("0123456789abcdef", 24) // 391 bytes
	keys := []string{
		"account:alice",
		"account:Alice",
		"account:alice ",
		"account:alic",
		"account:alice%",
		"account:alice_",
		"account:émilie",
		"account:ÉMILIE",
		"ip:192.0.2.1",
		"ip:192.0.2.10",
		long,
		long[:len(long)-1],
	}
	for i, key := range keys {
		f.saveAttempts(&store.Attempts{Key: key, Failures: i + 1, LastFailure: base.Add(time.Duration(i) * time.Second)})
	}
	for i, key := range keys {
		checkAttempts(t, f.attempts(key), &store.Attempts{Key: key, Failures: i + 1, LastFailure: base.Add(time.Duration(i) * time.Second)})
	}
	for _, key := range []string{"account:ALICE", "account:", "account:alice%%", "ip:192.0.2", long + "0"} {
		checkAttempts(t, f.attempts(key), &store.Attempts{Key: key})
	}
	// Removing one removes that one only.
	f.saveAttempts(&store.Attempts{Key: "account:Alice"})
	checkAttempts(t, f.attempts("account:Alice"), &store.Attempts{Key: "account:Alice"})
	checkAttempts(t, f.attempts("account:alice"), &store.Attempts{Key: "account:alice", Failures: 1, LastFailure: base})
}
