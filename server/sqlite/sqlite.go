// Package sqlite implements store.Store on an embedded SQLite database
// through modernc.org/sqlite, a cgo-free port of SQLite.
//
// The database runs in WAL mode with synchronous=FULL, so that readers do
// not block the writer and nothing committed is lost on a crash. Write
// transactions begin IMMEDIATE: they take the write lock up front and wait
// for it (up to the busy timeout) instead of failing when a read would have
// to be upgraded. The schema is created and upgraded by the migrations
// embedded in the package when the database is opened.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"gatehouse/server/store"
)

// BusyTimeout is how long a statement waits for a lock held by another
// connection before it fails.
const BusyTimeout = 10 * time.Second

// maxConns bounds the connection pool. WAL lets readers run alongside the
// one writer; more connections than this only contend for the write lock.
const maxConns = 8

// DB is a Gatehouse store in an SQLite database file. It is safe for
// concurrent use.
type DB struct {
	reads  // on the connection pool, each call in a snapshot of its own
	db     *sql.DB
	closed atomic.Bool
	// writer is held by the Update running in this process: writers queue
	// here, handed the turn the moment it is free, instead of polling
	// SQLite's busy handler (which sleeps up to 100 ms between tries).
	writer chan struct{}
}

var (
	_ store.Store = (*DB)(nil)
	_ store.Tx    = (*tx)(nil)
)

// Open opens the database file at path, creating it and its directory when
// they do not exist, and applies any migration it has not seen yet. path is
// a file name, not a URI; in-memory databases are not supported, as every
// connection of the pool would see a database of its own.
//
// An error opening or reading the file wraps store.ErrUnavailable.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: open %q: a database file name is required", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w: %w", path, store.ErrUnavailable, err)
	}
	if err := private(abs); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w: %w", path, store.ErrUnavailable, err)
	}

	db := sql.OpenDB(connector{dsn: dsn(abs)})
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	d := &DB{db: db, writer: make(chan struct{}, 1)}
	d.reads = reads{q: db, d: d}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, d.fail("open "+path, err)
	}
	return d, nil
}

// private makes sure the database file and its WAL and shared-memory
// companions can be read by the owner only: it creates the database file
// with mode 0600 before SQLite opens it (SQLite gives the companions the
// database file's mode), and narrows the mode of files an older version
// left readable by others.
func private(abs string) error {
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, name := range []string{abs, abs + "-wal", abs + "-shm"} {
		if err := os.Chmod(name, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// dsn returns the data source name for the database file at the absolute
// path abs, carrying the connection settings every connection of the pool
// applies when it opens.
func dsn(abs string) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds()))
	q.Set("_foreign_keys", "1")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_txlock", "immediate")
	// A file: URI, so that a '?' or '#' in the path is escaped rather than
	// taken for the start of the parameters.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	if !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path // a Windows drive letter
	}
	return u.String()
}

// drv is the driver of the package's connections: a private one, so that
// the SQL function it registers does not leak into other users of
// modernc.org/sqlite in the process.
var drv = func() *sqlite.Driver {
	d := &sqlite.Driver{}
	d.MustRegisterDeterministicScalarFunction("gatehouse_lower", 1, lower)
	return d
}()

// lower is the SQL function gatehouse_lower(s): s with every Unicode letter
// mapped to lower case. SQLite's own lower() maps ASCII letters only.
func lower(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	switch s := args[0].(type) {
	case nil:
		return nil, nil
	case string:
		return strings.ToLower(s), nil
	case []byte:
		return strings.ToLower(string(s)), nil
	default:
		return fmt.Sprint(s), nil
	}
}

// connector opens connections to one database through drv.
type connector struct{ dsn string }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return drv.Open(c.dsn)
}

func (c connector) Driver() driver.Driver { return drv }

// Ping checks that the database answers a query.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	if err := d.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return d.fail("ping", err)
	}
	return nil
}

