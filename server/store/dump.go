package store

import (
	"fmt"
	"iter"
	"time"

	"gatehouse/shared"
)

// A Dump is everything a store holds, read from one consistent snapshot,
// for moving it to another store (sqlite.DB.Export hands one out,
// postgres.DB.Import takes one in). It is no part of Store: serving
// requests never needs it.
//
// Rows are streamed: each iterator reads its rows as it is ranged over, so
// a long audit log is never held in memory. The iterators are valid only
// while the function the Dump was handed to runs, and each is meant to be
// ranged over once. They yield rows in the order they were created —
// users and audit events by ID, sessions in order of creation, attempts by
// key, recovery codes by user and hash — and stop after yielding an error.
//
// Sign-in challenges are not part of a Dump: each lives for minutes, and a
// sign-in under way when the store moves starts again.
type Dump struct {
	// Counts is how many rows each iterator yields, counted in the same
	// snapshot.
	Counts Counts
	// LastUserID and LastAuditID are the highest IDs the store ever handed
	// out, those of deleted rows included. The receiving store must give
	// new rows higher ones, so that a stale reference (a token's subject,
	// an audit entry's actor) never names a new row.
	LastUserID, LastAuditID int64

	Users iter.Seq2[*User, error]
	// Sessions yields sessions with their Username left empty.
	Sessions      iter.Seq2[*Session, error]
	Audit         iter.Seq2[*shared.AuditEvent, error]
	Attempts      iter.Seq2[*Attempts, error]
	RecoveryCodes iter.Seq2[*RecoveryCode, error]
}

// RecoveryCode is one of a user's recovery codes, as a Dump carries it.
type RecoveryCode struct {
	UserID    int64
	Hash      []byte
	CreatedAt time.Time
}

// Counts are how many rows of each kind a store holds, or a move copied.
type Counts struct {
	Users, Sessions, AuditEvents, Attempts, RecoveryCodes int
}

// String returns the counts as a person reads them: "users 3, sessions 5,
// audit events 42, throttle keys 1, recovery codes 20".
func (c Counts) String() string {
	return fmt.Sprintf("users %d, sessions %d, audit events %d, throttle keys %d, recovery codes %d",
		c.Users, c.Sessions, c.AuditEvents, c.Attempts, c.RecoveryCodes)
}
