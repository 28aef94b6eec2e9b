// Package postgres implements store.Store on PostgreSQL through
// github.com/jackc/pgx/v5 and its connection pool, for running several
// Gatehouse instances on one database.
//
// Every call is bounded by Options.OpTimeout, so that a database that has
// gone away fails a request with store.ErrUnavailable instead of hanging
// it; the same bound is set on the server side as the statement, lock and
// idle-in-transaction timeouts of every connection, so that nothing a
// vanished client left behind holds locks for long. Update transactions are
// SERIALIZABLE and run again when PostgreSQL reports a conflict; see
// Update. The schema is created and upgraded by the migrations embedded in
// the package when the database is opened; see migrate.
//
// Times are timestamptz columns holding UTC instants truncated to the
// millisecond on the way in, so that what is read back is exactly what
// the SQLite store returns. Text that PostgreSQL cannot hold (a NUL byte,
// bytes that are not UTF-8) is stored with U+FFFD in their place.
//
// PostgreSQL 12 or later is required.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"gatehouse/server/store"
)

// Defaults of Options.
const (
	DefaultOpTimeout = 5 * time.Second
	DefaultMaxConns  = 10
)

// Options tune a DB. The zero value is usable.
type Options struct {
	// OpTimeout bounds every call of the store, an Update with all its
	// runs included; a context with an earlier deadline wins. Zero means
	// DefaultOpTimeout.
	OpTimeout time.Duration
	// MaxConns bounds the connection pool; Listen holds one connection
	// more. Zero means DefaultMaxConns. A pool_max_conns parameter in the
	// URL wins.
	MaxConns int
	// Logger receives the few events worth an operator's attention: applied
	// migrations, and the notification connection going down and coming
	// back. Nil discards them.
	Logger *slog.Logger
}

// DB is a Gatehouse store in a PostgreSQL database. It is safe for
// concurrent use.
type DB struct {
	reads // on the pool, each call in a snapshot of its own
	pool  *pgxpool.Pool
	conf  *pgx.ConnConfig // for the connections Listen holds
	log   *slog.Logger
	// timeout is Options.OpTimeout.
	timeout time.Duration
	// fold is the COLLATE clause under which lower() folds non-ASCII
	// letters: empty for the database's own collation.
	fold string

	// heartbeat is how long Listen's connection may stay quiet before it is
	// pinged.
	heartbeat time.Duration

	mu        sync.Mutex // held to close, and to start a listener
	closed    atomic.Bool
	done      chan struct{} // closed by Close, to stop Listen
	listeners sync.WaitGroup
}

var (
	_ store.Store = (*DB)(nil)
	_ store.Tx    = (*tx)(nil)
)

// errTimeout is the cause of a context that ran out of Options.OpTimeout.
var errTimeout = errors.New("no answer within the operation timeout")

// Open connects to the database at url, a postgres:// or postgresql:// URL,
// and applies any migration it has not seen yet, under a lock that lets
// one instance migrate while others starting at the same time wait. A
// database whose schema is newer than this program's is refused.
//
// An error reaching the database wraps store.ErrUnavailable. Errors never
// show the URL's password.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	scheme, _, _ := strings.Cut(url, "://")
	if s := strings.ToLower(scheme); s != "postgres" && s != "postgresql" || !strings.Contains(url, "://") {
		return nil, errors.New("postgres: open: the database URL must start with postgres:// or postgresql://")
	}
	conf, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parser's message may quote the URL, password and all.
		return nil, errors.New("postgres: open: the database URL cannot be parsed")
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = DefaultOpTimeout
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	configure(conf, opts, strings.Contains(url, "pool_max_conns="))

	pool, err := pgxpool.NewWithConfig(ctx, conf)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	d := &DB{
		pool: pool, conf: conf.ConnConfig.Copy(), log: opts.Logger,
		timeout: opts.OpTimeout, heartbeat: heartbeat, done: make(chan struct{}),
	}
	d.reads = reads{d: d, q: pool}
	if err := d.ping(ctx, "open"); err != nil {
		pool.Close()
		return nil, err
	}
	if err := migrate(ctx, pool, d.log); err != nil {
		pool.Close()
		return nil, d.fail(ctx, "open", err)
	}
	if d.fold, err = folding(ctx, d); err != nil {
		pool.Close()
		return nil, d.fail(ctx, "open", err)
	}
	return d, nil
}

