package jira

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// jiraTimeLayouts are the timestamp shapes Jira sends: offsets without a
// colon (2019-01-07T16:55:51.184-0330, the common case), RFC 3339,
// minute-precision X-RateLimit-Reset values (2024-01-01T12:30Z) and plain
// dates (due dates). Fractional seconds of any length are accepted by
// time.Parse after the seconds field.
var jiraTimeLayouts = []string{
	"2006-01-02T15:04:05-0700",
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04-0700",
	time.DateOnly,
}

// ParseTime parses a Jira timestamp in any of the formats Jira uses.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("parse Jira time: empty")
	}
	for _, layout := range jiraTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("parse Jira time %q: not a Jira timestamp", s)
}

// jiraTime decodes a timestamp given as a Jira string or as epoch
// milliseconds (attachments in some answers), or null.
type jiraTime struct{ time.Time }

// UnmarshalJSON accepts a Jira timestamp string, epoch milliseconds or null.
func (t *jiraTime) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			t.Time = time.Time{}
			return nil
		}
		p, err := ParseTime(s)
		if err != nil {
			return err
		}
		t.Time = p
		return nil
	}
	ms, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("parse Jira time %s: neither a string nor epoch milliseconds", b)
	}
	t.Time = time.UnixMilli(ms).UTC()
	return nil
}
