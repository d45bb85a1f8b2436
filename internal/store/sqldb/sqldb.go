// Package sqldb implements store.Store on database/sql for the two supported
// databases: SQLite (modernc.org/sqlite, no cgo; the embedded default) and
// PostgreSQL (pgx through its database/sql adapter; several replicas on one
// database).
//
// The queries are written once, with '?' placeholders, and a small dialect
// value carries what differs between the two: placeholder style, how a time
// is stored, the row locks of the job claim and how transactions start. The
// schema is applied at open by goose from versioned SQL files embedded per
// dialect.
package sqldb

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// SQLiteFile is the name of the database file OpenSQLite keeps in its data
// directory.
const SQLiteFile = "vulnsync.db"

// maxTxAttempts bounds how often InTx runs fn when the database keeps
// reporting serialization failures, deadlocks or a busy file.
const maxTxAttempts = 6

// DB is a store.Store on one SQLite file or one PostgreSQL database.
type DB struct {
	d dialect
	// write runs InTx. On SQLite it holds exactly one connection, so that
	// writers queue in Go instead of spinning on SQLITE_BUSY; on PostgreSQL
	// it is the only pool and read is the same value.
	write *sql.DB
	// read runs View: a pool of read-only connections on SQLite.
	read *sql.DB
	// stmts holds the prepared statements of each pool (SQLite only).
	stmtMu sync.Mutex
	stmts  map[*sql.DB]*stmtCache
	logger *slog.Logger
	// lock is the data directory's lock file (SQLite only), held until
	// Close.
	lock *os.File
	// now stamps bookkeeping times the caller does not supply (job
	// created/updated times, defaults for zero creation times).
	now func() time.Time
	// migrations are the versions of the embedded migrations, in order
	// (PendingMigrations).
	migrations []int64
	// queryHook, set by tests before use, sees every query a transaction
	// reads rows with (the plan tests explain each one).
	queryHook func(q string, args []any)
}

var _ store.Store = (*DB)(nil)

// Open opens the store named by the command line: PostgreSQL when dbURL is a
// postgres:// or postgresql:// URL, else SQLite in dataDir.
func Open(ctx context.Context, dbURL, dataDir string, logger *slog.Logger) (*DB, error) {
	if strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://") {
		return OpenPostgres(ctx, dbURL, logger)
	}
	if dbURL != "" {
		return nil, tracker.Errorf(tracker.EInvalid, "unsupported database URL: want postgres:// or postgresql://, or none for SQLite in the data directory")
	}
	return OpenSQLite(ctx, dataDir, logger)
}

// OpenSQLite opens (creating it if needed) the SQLite database vulnsync.db in
// dataDir, in WAL mode, and brings its schema up to date.
//
// One process owns the data directory while it has the database open (a
// second OpenSQLite on it, in this process or another, is EConflict), and
// it takes over at once the job leases a stopped process left.
func OpenSQLite(ctx context.Context, dataDir string, logger *slog.Logger) (*DB, error) {
	return openSQLiteDB(ctx, dataDir, logger, true)
}

