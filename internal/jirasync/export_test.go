package jirasync

// BreakConflictPolicy makes e resolve every conflict in vulnsync's favour,
// whatever the times of the changes: the broken policy the convergence
// oracle must reject. Test-only (see jiraNewer).
func BreakConflictPolicy(e *Engine) { e.vulnsyncAlwaysWins.Store(true) }