// configure applies opts to the pool's configuration: its size, how long a
// connection may take to open, and the server-side timeouts of every
// connection.
func configure(conf *pgxpool.Config, opts Options, fromURL bool) {
	if !fromURL { // pool_max_conns in the URL wins
		conf.MaxConns = int32(min(opts.MaxConns, 1<<20))
	}
	conf.PingTimeout = opts.OpTimeout
	cc := conf.ConnConfig
	if cc.ConnectTimeout <= 0 || cc.ConnectTimeout > opts.OpTimeout {
		cc.ConnectTimeout = opts.OpTimeout
	}
	p := cc.RuntimeParams
	if p["application_name"] == "" {
		p["application_name"] = "gatehouse"
	}
	// Nothing a request waits for on the server outlives the request by
	// much: a statement, a lock wait, a transaction left open by a client
	// that went away.
	ms := strconv.FormatInt(opts.OpTimeout.Milliseconds()+1, 10)
	for _, name := range []string{"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"} {
		if p[name] == "" {
			p[name] = ms
		}
	}
}

// folding returns the COLLATE clause under which lower() folds letters
// beyond ASCII, as strings.ToLower does: none when the database's own
// collation does, else ICU's root collation when the server has ICU. A
// database with neither (LC_CTYPE C, no ICU) matches queries in ASCII
// case only.
func folding(ctx context.Context, d *DB) (string, error) {
	ctx, cancel := d.op(ctx)
	defer cancel()
	var native, icu bool
	err := d.pool.QueryRow(ctx, `
		SELECT lower('ÉΣ') = 'éσ', EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu')`,
	).Scan(&native, &icu)
	switch {
	case err != nil:
		return "", err
	case native:
		return "", nil
	case icu:
		return ` COLLATE "und-x-icu"`, nil
	}
	d.log.Warn("the database folds only ASCII letters to lower case: user searches match other letters in exact case only")
	return "", nil
}

// op returns ctx bounded by the operation timeout.
func (d *DB) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, d.timeout, errTimeout)
}

// Ping checks that the database answers a query within the operation
// timeout.
func (d *DB) Ping(ctx context.Context) error { return d.ping(ctx, "ping") }

func (d *DB) ping(ctx context.Context, op string) error {
	ctx, cancel := d.op(ctx)
	defer cancel()
	var one int
	if err := d.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return d.fail(ctx, op, err)
	}
	return nil
}

// Close closes the pool, waiting for the connections in use to be
// released, and stops Listen. Calls made after Close fail with an error
// wrapping store.ErrUnavailable; closing again does nothing.
func (d *DB) Close() error {
	d.mu.Lock()
	if !d.closed.CompareAndSwap(false, true) {
		d.mu.Unlock()
		return nil
	}
	close(d.done)
	d.mu.Unlock()
	d.listeners.Wait()
	d.pool.Close()
	return nil
}

