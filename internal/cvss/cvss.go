// Package cvss scores CVSS vectors (versions 3.0, 3.1 and 4.0) and turns a
// score into vulnsync's severity.
//
// It exists so that every way an item gets a vector — a scanner report, the
// API, the UI — checks and scores it with the same rules: a vector vulnsync
// accepts is one Jira users can paste into any CVSS calculator and get the
// same number. The arithmetic is github.com/pandatix/go-cvss's (see
// docs/decisions.md); this package only picks the version and rounds.
package cvss

import (
	"fmt"
	"strings"

	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Score parses vector and returns its base score (0–10, one decimal). The
// version comes from the vector's prefix: "CVSS:3.0/", "CVSS:3.1/" or
// "CVSS:4.0/". An unknown prefix or an invalid metric is an error saying
// which, meant to be shown to whoever supplied the vector.
func Score(vector string) (float64, error) {
	v := strings.TrimSpace(vector)
	switch {
	case strings.HasPrefix(v, "CVSS:3.1/"):
		c, err := gocvss31.ParseVector(v)
		if err != nil {
			return 0, fmt.Errorf("invalid CVSS 3.1 vector %q: %w", v, err)
		}
		return c.BaseScore(), nil
	case strings.HasPrefix(v, "CVSS:3.0/"):
		c, err := gocvss30.ParseVector(v)
		if err != nil {
			return 0, fmt.Errorf("invalid CVSS 3.0 vector %q: %w", v, err)
		}
		return c.BaseScore(), nil
	case strings.HasPrefix(v, "CVSS:4.0/"):
		c, err := gocvss40.ParseVector(v)
		if err != nil {
			return 0, fmt.Errorf("invalid CVSS 4.0 vector %q: %w", v, err)
		}
		return c.Score(), nil
	}
	return 0, fmt.Errorf("invalid CVSS vector %q: it must start with CVSS:3.0/, CVSS:3.1/ or CVSS:4.0/", v)
}

// Severity is the qualitative rating of a score, as the CVSS 3.1 and 4.0
// specifications define it (None maps to info).
func Severity(score float64) tracker.Severity {
	switch {
	case score >= 9.0:
		return tracker.SeverityCritical
	case score >= 7.0:
		return tracker.SeverityHigh
	case score >= 4.0:
		return tracker.SeverityMedium
	case score > 0:
		return tracker.SeverityLow
	}
	return tracker.SeverityInfo
}