// openSQLiteDB opens the database; exclusive false skips the directory
// lock and the lease reclaim, for tests that play two processes on one
// file to check SQLite's own locking.
func openSQLiteDB(ctx context.Context, dataDir string, logger *slog.Logger, exclusive bool) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if strings.TrimSpace(dataDir) == "" {
		return nil, tracker.Errorf(tracker.EInvalid, "open sqlite: the data directory must be set")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite: create data directory: %w", err)
	}
	abs, err := filepath.Abs(filepath.Join(dataDir, SQLiteFile))
	if err != nil {
		return nil, fmt.Errorf("open sqlite: resolve path: %w", err)
	}
	var lock *os.File
	if exclusive {
		if lock, err = lockDir(dataDir); err != nil {
			return nil, err
		}
	}
	ok := false
	defer func() {
		if !ok && lock != nil {
			lock.Close()
		}
	}()
	if err := prepareFiles(abs); err != nil {
		return nil, err
	}
	dsn := func(extra ...string) string {
		q := url.Values{}
		q.Set("_busy_timeout", "10000")
		q.Set("_foreign_keys", "1")
		q.Set("_synchronous", "NORMAL")
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
		return u.String()
	}
	// The writer sets WAL (persistent in the file) before any reader opens.
	write, err := sql.Open("sqlite", dsn("_journal_mode", "WAL", "_txlock", "immediate"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", abs, err)
	}
	read, err := sql.Open("sqlite", dsn("_query_only", "1"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	read.SetMaxOpenConns(4)
	read.SetMaxIdleConns(4)
	db := &DB{d: sqliteDialect(), write: write, read: read, logger: logger, now: time.Now}
	if err := db.migrate(ctx, goose.DialectSQLite3, "migrations/sqlite", nil); err != nil {
		db.Close()
		return nil, err
	}
	if exclusive {
		if err := db.reclaimLeases(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	db.lock, ok = lock, true
	logger.Debug("sqlite store open", "path", abs)
	return db, nil
}

// OpenPostgres connects to the PostgreSQL database named by dsn (a URL or a
// keyword/value string, as pgx accepts; runtime parameters such as
// search_path may be given in it) and brings its schema up to date. Several
// replicas may open the same database at once: migrations run under a
// session advisory lock.
func OpenPostgres(ctx context.Context, dsn string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors may echo the DSN, password included.
		return nil, tracker.Errorf(tracker.EInvalid, "open postgres: the database URL cannot be parsed")
	}
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(16)
	pool.SetMaxIdleConns(8)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres %s@%s/%s: %w", cfg.User, cfg.Host, cfg.Database, err)
	}
	db := &DB{d: postgresDialect(), write: pool, read: pool, logger: logger, now: time.Now}
	// The migration lock is per database and schema, so that replicas
	// sharing a schema exclude each other while unrelated schemas (one per
	// test, say) do not wait on one another.
	var dbName, schema string
	if err := pool.QueryRowContext(ctx, "SELECT current_database(), coalesce(current_schema(), '')").Scan(&dbName, &schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: read current schema: %w", err)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "vulnsync-migrate\x00%s\x00%s", dbName, schema)
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 300))
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: migration lock: %w", err)
	}
	if err := db.migrate(ctx, goose.DialectPostgres, "migrations/postgres", locker); err != nil {
		pool.Close()
		return nil, err
	}
	logger.Debug("postgres store open", "database", dbName, "schema", schema)
	return db, nil
}

// migrate applies the embedded migrations of one dialect.
func (db *DB) migrate(ctx context.Context, dialect goose.Dialect, dir string, locker lock.SessionLocker) error {
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if db.migrations, err = migrationVersions(dir); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	opts := []goose.ProviderOption{
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(db.logger.With("component", "migrate")),
	}
	if locker != nil {
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.write, sub, opts...)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// p.Close would close db.write: the provider is simply dropped.
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, r := range res {
		db.logger.Info("migration applied", "backend", db.d.name, "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

// Backend names the implementation: "sqlite" or "postgres".
func (db *DB) Backend() string { return db.d.name }

// Ping reports whether the database answers. On SQLite it asks the reader
// pool, which a long write transaction cannot hold up.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", db.d.name, err)
	}
	return nil
}

// Close closes the connection pools.
// stmtCache returns the statement cache of a pool, nil on PostgreSQL.
func (db *DB) stmtCache(pool *sql.DB) *stmtCache {
	if db.d.name != "sqlite" {
		return nil
	}
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if db.stmts == nil {
		db.stmts = map[*sql.DB]*stmtCache{}
	}
	c, ok := db.stmts[pool]
	if !ok {
		c = newStmtCache(pool)
		db.stmts[pool] = c
	}
	return c
}

func (db *DB) Close() error {
	db.stmtMu.Lock()
	for _, c := range db.stmts {
		c.close()
	}
	db.stmtMu.Unlock()
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if db.lock != nil {
		err = errors.Join(err, db.lock.Close()) // closing the file releases the lock
		db.lock = nil
	}
	if err != nil {
		return fmt.Errorf("close %s: %w", db.d.name, err)
	}
	return nil
}

// InTx runs fn in a read-write transaction and commits it when fn returns
// nil. When the database reports a conflict that a fresh attempt can resolve
// (PostgreSQL serialization failure or deadlock, SQLite busy), the whole of
// fn runs again, a few times, with a short randomised pause between attempts.
func (db *DB) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	if t, ok := store.TxFromContext(ctx).(*tx); ok && t.owner == db && t.write {
		return fn(t) // joins the caller's transaction: the caller commits
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = db.runTx(ctx, db.write, db.d.writeTx, fn)
		if err == nil || !isRetryable(err) || attempt == maxTxAttempts {
			break
		}
		pause := time.Duration(1<<attempt)*time.Millisecond + rand.N(2*time.Millisecond)
		db.logger.Debug("transaction conflict, retrying", "backend", db.d.name, "attempt", attempt, "pause", pause, "err", err)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("retry transaction: %w", ctx.Err())
		case <-t.C:
		}
	}
	if err != nil && isRetryable(err) {
		db.logger.Warn("transaction conflict persisted, giving up", "backend", db.d.name, "attempts", maxTxAttempts, "err", err)
	}
	var r *retryError
	if errors.As(err, &r) {
		// The retry marker is internal; callers see what caused it.
		return r.err
	}
	return err
}

