package jirasync

import "time"

// maxClockSkew is how far ahead of the server clock a time from Jira may
// be and still be believed. Jira's and vulnsync's clocks are both set by
// NTP in practice; minutes of difference mean a forged or broken time.
const maxClockSkew = 5 * time.Minute

// boundTime returns at, or now when at lies beyond now plus the allowed
// skew. A change can only have happened before it was reported, so a later
// time is never evidence that the change is newer.
func boundTime(at, now time.Time) time.Time {
	if at.After(now.Add(maxClockSkew)) {
		return now
	}
	return at
}

// saneTimes returns times without the entries that lie beyond now plus
// the skew (a watermark poisoned before times were bounded): an absent
// time loses to any real change, which is the repair. The map given is
// not modified.
func saneTimes(times map[string]time.Time, now time.Time) map[string]time.Time {
	limit := now.Add(maxClockSkew)
	var out map[string]time.Time
	for k, t := range times {
		if !t.After(limit) {
			continue
		}
		if out == nil {
			out = make(map[string]time.Time, len(times))
			for k2, t2 := range times {
				out[k2] = t2
			}
		}
		delete(out, k)
	}
	if out == nil {
		return times
	}
	return out
}

// repair forgets watermarks that lie in the future (see saneTimes).
func (s *state) repair(now time.Time) {
	s.Times = saneTimes(s.Times, now)
}
