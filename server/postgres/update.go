package postgres

import (
	"context"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"gatehouse/server/store"
)

// Retries of Update. A run that conflicts runs again after a pause drawn
// from [d/2, d], d doubling from minPause up to maxPause, at most maxRuns
// times in all and never past the operation timeout.
const (
	maxRuns  = 20
	minPause = 2 * time.Millisecond
	maxPause = 100 * time.Millisecond
	// maxHeld bounds how many keys a run takes before its snapshot.
	maxHeld = 16
)

// Channel is the channel of Notify and Listen.
const Channel = "gatehouse"

// errDone is the error of a Tx used after its Update returned.
var errDone = errors.New("postgres: the transaction was used after its Update returned")

// Update runs fn in a SERIALIZABLE transaction and commits it if fn
// returns nil; otherwise it rolls back and returns fn's error as it is.
//
// When PostgreSQL reports a serialization failure or a deadlock, in one of
// fn's calls or at commit, Update rolls back and runs fn again, after a
// short random pause, up to maxRuns times within the operation timeout;
// past that it returns the last error, which wraps store.ErrUnavailable
// (or is fn's own, if fn returned one).
//
// Every Lock* call also takes a transaction-scoped advisory lock on what it
// holds. A run that follows a conflict takes the advisory locks of the runs
// before it first, as session locks in the order those runs took them, and
// only then begins its transaction: its snapshot is taken after every
// transaction holding them has ended, so it reads what they wrote and does
// not conflict with them again. N concurrent read-modify-writes of one row
// or key thus cost about one extra run each, where they would otherwise
// keep failing one another, up to N runs for the last to commit.
func (d *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	ctx, cancel := d.op(ctx)
	defer cancel()
	var held []int64
	for run := 1; ; run++ {
		keys, again, err := d.run(ctx, held, fn)
		if !again || run == maxRuns {
			return err
		}
		held = merge(held, keys)
		pause := min(maxPause, minPause<<(run-1))
		pause = pause/2 + rand.N(pause/2+1)
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return err
		}
	}
}

// run runs fn once in a transaction on a connection of its own, having
// first taken the session advisory locks held. It returns the keys fn
// locked, whether to run again, and the error to return if not: fn's own,
// or the store's.
func (d *DB) run(ctx context.Context, held []int64, fn func(store.Tx) error) (keys []int64, again bool, err error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, false, d.fail(ctx, "update", err)
	}
	defer conn.Release() // destroys a connection left in a transaction
	if len(held) > 0 {
		defer d.unlock(ctx, conn)
		for _, k := range held {
			if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", k); err != nil {
				return nil, retryable(err), d.fail(ctx, "update", err)
			}
		}
	}
	ptx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return nil, false, d.fail(ctx, "update", err)
	}
	t := &tx{ctx: ctx, ptx: ptx}
	t.reads = reads{d: d, q: ptx, tx: t}
	defer t.end() // also when fn panics

	if err := fn(t); err != nil {
		keys, conflict := t.end()
		ptx.Rollback(ctx)
		return keys, conflict, err
	}
	keys, conflict := t.end()
	if err := ptx.Commit(ctx); err != nil {
		return keys, conflict || retryable(err), d.fail(ctx, "update", err)
	}
	return keys, false, nil
}

// unlock releases the session advisory locks of conn, closing conn if
// that fails, so that no lock goes back to the pool.
func (d *DB) unlock(ctx context.Context, conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timeout)
	defer cancel()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock_all()"); err != nil {
		conn.Conn().Close(ctx)
	}
}

// merge returns the keys of a and b in the order they were first taken,
// without duplicates, at most maxHeld of them. A run takes them in that
// order, as the runs before it did: in any other (sorted, say), it would
// hold a key while waiting for one that a first run holds while waiting
// for it — a deadlock PostgreSQL breaks only after deadlock_timeout.
func merge(a, b []int64) []int64 {
	var out []int64
	for _, k := range slices.Concat(a, b) {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out[:min(len(out), maxHeld)]
}

// lockKey returns the advisory lock key of what a Lock* call holds: a hash
// of its kind and name, in a space of its own.
func lockKey(kind, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("gatehouse\x00" + kind + "\x00" + name))
	return int64(h.Sum64())
}

// tx is a store.Tx on one PostgreSQL transaction. Its calls take turns:
// each holds mu while it runs.
type tx struct {
	reads
	ctx context.Context // the Update's: bounds every call
	ptx pgx.Tx

	mu       sync.Mutex
	done     bool    // the Update has returned, or is about to
	conflict bool    // a call failed with a serialization failure or deadlock
	keys     []int64 // the advisory locks taken
}

// enter returns ctx bounded by the Update's context, and a function that
// ends the call, having taken the transaction for the call. A transaction
// whose Update has returned fails.
func (t *tx) enter(ctx context.Context) (context.Context, func(), error) {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return nil, nil, errDone
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(t.ctx, func() { cancel(context.Cause(t.ctx)) })
	return ctx, func() {
		stop()
		cancel(nil)
		t.mu.Unlock()
	}, nil
}

// end marks the transaction done, waiting for a call in progress, and
// returns the keys it locked and whether a call met a conflict.
func (t *tx) end() ([]int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = true
	return t.keys, t.conflict
}

// lock takes the transaction-scoped advisory lock of kind and name; the
// caller has entered.
func (t *tx) lock(ctx context.Context, kind, name string) error {
	k := lockKey(kind, name)
	t.keys = append(t.keys, k)
	_, err := t.ptx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", k)
	return err
}

// lockAndQuery takes the advisory lock of kind and name, then runs query
// with args and reads its rows with read: one round trip, the two
// statements sent as a batch. The caller has entered.
func (t *tx) lockAndQuery(ctx context.Context, kind, name, query string, args []any, read func(pgx.Rows) error) error {
	k := lockKey(kind, name)
	t.keys = append(t.keys, k)
	b := &pgx.Batch{}
	b.Queue("SELECT pg_advisory_xact_lock($1)", k)
	b.Queue(query, args...)
	br := t.ptx.SendBatch(ctx, b)
	_, err := br.Exec()
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			err = read(rows)
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// lockAndQueryRow is lockAndQuery for a query of one row, scanned with
// scan; no row is pgx.ErrNoRows.
func (t *tx) lockAndQueryRow(ctx context.Context, kind, name, query string, args []any, scan func(pgx.Row) error) error {
	return t.lockAndQuery(ctx, kind, name, query, args, func(rows pgx.Rows) error {
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return pgx.ErrNoRows
		}
		if err := scan(rows); err != nil {
			return err
		}
		rows.Close()
		return rows.Err()
	})
}

// Notify sends payload on Channel with pg_notify, which PostgreSQL
// delivers to every listener when, and only if, the transaction commits.
func (t *tx) Notify(ctx context.Context, payload string) error {
	ctx, exit, err := t.enter(ctx)
	if err != nil {
		return err
	}
	defer exit()
	if _, err := t.ptx.Exec(ctx, "SELECT pg_notify($1, $2)", Channel, text(payload)); err != nil {
		return t.fail(ctx, "notify", err)
	}
	return nil
}
