package cvss

import (
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

func TestScore(t *testing.T) {
	cases := []struct {
		vector string
		want   float64
	}{
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0},
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1},
		{"  CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:L ", 1.8},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0},
	}
	for _, c := range cases {
		got, err := Score(c.vector)
		if err != nil {
			t.Errorf("Score(%q): %v", c.vector, err)
			continue
		}
		if got != c.want {
			t.Errorf("Score(%q) = %v, want %v", c.vector, got, c.want)
		}
	}
}

func TestScoreRefusesInvalidVectors(t *testing.T) {
	for _, v := range []string{"", "AV:N/AC:L", "CVSS:2.0/AV:N", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N", "CVSS:4.0/AV:N/AC:L"} {
		_, err := Score(v)
		if err == nil {
			t.Errorf("Score(%q) accepted an invalid vector", v)
			continue
		}
		if !strings.Contains(err.Error(), "invalid CVSS") {
			t.Errorf("Score(%q) error %q does not say the vector is invalid", v, err)
		}
	}
}

func TestSeverity(t *testing.T) {
	cases := map[float64]tracker.Severity{10: "critical", 9.0: "critical", 8.9: "high", 7.0: "high", 6.9: "medium", 4.0: "medium", 3.9: "low", 0.1: "low", 0: "info"}
	for score, want := range cases {
		if got := Severity(score); got != want {
			t.Errorf("Severity(%v) = %s, want %s", score, got, want)
		}
	}
}
