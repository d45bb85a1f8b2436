package sqldb

import (
	"log/slog"
	"testing"
)

// testLogger sends the store's warnings to the test's output.
func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
