package jira

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2019-01-07T16:55:51.184-0330", time.Date(2019, 1, 7, 20, 25, 51, 184e6, time.UTC), true},
		{"2019-01-07T16:55:51.184+0000", time.Date(2019, 1, 7, 16, 55, 51, 184e6, time.UTC), true},
		{"2019-01-07T16:55:51-0800", time.Date(2019, 1, 8, 0, 55, 51, 0, time.UTC), true},
		{"2019-01-07T16:55:51.184Z", time.Date(2019, 1, 7, 16, 55, 51, 184e6, time.UTC), true},
		{"2019-01-07T16:55:51+02:00", time.Date(2019, 1, 7, 14, 55, 51, 0, time.UTC), true},
		{"2024-01-01T12:30Z", time.Date(2024, 1, 1, 12, 30, 0, 0, time.UTC), true},
		{"2024-03-15", time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC), true},
		{"", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"2019-01-07T16:55:51.184", time.Time{}, false},
		{"2019-02-30T16:55:51.184+0000", time.Time{}, false},
		{"1651316514000", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseTime(%q): error %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q): got %v, want %v", tt.in, got.UTC(), tt.want)
		}
	}
}

func TestJiraTimeJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{`"2019-01-07T16:55:51.184-0330"`, time.Date(2019, 1, 7, 20, 25, 51, 184e6, time.UTC), false},
		{`1651316514000`, time.UnixMilli(1651316514000), false},
		{`null`, time.Time{}, false},
		{`""`, time.Time{}, false},
		{`"soon"`, time.Time{}, true},
		{`true`, time.Time{}, true},
	}
	for _, tt := range tests {
		var got jiraTime
		err := json.Unmarshal([]byte(tt.in), &got)
		if (err != nil) != tt.wantErr {
			t.Errorf("decode %s: error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("decode %s: got %v, want %v", tt.in, got.Time, tt.want)
		}
	}
}
