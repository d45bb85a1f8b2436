package web

import (
	"sort"

	"github.com/vulnsync/vulnsync/internal/store"
)

// Kinds of sync log row as the UI shows them. The store keeps what
// happened ("ok", "error", "skipped"); the UI tells a security lead what
// needs attention: a failure that a later attempt of the same action on the
// same item got through is "recovered", not "failed", and an event left
// alone on purpose (an echo of our own write, a comment already mirrored)
// is quiet "info", not a warning.
const (
	rowOK        = "ok"
	rowFailed    = "failed"
	rowRecovered = "recovered"
	rowInfo      = "info"
)

// logRow is one sync log event with how the UI shows it.
type logRow struct {
	store.SyncEvent
	// Shown is rowOK, rowFailed, rowRecovered or rowInfo.
	Shown string
}

// Failed reports whether the row still needs attention.
func (r logRow) Failed() bool { return r.Shown == rowFailed }

// readLog classifies events (in any order) and counts the failures that
// still stand. An error is recovered when a later event of the same item
// (or of the integration itself, for rows without an item) and the same
// action succeeded: a transition refused because the issue had moved, then
// done after reading where it was; a reconciliation that failed, then ran.
func readLog(evs []store.SyncEvent) (rows []logRow, failures int) {
	type key struct{ item, action string }
	lastOK := map[key]store.SyncEvent{}
	for _, e := range evs {
		if e.Result != "ok" {
			continue
		}
		k := key{e.ItemID, e.Action}
		if prev, ok := lastOK[k]; !ok || later(e, prev) {
			lastOK[k] = e
		}
	}
	rows = make([]logRow, 0, len(evs))
	for _, e := range evs {
		row := logRow{SyncEvent: e, Shown: rowOK}
		switch e.Result {
		case "error":
			row.Shown = rowFailed
			if ok, found := lastOK[key{e.ItemID, e.Action}]; found && later(ok, e) {
				row.Shown = rowRecovered
			} else {
				failures++
			}
		case "skipped":
			row.Shown = rowInfo
		}
		rows = append(rows, row)
	}
	return rows, failures
}

// later reports whether a was recorded after b: by time, and by id (the
// store's order of insertion) within the same instant.
func later(a, b store.SyncEvent) bool {
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	return a.ID > b.ID
}

// failuresFirst orders rows with the failures that still stand first,
// each part newest first.
func failuresFirst(rows []logRow) []logRow {
	out := append([]logRow(nil), rows...)
	sort.SliceStable(out, func(i, j int) bool {
		fi, fj := out[i].Failed(), out[j].Failed()
		if fi != fj {
			return fi
		}
		return out[i].At.After(out[j].At)
	})
	return out
}
