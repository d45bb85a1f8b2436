package tracker

import (
	"slices"
	"time"
)

// SLA is a target's service-level policy: how many days an item of each
// severity may stay open. A due date (the built-in field due_date) is set
// from it when an item is created by an import and when an import reopens
// it; nil days mean no due date for that severity.
type SLA struct {
	Critical *int `json:"critical"`
	High     *int `json:"high"`
	Medium   *int `json:"medium"`
	Low      *int `json:"low"`
	Info     *int `json:"info"`
}

func days(n int) *int { return &n }

// DefaultSLA is the policy of a target that has none of its own: 7, 30, 90
// and 180 days for critical, high, medium and low; none for info.
func DefaultSLA() SLA {
	return SLA{Critical: days(7), High: days(30), Medium: days(90), Low: days(180)}
}

// maxSLADays bounds a policy's days (ten years).
const maxSLADays = 3650

// Validate checks every day count.
func (s SLA) Validate() error {
	p := Problems{}
	for _, sev := range Severities {
		if d := s.Days(sev); d != nil && (*d < 1 || *d > maxSLADays) {
			p.Add(string(sev), "must be a number of days from 1 to %d, or null for no due date", maxSLADays)
		}
	}
	return p.Err(EInvalid, "invalid SLA policy")
}

// Days returns the days allowed for sev, nil for none.
func (s SLA) Days(sev Severity) *int {
	switch sev {
	case SeverityCritical:
		return s.Critical
	case SeverityHigh:
		return s.High
	case SeverityMedium:
		return s.Medium
	case SeverityLow:
		return s.Low
	case SeverityInfo:
		return s.Info
	}
	return nil
}

// DueDate is the due date (YYYY-MM-DD, in UTC) of an item of severity sev
// whose clock starts at from, and false when the policy sets none.
func (s SLA) DueDate(sev Severity, from time.Time) (string, bool) {
	d := s.Days(sev)
	if d == nil {
		return "", false
	}
	return from.UTC().AddDate(0, 0, *d).Format(time.DateOnly), true
}

// Overdue reports whether the item is still open (open or in progress)
// past its due date; today is a YYYY-MM-DD date. An item is due on its due
// date and overdue the day after.
func (it Item) Overdue(today string) bool {
	due, _ := it.Fields["due_date"].(string)
	if due == "" || (it.Status != StatusOpen && it.Status != StatusInProgress) {
		return false
	}
	return due < today
}

// OpenStatuses are the statuses in which an item still needs work: only
// such items can be overdue.
var OpenStatuses = []Status{StatusOpen, StatusInProgress}

// IsOpen reports whether an item in status s still needs work (one of
// OpenStatuses): what the dashboard counts as open and ages.
func (s Status) IsOpen() bool { return slices.Contains(OpenStatuses, s) }

// Import records one scanner report imported into a target: who, when,
// which file, and what it did to the target's items.
type Import struct {
	ID           string    `json:"id"`
	TargetID     string    `json:"target_id"`
	Format       string    `json:"format"`
	Scanner      string    `json:"scanner"`
	Filename     string    `json:"filename"`
	SHA256       string    `json:"sha256"`
	Size         int64     `json:"size"`
	Actor        string    `json:"actor"`
	CloseMissing bool      `json:"close_missing"`
	Findings     int       `json:"findings"`
	ImportCounts           // what happened to the items
	CreatedAt    time.Time `json:"created_at"`
}

// ImportCounts says what an import did, item by item (vulnerabilities and
// findings alike): each item it touched is counted once.
type ImportCounts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Reopened  int `json:"reopened"`
	Closed    int `json:"closed"`
	Unchanged int `json:"unchanged"`
}