// View runs fn in a read-only transaction: one consistent snapshot (a
// deferred read transaction in SQLite's WAL mode; REPEATABLE READ READ ONLY
// on PostgreSQL).
func (db *DB) View(ctx context.Context, fn func(tx store.Tx) error) error {
	if t, ok := store.TxFromContext(ctx).(*tx); ok && t.owner == db {
		return fn(t) // reads what the caller's transaction wrote
	}
	return db.runTx(ctx, db.read, db.d.readTx, fn)
}

func (db *DB) runTx(ctx context.Context, pool *sql.DB, opts *sql.TxOptions, fn func(tx store.Tx) error) (err error) {
	cache := db.stmtCache(pool)
	if cache != nil {
		// Runs after the rollback below: the connection is free again.
		defer cache.prepareWanted(ctx)
	}
	sqlTx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
				db.logger.Warn("rollback failed", "backend", db.d.name, "err", rbErr)
			}
		}
	}()
	if err := fn(&tx{tx: sqlTx, d: &db.d, now: db.now, stmts: cache, owner: db, write: opts == nil || !opts.ReadOnly}); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		committed = true // a failed commit has ended the transaction too
		return fmt.Errorf("commit transaction: %w", err)
	}
	committed = true
	return nil
}

// prepareFiles refuses an empty database file and makes sure the database
// and its WAL and shared-memory files are readable by this user only.
// SQLite gives the WAL and SHM files the database file's mode, so creating
// that file 0600 before SQLite does (whatever the umask) keeps all three
// private; files an older version left 0644 are tightened.
//
// A zero-length vulnsync.db is not a new database: SQLite would silently
// initialise it, and vulnsync would start empty over what was a truncated
// copy or a failed restore. It is reported instead.
func prepareFiles(path string) error {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.Size() == 0:
		return tracker.Errorf(tracker.EInvalid, "the database file %s is empty (0 bytes): it was truncated or never written. Restore it from a backup, or remove it to start with a new database", path)
	case err == nil:
	case errors.Is(err, os.ErrNotExist):
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("open sqlite: create %s: %w", path, err)
		}
		return f.Close()
	default:
		return fmt.Errorf("open sqlite: %w", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("open sqlite: make %s private: %w", p, err)
			}
		}
	}
	return nil
}

// reclaimLeases ends, at start, the leases of jobs that were running when
// the previous process stopped. On SQLite this process owns the database
// (lockDir), so such a lease cannot belong to anyone alive: waiting out its
// lease (30 s) would only delay the work. The jobs are taken over by the
// next claim, as any expired lease is.
func (db *DB) reclaimLeases(ctx context.Context) error {
	res, err := db.write.ExecContext(ctx, `UPDATE jobs SET leased_till = ? WHERE state = 'running'`, db.d.ts(time.Unix(0, 0).UTC()))
	if err != nil {
		return fmt.Errorf("open sqlite: reclaim the leases of a stopped process: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		db.logger.Info("reclaimed the leases of jobs running when vulnsync last stopped", "jobs", n)
	}
	return nil
}
