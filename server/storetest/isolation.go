package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/server/store"
	"gatehouse/shared"
)

// The isolation tests check what Store.Update and the Lock* reads promise:
// transactions behave as if they ran one after the other, and what a Lock*
// read returns stays as it is until its transaction ends. They observe
// outcomes only — what each transaction read, what was left — never where
// a transaction waits, so that a store may serialise with one lock, hold
// rows, or run fn again after a conflict.
var isolationTests = []test{
	{"concurrent transactions raising a session's refresh generation lose no update", testLostUpdateSession},
	{"concurrent transactions counting failures under one key lose no update", testLostUpdateAttempts},
	{"concurrent transactions appending to a user's full name lose no update", testLostUpdateUser},
	{"LockSession holds the session until its transaction ends", testHoldSession},
	{"LockUser holds the user until its transaction ends", testHoldUser},
	{"LockAttempts holds the key, failed before or not, until its transaction ends", testHoldAttempts},
	{"LockChallenge holds the challenge until its transaction ends", testHoldChallenge},
	{"concurrent transactions counting a challenge's attempts lose no update", testLostUpdateChallenge},
	{"of concurrent transactions consuming one recovery code, exactly one finds it", testConcurrentConsumeOneCode},
	{"concurrent transactions consuming a user's different codes each find theirs and count down", testConcurrentConsumeCodes},
}

// concurrency is how many transactions the lost-update tests run at once.
const concurrency = 20

// widen is how long a transaction of the lost-update tests waits between
// its read and its write, so that the transactions a broken store lets run
// side by side surely overlap.
const widen = time.Millisecond

// holdFor is how long a transaction that must wait for another is watched
// not to end.
const holdFor = 200 * time.Millisecond

// concurrently runs fn(0), …, fn(n-1) at once, each in a goroutine of its
// own, and returns their errors.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// counts runs concurrency transactions at once, each of which reads a
// counter with inc, waits a moment, writes it raised by one, and returns
// what it read. It checks that every transaction committed, that each read
// a value of its own, and that the counter, read back with final, ends
// concurrency above start.
func (f *fixture) counts(what string, start int, inc func(tx store.Tx) (read int, err error), final func() int) {
	f.t.Helper()
	reads := make([]int, concurrency)
	errs := concurrently(concurrency, func(i int) error {
		return f.s.Update(f.ctx, func(tx store.Tx) (err error) {
			reads[i], err = inc(tx)
			return err
		})
	})
	failed := false
	for i, err := range errs {
		if err != nil {
			f.t.Errorf("%s: transaction %d: %v", what, i, err)
			failed = true
		}
	}
	if got, want := final(), start+concurrency; got != want {
		f.t.Errorf("%s: %d transactions raising %d by one left %d, want %d", what, concurrency, start, got, want)
	}
	if failed {
		return
	}
	want := make([]int, concurrency)
	for i := range want {
		want[i] = start + i
	}
	if got := slices.Sorted(slices.Values(reads)); !slices.Equal(got, want) {
		f.t.Errorf("%s: the transactions read %v, want each of %v once", what, got, want)
	}
}

func testLostUpdateSession(t *testing.T, f *fixture) {
	s := f.session(f.user("alice", shared.RoleViewer), base, nil)
	f.counts("RefreshGen", 0, func(tx store.Tx) (int, error) {
		got, err := tx.LockSession(f.ctx, s.ID)
		if err != nil {
			return 0, err
		}
		read := got.RefreshGen
		time.Sleep(widen)
		got.RefreshGen++
		got.RotatedAt = base.Add(time.Duration(got.RefreshGen) * time.Minute)
		return int(read), tx.SaveSession(f.ctx, got)
	}, func() int {
		got := f.getSession(s.ID)
		if want := base.Add(concurrency * time.Minute); !sameTime(got.RotatedAt, want) {
			t.Errorf("RotatedAt = %v, want %v, written with the last generation", got.RotatedAt, want)
		}
		return int(got.RefreshGen)
	})
}

func testLostUpdateAttempts(t *testing.T, f *fixture) {
	const key = "account:alice"
	f.counts("Failures", 0, func(tx store.Tx) (int, error) {
		a, err := tx.LockAttempts(f.ctx, key)
		if err != nil {
			return 0, err
		}
		read := a.Failures
		time.Sleep(widen)
		a.Failures++
		a.LastFailure = base.Add(time.Duration(a.Failures) * time.Minute)
		return read, tx.SaveAttempts(f.ctx, a)
	}, func() int {
		a := f.attempts(key)
		checkAttempts(t, a, &store.Attempts{Key: key, Failures: concurrency, LastFailure: base.Add(concurrency * time.Minute)})
		return a.Failures
	})
	checkAttempts(t, f.attempts("account:bob"), &store.Attempts{Key: "account:bob"})
}