// fail returns err, the failure of op run under ctx, wrapped with context
// and mapped onto the store's errors: no rows becomes store.ErrNotFound, a
// unique violation store.ErrConflict, a missing row referred to by a
// foreign key store.ErrNotFound, and a closed or unreachable database, a
// timeout or a conflict that outlasted the retries store.ErrUnavailable.
// A context canceled by the caller is returned as such. The store's own
// errors pass through.
//
// pgx errors carry neither the SQL text nor the password; PostgreSQL's own
// carry their message and SQLSTATE only.
func (d *DB) fail(ctx context.Context, op string, err error) error {
	var pe *pgconn.PgError
	isPg := errors.As(err, &pe)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict),
		errors.Is(err, store.ErrUnavailable):
		return fmt.Errorf("postgres: %s: %w", op, err)
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
	case isPg && pe.Code == "23505": // unique_violation
		return fmt.Errorf("postgres: %s: %w", op, store.ErrConflict)
	case isPg && pe.Code == "23503": // foreign_key_violation
		return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
	case d.closed.Load():
		return fmt.Errorf("postgres: %s: %w: the store is closed", op, store.ErrUnavailable)
	case ctx.Err() != nil:
		cause := context.Cause(ctx)
		if errors.Is(cause, context.Canceled) {
			return fmt.Errorf("postgres: %s: %w", op, cause)
		}
		return fmt.Errorf("postgres: %s: %w: %w", op, store.ErrUnavailable, cause)
	case isPg && unavailableCode(pe.Code), unreachable(err):
		return fmt.Errorf("postgres: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// unavailableCode reports whether the SQLSTATE code says that the server
// cannot serve now: the connection failed, the server is shutting down or
// short of resources, a statement or lock wait outlasted its timeout, or a
// serialization conflict outlasted the retries.
func unavailableCode(code string) bool {
	switch code {
	case "57P01", "57P02", "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
		"57014",          // query_canceled: statement_timeout
		"55P03",          // lock_not_available: lock_timeout
		"25P03",          // idle_in_transaction_session_timeout
		"40001", "40P01", // serialization_failure, deadlock_detected
		"58000", "58030": // system_error, io_error
		return true
	}
	switch code[:2] {
	case "08", // connection exception
		"53": // insufficient resources: too many connections, disk full, out of memory
		return true
	}
	return false
}

// unreachable reports whether err says that no connection could be made
// (the server is not there, or refused it: an unknown database, role or
// password included) or that the connection broke.
func unreachable(err error) bool {
	var (
		ce *pgconn.ConnectError
		ne net.Error
	)
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded)
}

// querier is what *pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// reads runs the queries of store.Reader on the pool or in a transaction.
type reads struct {
	d  *DB
	q  querier
	tx *tx // nil on the pool
}

// enter returns the context a call with ctx runs under, and a function to
// call when it is done: on the pool, ctx bounded by the operation timeout;
// in a transaction, ctx bounded by the Update's context too, with the
// transaction held against concurrent use. A transaction whose Update
// has returned fails.
func (r reads) enter(ctx context.Context) (context.Context, func(), error) {
	if r.tx == nil {
		ctx, cancel := r.d.op(ctx)
		return ctx, cancel, nil
	}
	return r.tx.enter(ctx)
}

// snapshot runs fn with a querier whose queries all see one snapshot: a
// read-only REPEATABLE READ transaction on the pool, or the transaction
// reads belongs to.
func (r reads) snapshot(ctx context.Context, fn func(q querier) error) error {
	if r.tx != nil {
		return fn(r.q)
	}
	return pgx.BeginTxFunc(ctx, r.d.pool,
		pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(t pgx.Tx) error { return fn(t) })
}

// fail is DB.fail, noting in a transaction that it has to run again when
// err is a serialization conflict.
func (r reads) fail(ctx context.Context, op string, err error) error {
	if r.tx != nil && retryable(err) {
		r.tx.conflict = true
	}
	return r.d.fail(ctx, op, err)
}

// retryable reports whether err is a conflict with a concurrent
// transaction that running the transaction again may resolve.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// ms returns t as stored: in UTC, truncated to the millisecond.
func ms(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }

// nullTime returns *t as stored in a nullable column: NULL for nil.
func nullTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ms(*t)
	return &v
}

// fromNullTime returns the time read from a nullable column: nil for NULL.
func fromNullTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// text returns s as PostgreSQL can store it: a NUL byte, which no text
// value may hold, and each run of bytes that is not valid UTF-8 become
// U+FFFD. Lookups go through it too, so that what was stored is found.
func text(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// nonNil returns b, or an empty slice for nil: the column is NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nullBytes returns b as stored in a nullable column: NULL when empty.
func nullBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// limit returns the LIMIT and OFFSET of a page; a nil limit is none.
func limit(offset, n int) (any, int) {
	if n <= 0 {
		return nil, max(offset, 0)
	}
	return n, max(offset, 0)
}

// collect reads every row of rows with scan.
func collect[T any](rows pgx.Rows, scan func(pgx.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
