//go:build !unix

package sqldb

import "os"

// LockFile is the file in a SQLite data directory that one process holds
// an exclusive lock on while it has the database open.
const LockFile = "vulnsync.lock"

// lockDir is not enforced where flock is missing: the data directory is
// then shared at the operator's risk.
func lockDir(dir string) (*os.File, error) { return nil, nil }
