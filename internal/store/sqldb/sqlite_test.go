package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/store/storetest"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

func openSQLite(tb testing.TB) *DB {
	tb.Helper()
	db, err := OpenSQLite(tb.Context(), tb.TempDir(), testLogger(tb))
	if err != nil {
		tb.Fatalf("OpenSQLite: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openSQLite(t) })
}

func TestOpenSQLiteCreatesDirAndKeepsData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	db, err := OpenSQLite(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("stat data dir: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("data dir mode: got %o, want 700", perm)
	}
	if _, err := os.Stat(filepath.Join(dir, SQLiteFile)); err != nil {
		t.Errorf("database file: %v", err)
	}
	var mode string
	if err := db.read.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode: got %q, %v; want wal", mode, err)
	}
	tg := tracker.Target{ID: "t1", Name: "web"}
	if err := db.InTx(t.Context(), func(tx store.Tx) error { return tx.CreateTarget(t.Context(), tg) }); err != nil {
		t.Fatalf("CreateTarget: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Reopening applies no migration twice and finds the data.
	db, err = Open(t.Context(), "", dir, testLogger(t))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	if db.Backend() != "sqlite" {
		t.Errorf("Open without URL: got backend %q, want sqlite", db.Backend())
	}
	err = db.View(t.Context(), func(tx store.Tx) error {
		got, err := tx.GetTarget(t.Context(), "t1")
		if err == nil && got.Name != "web" {
			return fmt.Errorf("got name %q, want web", got.Name)
		}
		return err
	})
	if err != nil {
		t.Errorf("target after reopen: %v", err)
	}
}

func TestOpenRefusesBadInput(t *testing.T) {
	cases := []struct {
		name    string
		open    func() (*DB, error)
		kind    tracker.ErrorKind
		mention string
		secret  string
	}{
		{"no data dir", func() (*DB, error) { return OpenSQLite(t.Context(), " ", nil) }, tracker.EInvalid, "data directory", ""},
		{"unknown URL scheme", func() (*DB, error) { return Open(t.Context(), "mysql://u:hunter2@db/x", t.TempDir(), nil) }, tracker.EInvalid, "postgres://", "hunter2"},
		{"unparsable postgres URL", func() (*DB, error) { return OpenPostgres(t.Context(), "postgres://u:hunter2@%zz/x", nil) }, tracker.EInvalid, "cannot be parsed", "hunter2"},
		{"unreachable postgres", func() (*DB, error) {
			return OpenPostgres(t.Context(), "postgres://u:hunter2@127.0.0.1:1/x?connect_timeout=5&sslmode=disable", nil)
		}, tracker.EInternal, "open postgres", "hunter2"},
	}
	for _, c := range cases {
		db, err := c.open()
		if err == nil {
			db.Close()
			t.Errorf("%s: got no error", c.name)
			continue
		}
		if got := tracker.KindOf(err); got != c.kind {
			t.Errorf("%s: got kind %s (%v), want %s", c.name, got, err, c.kind)
		}
		if !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: message %q does not mention %q", c.name, err, c.mention)
		}
		if c.secret != "" && strings.Contains(err.Error(), c.secret) {
			t.Errorf("%s: message %q leaks the password", c.name, err)
		}
	}
}

// Two handles on one file behave like two processes: BEGIN IMMEDIATE and
// the busy timeout must make every writer wait its turn, never fail. (Two
// vulnsync processes are refused by the directory lock; SQLite's own
// locking must hold regardless, for backups and tools opening the file.)
func TestSQLiteTwoHandlesWriteConcurrently(t *testing.T) {
	dir := t.TempDir()
	var dbs [2]*DB
	for i := range dbs {
		db, err := openSQLiteDB(t.Context(), dir, testLogger(t), false)
		if err != nil {
			t.Fatalf("OpenSQLite %d: %v", i, err)
		}
		defer db.Close()
		dbs[i] = db
	}
	const perWriter = 40
	var wg sync.WaitGroup
	errs := make(chan error, 4*perWriter)
	for w := range 4 {
		db := dbs[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				err := db.InTx(t.Context(), func(tx store.Tx) error {
					// Read first, then write: the upgrade from reader to
					// writer is what deadlocks with deferred transactions.
					if _, err := tx.CountTokens(t.Context()); err != nil {
						return err
					}
					return tx.CreateTarget(t.Context(), tracker.Target{ID: fmt.Sprintf("w%d-%d", w, i), Name: fmt.Sprintf("w%d-%d", w, i)})
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent write: %v", err)
	}
	var n int
	if err := dbs[0].read.QueryRowContext(t.Context(), "SELECT count(*) FROM targets").Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	if n != 4*perWriter {
		t.Errorf("targets written: got %d, want %d", n, 4*perWriter)
	}
}

func TestInTxRetriesOnlyRetryableErrors(t *testing.T) {
	db := openSQLite(t)
	var calls atomic.Int32
	tg := tracker.Target{ID: "t1", Name: "web"}
	err := db.InTx(t.Context(), func(tx store.Tx) error {
		if err := tx.CreateTarget(t.Context(), tg); err != nil {
			return err // a leftover from the first attempt would conflict here
		}
		if calls.Add(1) == 1 {
			return &retryError{err: errors.New("simulated conflict")}
		}
		return nil
	})
	if err != nil || calls.Load() != 2 {
		t.Errorf("InTx with one retryable failure: got %v after %d calls, want nil after 2", err, calls.Load())
	}

	calls.Store(0)
	cause := errors.New("always conflicting")
	err = db.InTx(t.Context(), func(tx store.Tx) error {
		calls.Add(1)
		return &retryError{err: cause}
	})
	if !errors.Is(err, cause) || calls.Load() != maxTxAttempts {
		t.Errorf("InTx always failing: got %v after %d calls, want the cause after %d", err, calls.Load(), maxTxAttempts)
	}
	var r *retryError
	if errors.As(err, &r) {
		t.Errorf("InTx leaked the internal retry marker: %v", err)
	}

	calls.Store(0)
	err = db.InTx(t.Context(), func(tx store.Tx) error {
		calls.Add(1)
		return tracker.Errorf(tracker.EConflict, "a real conflict")
	})
	if tracker.KindOf(err) != tracker.EConflict || calls.Load() != 1 {
		t.Errorf("InTx with a domain conflict: got %v after %d calls, want it after 1", err, calls.Load())
	}
}

func TestIsRetryable(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "40001"}, true},
		{fmt.Errorf("update: %w", &pgconn.PgError{Code: "40P01"}), true},
		{&pgconn.PgError{Code: "23505"}, false},
		{&retryError{err: errors.New("x")}, true},
		{errors.New("plain"), false},
		{sql.ErrNoRows, false},
		{context.Canceled, false},
	}
	for _, c := range cases {
		if got := isRetryable(c.err); got != c.want {
			t.Errorf("isRetryable(%v): got %v, want %v", c.err, got, c.want)
		}
	}
}

// The claim queries must stay on their partial indexes, or the outbox slows
// down as done jobs pile up.
func TestSQLiteClaimQueriesUseIndexes(t *testing.T) {
	db := openSQLite(t)
	plan := func(q string, args ...any) string { return explainSQLite(t, db, q, args) }
	for _, kinds := range [][]string{nil, {"push", "pull"}} {
		kf, kargs := kindFilter("j.kind", kinds)
		due := plan(dueQuery(&db.d, kf), append(append([]any{int64(0)}, kargs...), 10)...)
		// Any partial index over pending jobs will do (with a kind
		// filter SQLite prefers one led by kind: jobs_pending_kind, of
		// migration 00006, also bounds run_at); a scan of the table
		// will not.
		if !strings.Contains(due, "jobs_pending_due") && !strings.Contains(due, "jobs_pending_key") && !strings.Contains(due, "jobs_pending_kind") {
			t.Errorf("due-job query (kinds %v) does not use a pending-jobs index:\n%s", kinds, due)
		}
		if !strings.Contains(due, "jobs_running_key") {
			t.Errorf("due-job query (kinds %v) does not check running keys through jobs_running_key:\n%s", kinds, due)
		}
		if strings.Contains(due, "SCAN j") || strings.Contains(due, "SCAN r") {
			t.Errorf("due-job query (kinds %v) scans the jobs table:\n%s", kinds, due)
		}
	}
	expired := plan(expiredQuery(&db.d, ""), int64(0), 10)
	if !strings.Contains(expired, "jobs_running_lease") {
		t.Errorf("expired-lease query plan does not use jobs_running_lease:\n%s", expired)
	}
}
