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
