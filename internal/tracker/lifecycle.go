package tracker

import "strings"

// RetestResult is an analyst's verdict on a fix: it passed (the item is
// resolved) or failed (the item is reopened, and so is its Jira issue).
type RetestResult string

// The verdicts of a retest.
const (
	RetestPass RetestResult = "pass"
	RetestFail RetestResult = "fail"
)

// Retest is a retest verdict with the evidence behind it (a request and
// response, a scanner's output, a note); the evidence goes to Jira as a
// comment, so the engineer sees why.
type Retest struct {
	Result   RetestResult `json:"result"`
	Evidence string       `json:"evidence"`
}

// Validate checks a verdict before it changes anything.
func (r *Retest) Validate() error {
	p := Problems{}
	r.Evidence = strings.TrimSpace(r.Evidence)
	if r.Result != RetestPass && r.Result != RetestFail {
		p.Add("result", "must be %q or %q", RetestPass, RetestFail)
	}
	switch {
	case r.Evidence == "":
		p.Add("evidence", "must not be empty: say what was checked")
	default:
		checkText(p, "evidence", r.Evidence, MaxTextLen-200, true, " (it becomes a comment)")
	}
	return p.Err(EInvalid, "invalid retest")
}

// AwaitsRetest reports whether an item's status is a claimed fix that a
// retest (an analyst's verdict or a scanner's re-import) settles.
func (s Status) AwaitsRetest() bool { return s == StatusFixed }
