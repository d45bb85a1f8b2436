package jirasync

import "time"

// jiraNewer is the conflict rule of G3 for a value changed on both sides:
// Jira's change wins when it is newer than vulnsync's, by each side's own
// time of the change (not by the order the changes arrive in).
//
// The engine's vulnsyncAlwaysWins switch replaces the rule with "vulnsync
// always wins": a deliberately broken policy that the convergence test's
// oracle must catch (TestConvergenceOracleCatchesBrokenPolicy). It is an
// unexported field of one engine, set only by BreakConflictPolicy in
// export_test.go, which is compiled into this package's tests alone:
// production code and apptest cannot reach it, and tests running in
// parallel each have their own engine, so one test's broken engine never
// changes another's decisions.
func (e *Engine) jiraNewer(jiraAt, vulnsyncAt time.Time) bool {
	if e.vulnsyncAlwaysWins.Load() {
		return false
	}
	return jiraAt.After(vulnsyncAt)
}

// overtaken reports whether a webhook's value of a field, changed in Jira
// at "at" (by vulnsync's service account when ours), is no longer what
// Jira holds because vulnsync wrote the field since (state.Pushed). Taking
// it for Jira's value would roll the synced state back, and the next push
// would then send, from that stale base, values that overwrite a newer
// change made in Jira meanwhile (its webhook still on the way). A person's
// change older than our write still counts for newest-change-wins against
// the item; only the synced state keeps what we wrote. Our own write
// coming back is overtaken unless it is the latest one (its value is the
// synced one): an earlier write, or a step of a multi-transition move,
// arriving late. A change in the same instant as our write is taken as the
// earlier one, as in fresh: we write only after reading Jira's state.
func overtaken(st state, id string, at time.Time, ours, sameAsSynced bool) bool {
	pushed, ok := st.Pushed[id]
	if !ok || (ours && sameAsSynced) {
		return false
	}
	return !at.After(pushed)
}