func testLostUpdateUser(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	u.FullName = ""
	f.update(func(tx store.Tx) error { return tx.SaveUser(f.ctx, u) })
	const mark = "[%02d]"
	f.counts("FullName", 0, func(tx store.Tx) (int, error) {
		got, err := tx.LockUser(f.ctx, u.ID)
		if err != nil {
			return 0, err
		}
		read := len(got.FullName) / len(fmt.Sprintf(mark, 0))
		time.Sleep(widen)
		got.FullName += fmt.Sprintf(mark, read)
		return read, tx.SaveUser(f.ctx, got)
	}, func() int {
		name := f.getUser(u.ID).FullName
		want := ""
		for i := range concurrency {
			want += fmt.Sprintf(mark, i)
		}
		if name != want {
			t.Errorf("FullName = %q, want %q", name, want)
		}
		return strings.Count(name, "[")
	})
}

// holds runs first in a transaction, which calls pause once it has read
// what it holds. While it is paused, second runs in a transaction of its
// own and must not end, however long the first pauses (holdFor here); then
// first goes on, and both must commit. The caller checks what each saw and
// what they left. A store may run either function more than once.
func (f *fixture) holds(first func(tx store.Tx, pause func()) error, second func(tx store.Tx) error) {
	t := f.t
	t.Helper()
	paused, resume := make(chan struct{}), make(chan struct{})
	var pausedOnce, resumeOnce sync.Once
	pause := func() {
		pausedOnce.Do(func() { close(paused) })
		<-resume
	}
	goOn := func() { resumeOnce.Do(func() { close(resume) }) }
	defer goOn()

	firstDone := make(chan error, 1)
	go func() {
		firstDone <- f.s.Update(f.ctx, func(tx store.Tx) error { return first(tx, pause) })
	}()
	select {
	case <-paused:
	case err := <-firstDone:
		t.Fatalf("the first transaction ended before it held anything: %v", err)
	}

	secondDone := make(chan error, 1)
	go func() { secondDone <- f.s.Update(f.ctx, second) }()
	var secondErr error
	secondEnded := false
	select {
	case secondErr = <-secondDone:
		secondEnded = true
		t.Errorf("the second transaction ended (error: %v) while the first held what it read; want it to wait until the first ends", secondErr)
	case <-time.After(holdFor):
	}
	goOn()
	if err := <-firstDone; err != nil {
		t.Errorf("the first transaction: %v", err)
	}
	if !secondEnded {
		secondErr = <-secondDone
	}
	if secondErr != nil {
		t.Errorf("the second transaction: %v", secondErr)
	}
}

func testHoldSession(t *testing.T, f *fixture) {
	s := f.session(f.user("alice", shared.RoleViewer), base, nil)
	other := f.session(f.user("bob", shared.RoleViewer), base, nil)
	secondRead := int64(-1)
	f.holds(func(tx store.Tx, pause func()) error {
		got, err := tx.LockSession(f.ctx, s.ID)
		if err != nil {
			return err
		}
		pause()
		got.RefreshGen++
		return tx.SaveSession(f.ctx, got)
	}, func(tx store.Tx) error {
		got, err := tx.LockSession(f.ctx, s.ID)
		if err != nil {
			return err
		}
		secondRead = got.RefreshGen
		got.RefreshGen++
		return tx.SaveSession(f.ctx, got)
	})
	if secondRead != 1 {
		t.Errorf("the second transaction read generation %d, want 1, which the first wrote", secondRead)
	}
	want := *s
	want.RefreshGen = 2
	checkSession(t, f.getSession(s.ID), &want)
	checkSession(t, f.getSession(other.ID), other)
}

func testHoldUser(t *testing.T, f *fixture) {
	u := f.user("alice", shared.RoleViewer)
	secondRead := ""
	f.holds(func(tx store.Tx, pause func()) error {
		got, err := tx.LockUser(f.ctx, u.ID)
		if err != nil {
			return err
		}
		pause()
		got.FullName += " first"
		return tx.SaveUser(f.ctx, got)
	}, func(tx store.Tx) error {
		got, err := tx.LockUser(f.ctx, u.ID)
		if err != nil {
			return err
		}
		secondRead = got.FullName
		got.FullName += " second"
		return tx.SaveUser(f.ctx, got)
	})
	if want := u.FullName + " first"; secondRead != want {
		t.Errorf("the second transaction read the full name %q, want %q, which the first wrote", secondRead, want)
	}
	want := *u
	want.FullName += " first second"
	checkUser(t, f.getUser(u.ID), &want)
}

func testHoldAttempts(t *testing.T, f *fixture) {
	for _, tc := range []struct {
		name  string
		start int
	}{
		{"a key failed before", 3},
		{"a key never failed", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.fresh(t)
			const key = "device:0123456789abcdef"
			if tc.start > 0 {
				f.saveAttempts(&store.Attempts{Key: key, Failures: tc.start, LastFailure: base})
			}
			secondRead := -1
			f.holds(func(tx store.Tx, pause func()) error {
				a, err := tx.LockAttempts(f.ctx, key)
				if err != nil {
					return err
				}
				pause()
				a.Failures++
				a.LastFailure = base.Add(time.Minute)
				return tx.SaveAttempts(f.ctx, a)
			}, func(tx store.Tx) error {
				a, err := tx.LockAttempts(f.ctx, key)
				if err != nil {
					return err
				}
				secondRead = a.Failures
				a.Failures++
				a.LastFailure = base.Add(2 * time.Minute)
				return tx.SaveAttempts(f.ctx, a)
			})
			if secondRead != tc.start+1 {
				t.Errorf("the second transaction read %d failures, want %d, which the first wrote", secondRead, tc.start+1)
			}
			checkAttempts(t, f.attempts(key), &store.Attempts{Key: key, Failures: tc.start + 2, LastFailure: base.Add(2 * time.Minute)})
		})
	}
}

