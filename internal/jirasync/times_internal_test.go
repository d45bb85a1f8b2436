package jirasync

import (
	"testing"
	"time"
)

// A watermark written before times were bounded (the year 2100) is
// forgotten, so the next real change is newer than it; sane ones stay, and
// the map given is left as it was.
func TestPoisonedWatermarksAreRepaired(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s := state{Times: map[string]time.Time{
		"customfield_10050": time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		"status":            now.Add(-time.Hour),
		"priority":          now.Add(maxClockSkew), // at the edge: believed
	}}
	orig := s.Times
	s.repair(now)
	if _, ok := s.Times["customfield_10050"]; ok {
		t.Errorf("the future watermark was kept: %v", s.Times)
	}
	if len(s.Times) != 2 {
		t.Errorf("sane watermarks lost: %v", s.Times)
	}
	if len(orig) != 3 {
		t.Errorf("repair changed the map it was given: %v", orig)
	}
	if got := boundTime(now.Add(time.Hour), now); !got.Equal(now) {
		t.Errorf("boundTime of an hour ahead = %v, want now", got)
	}
	if at := now.Add(-time.Minute); !boundTime(at, now).Equal(at) {
		t.Errorf("boundTime changed a past time")
	}
}
