package web

import (
	"sort"

	"github.com/vulnsync/vulnsync/internal/store"
)

// Kinds of sync log row as the UI shows them: the store's one rule
// (store.EventOutcomes) tells a failure that still stands from one a later
// attempt got through, and quiet info from a warning.
const (
	rowOK        = store.OutcomeOK
	rowFailed    = store.OutcomeFailed
	rowRecovered = store.OutcomeRecovered
	rowInfo      = store.OutcomeInfo
)

// logRow is one sync log event with how the UI shows it.
type logRow struct {
	store.SyncEvent
	// Shown is rowOK, rowFailed, rowRecovered or rowInfo.
	Shown string
}

// Failed reports whether the row still needs attention.
func (r logRow) Failed() bool { return r.Shown == rowFailed }

// readLog classifies a whole log (in any order) by store.EventOutcomes and
// counts the failures that still stand.
func readLog(evs []store.SyncEvent) (rows []logRow, failures int) {
	shown, failures := store.EventOutcomes(evs, evs)
	rows = make([]logRow, len(evs))
	for i, e := range evs {
		rows[i] = logRow{SyncEvent: e, Shown: shown[i]}
	}
	return rows, failures
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