func testHoldChallenge(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	c := f.challenge(alice, base, nil)
	other := f.challenge(alice, base, nil)
	secondRead := -1
	used := base.Add(time.Minute)
	f.holds(func(tx store.Tx, pause func()) error {
		got, err := tx.LockChallenge(f.ctx, c.ID)
		if err != nil {
			return err
		}
		pause()
		got.Attempts++
		got.UsedAt = &used
		return tx.SaveChallenge(f.ctx, got)
	}, func(tx store.Tx) error {
		got, err := tx.LockChallenge(f.ctx, c.ID)
		if err != nil {
			return err
		}
		secondRead = got.Attempts
		if got.UsedAt == nil {
			t.Error("the second transaction read the challenge unused, want the use the first wrote")
		}
		got.Attempts++
		return tx.SaveChallenge(f.ctx, got)
	})
	if secondRead != 1 {
		t.Errorf("the second transaction read %d attempts, want 1, which the first wrote", secondRead)
	}
	want := *c
	want.Attempts, want.UsedAt = 2, &used
	got, err := f.getChallenge(c.ID)
	f.must(err, "LockChallenge")
	checkChallenge(t, got, &want)
	got, err = f.getChallenge(other.ID)
	f.must(err, "LockChallenge(other)")
	checkChallenge(t, got, other)
}

func testLostUpdateChallenge(t *testing.T, f *fixture) {
	c := f.challenge(f.user("alice", shared.RoleViewer), base, nil)
	f.counts("Attempts", 0, func(tx store.Tx) (int, error) {
		got, err := tx.LockChallenge(f.ctx, c.ID)
		if err != nil {
			return 0, err
		}
		read := got.Attempts
		time.Sleep(widen)
		got.Attempts++
		return read, tx.SaveChallenge(f.ctx, got)
	}, func() int {
		got, err := f.getChallenge(c.ID)
		f.must(err, "LockChallenge")
		return got.Attempts
	})
}

func testConcurrentConsumeOneCode(t *testing.T, f *fixture) {
	alice := f.user("alice", shared.RoleViewer)
	bob := f.user("bob", shared.RoleViewer)
	f.replaceCodes(alice.ID, codes("c0", "c1", "c2"))
	f.replaceCodes(bob.ID, codes("c0"))
	results := make([]consumed, concurrency)
	errs := concurrently(concurrency, func(i int) error {
		return f.s.Update(f.ctx, func(tx store.Tx) error {
			used, left, err := tx.ConsumeRecoveryCode(f.ctx, alice.ID, code("c1"))
			if err != nil {
				return err
			}
			results[i] = consumed{used, left} // the last run's answer
			time.Sleep(widen)
			return nil
		})
	})
	winners := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d: %v", i, err)
			continue
		}
		if results[i].used {
			winners++
		}
		if results[i].left != 2 {
			t.Errorf("transaction %d: %d codes left, want 2", i, results[i].left)
		}
	}
	if winners != 1 {
		t.Errorf("%d of %d concurrent transactions consumed one code, want exactly 1", winners, concurrency)
	}
	f.wantLeft("alice", alice.ID, 2)
	f.wantLeft("bob", bob.ID, 1)
	f.wantConsume("c1 once more", alice.ID, code("c1"), consumed{false, 2})
}

func testConcurrentConsumeCodes(t *testing.T, f *fixture) {
	const n = 10
	alice := f.user("alice", shared.RoleViewer)
	var names []string
	for i := range n + 2 {
		names = append(names, fmt.Sprint("c", i))
	}
	f.replaceCodes(alice.ID, codes(names...))
	results := make([]consumed, n)
	errs := concurrently(n, func(i int) error {
		return f.s.Update(f.ctx, func(tx store.Tx) error {
			used, left, err := tx.ConsumeRecoveryCode(f.ctx, alice.ID, code(names[i]))
			if err != nil {
				return err
			}
			results[i] = consumed{used, left}
			time.Sleep(widen)
			return nil
		})
	})
	var lefts []int
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d: %v", i, err)
			continue
		}
		if !results[i].used {
			t.Errorf("transaction %d did not find its code", i)
		}
		lefts = append(lefts, results[i].left)
	}
	// As if one after the other: each saw the ones before it.
	want := []int{}
	for i := range n {
		want = append(want, 2+i)
	}
	if got := slices.Sorted(slices.Values(lefts)); !slices.Equal(got, want) {
		t.Errorf("the transactions counted %v codes left, want each of %v once", got, want)
	}
	f.wantLeft("alice", alice.ID, 2)
}
