package cli

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/store/sqldb"
)

// runRecount is `vulnsync recount`: it recomputes the item and link
// counters (store.CountsTx) from the rows they count, corrects them and
// reports any drift, each counter as a warning in the log and a line on
// stdout. The writers keep the counters in the transaction of each change,
// so drift means a bug or a hand edit of the database; the recount scans
// every item, which is why no request path does it. On SQLite it needs the
// data directory to itself (stop serve first); on PostgreSQL it may run
// beside the replicas.
func runRecount(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("recount", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr(getenv, "VULNSYNC_DATA", "./vulnsync-data"), "data directory of the embedded SQLite store (env VULNSYNC_DATA)")
	db := fs.String("db", getenv("VULNSYNC_DB"), "PostgreSQL URL postgres://… instead of embedded SQLite (env VULNSYNC_DB)")
	logLevel := fs.String("log-level", "info", "log level on stderr: debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *logLevel, "text")
	if err != nil {
		return err
	}
	st, err := sqldb.Open(ctx, *db, *data, log)
	if err != nil {
		return fmt.Errorf("recount: open store: %w", err)
	}
	defer st.Close()
	var drift []store.CounterDrift
	err = st.InTx(ctx, func(tx store.Tx) error {
		var err error
		drift, err = tx.RecountCounters(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("recount: %w", err)
	}
	for _, d := range drift {
		log.Warn("counter drift corrected", "counter", d.Counter, "key", d.Key, "stored", d.Stored, "actual", d.Actual)
		fmt.Fprintf(stdout, "%s %s: was %d, is %d (corrected)\n", d.Counter, d.Key, d.Stored, d.Actual)
	}
	fmt.Fprintf(stdout, "%d counter(s) had drifted\n", len(drift))
	return nil
}
