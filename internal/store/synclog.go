package store

// Outcomes of a sync log row as people read it. The store keeps what
// happened (Result "ok", "error", "skipped"); a security lead needs to know
// what still needs attention: a failure that a later attempt of the same
// action on the same item got through is "recovered", not "failed", and an
// event left alone on purpose (an echo of our own write, a comment already
// mirrored) is quiet "info", not a warning. The UI and the API both read
// the log through EventOutcomes, so the rule lives here once.
const (
	OutcomeOK        = "ok"
	OutcomeFailed    = "failed"
	OutcomeRecovered = "recovered"
	OutcomeInfo      = "info"
)

// RecoveryKey groups the events that can recover one another: the same
// item (empty for rows of the integration itself, such as a
// reconciliation) and the same action.
type RecoveryKey struct {
	ItemID string
	Action string
}

// KeyOf is the RecoveryKey of e.
func KeyOf(e SyncEvent) RecoveryKey { return RecoveryKey{ItemID: e.ItemID, Action: e.Action} }

// EventOutcomes classifies evs (in any order): out[i] is the outcome of
// evs[i]. successes are the ok events that may recover a failure (for a
// whole log, evs itself; for one page of it, the newest ok event of each
// failed row's key). An error is recovered when a success of its key was
// recorded after it: a transition refused because the issue had moved,
// then done after reading where it was; a reconciliation that failed, then
// ran. failures counts the errors that still stand.
func EventOutcomes(evs, successes []SyncEvent) (out []string, failures int) {
	lastOK := map[RecoveryKey]SyncEvent{}
	for _, e := range successes {
		if e.Result != "ok" {
			continue
		}
		k := KeyOf(e)
		if prev, ok := lastOK[k]; !ok || RecordedAfter(e, prev) {
			lastOK[k] = e
		}
	}
	out = make([]string, len(evs))
	for i, e := range evs {
		switch e.Result {
		case "error":
			if ok, found := lastOK[KeyOf(e)]; found && RecordedAfter(ok, e) {
				out[i] = OutcomeRecovered
			} else {
				out[i] = OutcomeFailed
				failures++
			}
		case "skipped":
			out[i] = OutcomeInfo
		default:
			out[i] = OutcomeOK
		}
	}
	return out, failures
}

// RecordedAfter reports whether a was recorded after b: by time, and by id
// (the store's order of insertion) within the same instant.
func RecordedAfter(a, b SyncEvent) bool {
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	return a.ID > b.ID
}
