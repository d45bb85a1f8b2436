package jirasync_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apptest"
)

// Lengths are counted as Jira counts them (characters, not bytes): a
// 90-character Japanese title is accepted and reaches Jira whole; 256
// characters are refused with a message that counts characters; control
// characters are refused before anything is stored.
func TestTextIsCountedInCharactersAndControlsAreRefused(t *testing.T) {
	e := apptest.New(t, apptest.Options{})
	s := e.Setup("web")
	title := strings.Repeat("脆弱性", 30) // 90 characters, 270 bytes
	it := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": title, "severity": "high"})
	e.Sync()
	if is := readIssue(t, e, jiraKey(t, e, it.ID)); is.Fields.Summary != title {
		t.Fatalf("Jira summary %q, want the 90-character title", is.Fields.Summary)
	}
	var bad struct {
		Error  string            `json:"error"`
		Fields map[string]string `json:"fields"`
	}
	e.Must(400, "POST", "/api/v1/targets/"+s.TargetID+"/items", map[string]any{"kind": "vulnerability", "title": strings.Repeat("脆", 256), "severity": "high"}, &bad)
	if !strings.Contains(bad.Fields["title"], "it has 256") {
		t.Errorf("256-character title: %+v, want a message counting 256 characters", bad)
	}
	for field, v := range map[string]map[string]any{
		"title":       {"title": "SQLi\x00 in login"},
		"description": {"description": "bell\x07"},
	} {
		body := map[string]any{"kind": "vulnerability", "title": "ok", "severity": "high"}
		for k, x := range v {
			body[k] = x
		}
		bad.Fields = nil
		e.Must(400, "POST", "/api/v1/targets/"+s.TargetID+"/items", body, &bad)
		if !strings.Contains(bad.Fields[field], "control character") {
			t.Errorf("%s with a control character: %+v", field, bad)
		}
		e.Must(400, "PATCH", "/api/v1/items/"+it.ID, v, nil)
	}
	e.Must(400, "POST", "/api/v1/items/"+it.ID+"/comments", map[string]any{"body": "nul \x00 here"}, nil)
	if got := getItem(t, e, it.ID); got.Title != title {
		t.Errorf("a refused patch changed the title to %q", got.Title)
	}
}

// A comment of 11,000 Japanese characters is valid in Jira (33,000 bytes):
// it is mirrored, by webhook and by reconciliation, and never keeps the
// comments after it out.
func TestLongJiraCommentsAreMirroredAndNeverBlockOthers(t *testing.T) {
	clock := apptest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	e := apptest.New(t, apptest.Options{Clock: clock})
	_, it, key := setup(t, e)
	long := strings.Repeat("修", 11000)

	clock.Advance(time.Second)
	jiraComment(t, e, key, long)
	e.Deliver()
	e.Sync()
	if cs := comments(t, e, it.ID); len(cs) != 1 || cs[0]["body"] != long {
		t.Fatalf("by webhook: %d comments, want the 11,000-character one", len(cs))
	}

	// Deliveries lost: reconciliation finds the next long comment and the
	// short one after it.
	e.HoldWebhooks(true)
	clock.Advance(time.Second)
	jiraComment(t, e, key, long+"二")
	clock.Advance(time.Second)
	jiraComment(t, e, key, "short one after it")
	e.Deliver()
	e.Held()
	clock.Advance(10 * time.Minute)
	e.Sync()
	cs := comments(t, e, it.ID)
	var bodies []string
	for _, c := range cs {
		b, _ := c["body"].(string)
		bodies = append(bodies, b[:min(len(b), 12)])
	}
	if len(cs) != 3 || cs[2]["body"] != "short one after it" || cs[1]["body"] != long+"二" {
		t.Fatalf("by reconciliation: comments %q, want both new ones in order", bodies)
	}
}
