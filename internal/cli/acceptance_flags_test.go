package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// --max-acceptance-days (or VULNSYNC_MAX_ACCEPTANCE_DAYS) bounds how far
// ahead a risk acceptance may expire: by default vulnsync's ceiling; a
// value outside 1…ceiling, or not a number, is a usage error.
func TestMaxAcceptanceDaysFlag(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, c := range []struct {
		args []string
		env  func(string) string
		want int
	}{
		{nil, env(), 1098},
		{[]string{"--max-acceptance-days", "365"}, env(), 365},
		{nil, env("VULNSYNC_MAX_ACCEPTANCE_DAYS", "90"), 90},
		{[]string{"--max-acceptance-days", "30"}, env("VULNSYNC_MAX_ACCEPTANCE_DAYS", "90"), 30},
	} {
		got, err := parseServe("serve", c.args, c.env, &bytes.Buffer{})
		if err != nil || got.maxAcceptanceDays != c.want {
			t.Errorf("%q: %d, %v; want %d", c.args, got.maxAcceptanceDays, err, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		env  func(string) string
		want string
	}{
		{[]string{"--max-acceptance-days", "0"}, env(), "between 1 and 1098"},
		{[]string{"--max-acceptance-days", "2000"}, env(), "between 1 and 1098"},
		{[]string{"--max-acceptance-days", "a year"}, env(), "max-acceptance-days"},
		{nil, env("VULNSYNC_MAX_ACCEPTANCE_DAYS", "1y"), "VULNSYNC_MAX_ACCEPTANCE_DAYS"},
	} {
		_, err := parseServe("serve", c.args, c.env, &bytes.Buffer{})
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want a usage error saying %q", c.args, err, c.want)
		}
	}
}
