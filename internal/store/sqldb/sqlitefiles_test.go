package sqldb

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// A second vulnsync on one SQLite data directory is refused with a message
// that says why; once the first closes, the directory can be opened.
func TestSQLiteDataDirectoryHasOneOwner(t *testing.T) {
	dir := t.TempDir()
	first, err := OpenSQLite(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenSQLite(t.Context(), dir, testLogger(t))
	if tracker.KindOf(err) != tracker.EConflict {
		t.Fatalf("second open: %v, want a conflict", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := OpenSQLite(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatalf("open after the owner closed: %v", err)
	}
	again.Close()
}

// The database, WAL and shared-memory files are private (0600), in a data
// directory that already existed and under a permissive umask; files an
// older version left 0644 are tightened.
func TestSQLiteFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	round := 0
	check := func() {
		t.Helper()
		round++
		db, err := OpenSQLite(t.Context(), dir, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.InTx(t.Context(), func(tx store.Tx) error {
			return tx.CreateTarget(t.Context(), tracker.Target{ID: fmt.Sprintf("t%d", round), Name: fmt.Sprintf("t%d", round)})
		}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{SQLiteFile, SQLiteFile + "-wal", SQLiteFile + "-shm", LockFile} {
			st, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if perm := st.Mode().Perm(); perm != 0o600 {
				t.Errorf("%s has mode %v, want 0600", name, perm)
			}
		}
	}
	check()
	for _, name := range []string{SQLiteFile, SQLiteFile + "-wal", SQLiteFile + "-shm"} {
		_ = os.Chmod(filepath.Join(dir, name), 0o644)
	}
	check()
}

// A zero-length database file is a truncated copy or a failed restore, not
// a new database: it is reported, and left as it is.
func TestSQLiteEmptyDatabaseFileIsReported(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SQLiteFile)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenSQLite(t.Context(), dir, testLogger(t))
	if tracker.KindOf(err) != tracker.EInvalid {
		t.Fatalf("open of an empty file: %v, want invalid", err)
	}
	if st, _ := os.Stat(path); st.Size() != 0 {
		t.Errorf("the empty file was initialised (%d bytes)", st.Size())
	}
	// The lock was released with the refusal.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	db, err := OpenSQLite(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatalf("open after removing the empty file: %v", err)
	}
	db.Close()
}

// After a crash, a job that was running is taken over at the next start,
// not after its two-minute lease: the process owns the database, so the
// lease cannot be anyone else's.
func TestSQLiteStartReclaimsStaleLeases(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	db, err := OpenSQLite(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	claim := store.Claim{Now: now, Lease: 2 * time.Minute, Limit: 10}
	var claimed []store.Job
	err = db.InTx(t.Context(), func(tx store.Tx) error {
		if err := tx.Enqueue(t.Context(), store.Job{Kind: "push", Key: "item:1", Payload: json.RawMessage(`{}`), RunAt: now}); err != nil {
			return err
		}
		claimed, err = tx.ClaimJobs(t.Context(), claim)
		return err
	})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v, %d jobs", err, len(claimed))
	}
	db.Close() // the process dies with the job running

	db, err = OpenSQLite(t.Context(), dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	claim.Now = now.Add(time.Second)
	err = db.InTx(t.Context(), func(tx store.Tx) error {
		claimed, err = tx.ClaimJobs(t.Context(), claim)
		return err
	})
	if err != nil || len(claimed) != 1 || claimed[0].Attempts != 2 {
		t.Fatalf("claim right after restart: %v, %+v; want the running job taken over", err, claimed)
	}
}
