package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// PostgresDSN returns a DSN for an empty schema on the test server named by
// VULNSYNC_TEST_POSTGRES, dropped when the test ends; it skips the test
// with a clear message when the variable is unset. Every test gets its own
// schema, so tests run in parallel on one database.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("VULNSYNC_TEST_POSTGRES")
	if dsn == "" {
		tb.Skip("VULNSYNC_TEST_POSTGRES not set: skipping a PostgreSQL test")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatalf("connect to test server: %v", err)
	}
	schema := "t_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(tb.Context(), "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatalf("parse VULNSYNC_TEST_POSTGRES: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}
