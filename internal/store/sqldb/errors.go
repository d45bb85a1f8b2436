package sqldb

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// retryError marks a failure that running the whole transaction again can
// resolve: a race this package detects itself (a concurrent enqueue while a
// job is put back to pending) rather than one the database reports.
type retryError struct{ err error }

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// isRetryable reports whether err is a conflict that a fresh attempt of the
// transaction can get past.
func isRetryable(err error) bool {
	var r *retryError
	if errors.As(err, &r) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// serialization_failure, deadlock_detected
		return pg.Code == "40001" || pg.Code == "40P01"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}

// constraint classifies a driver error as a uniqueness or foreign-key
// violation ("" when it is neither).
func constraint(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23505":
			return "unique"
		case "23503":
			return "foreign"
		}
		return ""
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return "unique"
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return "foreign"
		}
		if se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT {
			msg := se.Error()
			switch {
			case strings.Contains(msg, "UNIQUE constraint failed"):
				return "unique"
			case strings.Contains(msg, "FOREIGN KEY constraint failed"):
				return "foreign"
			}
		}
	}
	return ""
}

// wrap maps a driver error met while doing what into the domain's errors:
// uniqueness violations become EConflict and broken references ENotFound
// (the operations check the references they know first, so these are
// races), retryable conflicts keep their identity for InTx, and anything else
// is wrapped with what was being done.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	var te *tracker.Error
	if errors.As(err, &te) {
		return err
	}
	switch constraint(err) {
	case "unique":
		return &tracker.Error{Kind: tracker.EConflict, Message: what + ": a row with the same key already exists"}
	case "foreign":
		return &tracker.Error{Kind: tracker.ENotFound, Message: what + ": a row it refers to does not exist"}
	}
	return fmt.Errorf("%s: %w", what, err)
}