// Close closes the database. Calls made after Close fail with an error
// wrapping store.ErrUnavailable; closing again does nothing.
func (d *DB) Close() error {
	if !d.closed.CompareAndSwap(false, true) {
		return nil
	}
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// fail returns err, the failure of op, wrapped with context and mapped onto
// the store's errors: sql.ErrNoRows becomes store.ErrNotFound, a unique
// constraint violation store.ErrConflict, a missing row referred to by a
// foreign key store.ErrNotFound, and a closed or unreachable database
// store.ErrUnavailable. The store's own errors pass through.
func (d *DB) fail(op string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict),
		errors.Is(err, store.ErrUnavailable):
		return fmt.Errorf("sqlite: %s: %w", op, err)
	case errors.Is(err, errRule):
		return err // a rule of the caller's, returned from an Update as it is
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrNotFound)
	case d.closed.Load() || errors.Is(err, sql.ErrConnDone) || unavailable(err):
		return fmt.Errorf("sqlite: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("sqlite: %s: %w", op, store.ErrConflict)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("sqlite: %s: %w", op, store.ErrNotFound)
		}
		if se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
			// The message quotes the schema; the code says enough.
			return fmt.Errorf("sqlite: %s: a constraint was violated (%d)", op, se.Code())
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// unavailable reports whether err says that the database file cannot be
// opened, read or written, or stayed locked past the busy timeout.
func unavailable(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff { // the primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_FULL,
		sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_PERM:
		return true
	}
	return false
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// errRule marks an error that fn of an Update returned: it passes through
// fail untouched, so the caller sees exactly what it returned.
var errRule = errors.New("rule")

type ruleError struct{ err error }

func (e ruleError) Error() string        { return e.err.Error() }
func (e ruleError) Unwrap() []error      { return []error{e.err, errRule} }
func (e ruleError) Is(target error) bool { return target == errRule }

// Update runs fn in a write transaction, which holds the database's write
// lock from its start (BEGIN IMMEDIATE), so transactions run one after the
// other and every read of fn sees what it will write over. It commits if
// fn returns nil, and otherwise returns fn's error as it is.
func (d *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	select {
	case d.writer <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("sqlite: update: waiting for the write lock: %w", ctx.Err())
	case <-time.After(BusyTimeout):
		return fmt.Errorf("sqlite: update: %w: the write lock stayed busy for %v", store.ErrUnavailable, BusyTimeout)
	}
	defer func() { <-d.writer }()
	err := inTx(ctx, d.db, nil, func(sqltx *sql.Tx) error {
		t := &tx{reads: reads{q: sqltx, d: d}}
		if err := fn(t); err != nil {
			return ruleError{err}
		}
		return nil
	})
	if err == nil {
		return nil
	}
	var re ruleError
	if errors.As(err, &re) {
		return re.err
	}
	return d.fail("update", err)
}

// tx is a store.Tx on one SQLite write transaction. Its Lock* reads are
// plain reads: the transaction already holds the write lock of the whole
// database.
type tx struct {
	reads
}

// Notify does nothing: only one process opens an SQLite database, and its
// caches are told of every change directly.
func (t *tx) Notify(ctx context.Context, payload string) error { return nil }

// reads runs the queries of store.Reader on the pool or in a transaction.
type reads struct {
	q querier
	d *DB
}

// snapshot runs fn with a querier whose queries all see one snapshot: a
// read transaction on the pool, or the transaction reads belongs to.
func (r reads) snapshot(ctx context.Context, fn func(q querier) error) error {
	db, ok := r.q.(*sql.DB)
	if !ok {
		return fn(r.q)
	}
	return inTx(ctx, db, &sql.TxOptions{ReadOnly: true}, func(t *sql.Tx) error { return fn(t) })
}

func (r reads) fail(op string, err error) error { return r.d.fail(op, err) }

func inTx(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// millis returns t as stored: milliseconds since the Unix epoch.
func millis(t time.Time) int64 { return t.UnixMilli() }

// fromMillis returns the time stored as ms, in UTC.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// nullMillis returns t as stored in a nullable column: NULL for the zero
// time.
func nullMillis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: millis(t), Valid: true}
}

// fromNullMillis returns the time stored in a nullable column: the zero
// time for NULL.
func fromNullMillis(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMillis(n.Int64)
}

// nullBytes returns b as stored in a nullable column: NULL when empty.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// limit returns the LIMIT and OFFSET of a page; a limit of -1 is none.
func limit(offset, n int) (int, int) {
	if n <= 0 {
		n = -1
	}
	return n, max(offset, 0)
}
