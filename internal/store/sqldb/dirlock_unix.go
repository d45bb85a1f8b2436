//go:build unix

package sqldb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// LockFile is the file in a SQLite data directory that one process holds
// an exclusive lock on while it has the database open.
const LockFile = "vulnsync.lock"

// lockDir takes the data directory for this process. SQLite's own locks
// let two processes share a file, but vulnsync on SQLite is one process by
// design (its job leases, its webhook intake): a second one would double
// every sync, so it is refused with a clear message. Owning the directory
// also means no lease held in the database can belong to a live process
// other than this one, which lets start-up reclaim them (see
// reclaimLeases). The lock is released when the process ends, however it
// ends, so a kill -9 never leaves it behind.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: lock the data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, tracker.Errorf(tracker.EConflict, "another vulnsync process is using the data directory %s (it holds %s); stop it first, or use PostgreSQL to run several replicas", dir, path)
		}
		return nil, fmt.Errorf("open sqlite: lock %s: %w", path, err)
	}
	return f, nil
}
