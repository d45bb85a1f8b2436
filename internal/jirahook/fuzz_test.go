package jirahook

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The fuzz targets check what every delivery body must keep, whatever a
// sender puts in it: Parse never panics and is deterministic; an error is
// either a refusal (no event) or ErrUnsupported (an event of another kind,
// recorded as ignored); a parsed event names its issue and is one of the
// kinds vulnsync acts on; and its key fields survive being written out as
// a delivery again and parsed back. Verify accepts exactly the signature
// Sign makes.

const fuzzMaxBody = 8 << 10

var handledKinds = []string{IssueCreated, IssueUpdated, IssueDeleted, CommentCreated, CommentUpdated, CommentDeleted}

func handled(kind string) bool {
	for _, k := range handledKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// seedDeliveries are small payloads of every shape Parse tells apart, and
// the recorded deliveries of ../shared when they are there.
func seedDeliveries() [][]byte {
	out := [][]byte{
		[]byte(`{"timestamp":1764316800000,"webhookEvent":"jira:issue_updated","issue_event_type_name":"issue_generic","user":{"accountId":"5b10a2844c20165700ede21g","displayName":"Dev User"},"issue":{"id":"10001","key":"SEC-1","fields":{"project":{"key":"SEC"},"summary":"IDOR","labels":["a"],"status":{"name":"To Do","statusCategory":{"key":"new"}},"priority":{"name":"High"},"updated":"2026-11-28T08:00:00.000+0000"}},"changelog":{"id":"1","items":[{"field":"priority","fieldId":"priority","from":"3","fromString":"Medium","to":"2","toString":"High"}]}}`),
		[]byte(`{"timestamp":1764316800000,"webhookEvent":"comment_created","comment":{"id":"10100","self":"https://jira.example/rest/api/2/issue/10001/comment/10100","body":"hi","author":{"name":"dev"},"created":"2026-11-28T08:00:00.000+0000"}}`),
		[]byte(`{"timestamp":1,"webhookEvent":"jira:issue_deleted","issue":{"id":"10002","key":"SEC-2","fields":{}}}`),
		[]byte(`{"webhookEvent":"jira:issue_updated","issue_event_type_name":"issue_commented","issue":{"id":"7","key":"X-7","fields":{"project":{"key":"X"}}},"comment":{"id":"9","body":"x"}}`),
		[]byte(`{"webhookEvent":"worklog_created","timestamp":5}`),
		[]byte(`{"webhookEvent":""}`),
		[]byte(`[]`),
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "jira", "recorded", "mattermost-plugin-jira", "webhooks", "*.json"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && len(b) <= fuzzMaxBody {
			out = append(out, b)
		}
	}
	return out
}

func FuzzParse(f *testing.F) {
	for _, b := range seedDeliveries() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > fuzzMaxBody {
			t.Skip("body longer than the fuzz bound")
		}
		ev, err := Parse(body)
		again, err2 := Parse(body)
		if !reflect.DeepEqual(ev, again) || (err == nil) != (err2 == nil) {
			t.Fatalf("Parse is not deterministic on %q", body)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "parse webhook") && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %q is neither a parse error nor ErrUnsupported", err)
			}
			if errors.Is(err, ErrUnsupported) {
				if ev == nil || ev.Kind == "" || handled(ev.Kind) {
					t.Fatalf("ErrUnsupported with event %+v", ev)
				}
			} else if ev != nil {
				t.Fatalf("a refused delivery returned an event: %+v (%v)", ev, err)
			}
			return
		}
		if ev == nil || !handled(ev.Kind) || ev.IssueID == "" {
			t.Fatalf("parsed %q into %+v: want a handled kind naming its issue", body, ev)
		}
		if ev.Issue != nil && ev.IssueID != ev.Issue.ID {
			t.Fatalf("IssueID %q, issue id %q", ev.IssueID, ev.Issue.ID)
		}
		if kind, ok := ev.CommentEvent(); ok != (ev.Comment != nil && kind != "") {
			t.Fatalf("CommentEvent() = %q, %v with comment %+v", kind, ok, ev.Comment)
		}
		back := reencode(t, ev)
		ev2, err := Parse(back)
		if err != nil {
			t.Fatalf("the parsed event written out again does not parse: %v\nbody: %s", err, back)
		}
		compareKeyFields(t, ev, ev2, back)
	})
}

// reencode writes an event's key fields out as a delivery body.
func reencode(t *testing.T, ev *Event) []byte {
	t.Helper()
	p := map[string]any{"webhookEvent": ev.Kind}
	if ev.EventType != "" {
		p["issue_event_type_name"] = ev.EventType
	}
	if ms := ev.Time.UnixMilli(); ms > 0 {
		p["timestamp"] = ms
	}
	if ev.Issue != nil {
		p["issue"] = map[string]any{"id": ev.IssueID, "key": ev.IssueKey, "fields": map[string]any{"project": map[string]any{"key": ev.ProjectKey}}}
	}
	if ev.Comment != nil {
		c := map[string]any{"id": ev.Comment.ID, "body": ev.Comment.Body}
		if ev.Issue == nil {
			c["self"] = "https://jira.example/rest/api/2/issue/" + ev.IssueID + "/comment/" + ev.Comment.ID
		}
		p["comment"] = c
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("marshal %+v: %v", p, err)
	}
	return b
}

func compareKeyFields(t *testing.T, want, got *Event, body []byte) {
	t.Helper()
	if got.Kind != want.Kind || got.EventType != want.EventType || got.IssueID != want.IssueID || got.IssueKey != want.IssueKey || got.ProjectKey != want.ProjectKey {
		t.Fatalf("key fields changed in a round trip:\nwant %+v\ngot  %+v\nbody: %s", want, got, body)
	}
	if ms := want.Time.UnixMilli(); ms > 0 && !got.Time.Equal(time.UnixMilli(ms)) {
		t.Fatalf("time %v, want %v\nbody: %s", got.Time, want.Time, body)
	}
	// The body is not compared: Parse turns Jira's wiki markup into
	// Markdown, and Markdown written back as wiki markup is not the same
	// text (a trailing backslash is a line break in one and a character in
	// the other). The rich-text round trips are FuzzWiki's and FuzzToADF's.
	if (got.Comment == nil) != (want.Comment == nil) || got.Comment != nil && got.Comment.ID != want.Comment.ID {
		t.Fatalf("comment %+v, want %+v\nbody: %s", got.Comment, want.Comment, body)
	}
}

// FuzzParseWellFormed builds well-formed deliveries from their key fields:
// each must parse, into those fields.
func FuzzParseWellFormed(f *testing.F) {
	f.Add(uint8(1), int64(1764316800000), "10001", "SEC-1", "SEC", "", "", true)
	f.Add(uint8(3), int64(1), "10001", "", "", "10100", "a *comment*", false)
	f.Add(uint8(5), int64(0), "42", "X-1", "X", "7", "", true)
	f.Fuzz(func(t *testing.T, kind uint8, ts int64, issueID, key, project, commentID, commentBody string, withIssue bool) {
		if issueID == "" || strings.ContainsAny(issueID, "/") || !withIssue && (commentID == "" || strings.Contains(commentID, "/")) {
			t.Skip("no issue to name")
		}
		if !withIssue && !isDigits(issueID) {
			t.Skip("comment.self names an issue by its numeric id")
		}
		want := &Event{Kind: handledKinds[int(kind)%len(handledKinds)], IssueID: issueID}
		if ts > 0 {
			want.Time = time.UnixMilli(ts).UTC()
		}
		if withIssue {
			want.IssueKey, want.ProjectKey = key, project
		}
		p := map[string]any{"webhookEvent": want.Kind}
		if ts > 0 {
			p["timestamp"] = ts
		}
		if withIssue {
			p["issue"] = map[string]any{"id": issueID, "key": key, "fields": map[string]any{"project": map[string]any{"key": project}}}
		}
		if commentID != "" {
			c := map[string]any{"id": commentID, "body": commentBody}
			if !withIssue {
				c["self"] = "https://jira.example/rest/api/2/issue/" + issueID + "/comment/" + commentID
			}
			p["comment"] = c
		}
		for _, s := range []string{issueID, key, project, commentID, commentBody} {
			if !utf8.ValidString(s) {
				t.Skip("JSON strings are UTF-8")
			}
		}
		body, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal %+v: %v", p, err)
		}
		got, err := Parse(body)
		if err != nil {
			t.Fatalf("well-formed delivery refused: %v\nbody: %s", err, body)
		}
		if got.Kind != want.Kind || got.IssueID != want.IssueID || got.IssueKey != want.IssueKey || got.ProjectKey != want.ProjectKey || !got.Time.Equal(want.Time) {
			t.Fatalf("parsed %+v, want %+v\nbody: %s", got, want, body)
		}
		if (got.Comment != nil) != (commentID != "") || got.Comment != nil && got.Comment.ID != commentID {
			t.Fatalf("comment %+v, want id %q\nbody: %s", got.Comment, commentID, body)
		}
	})
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// FuzzVerify: the signature Sign makes verifies, any other body or header
// does not, and no header makes Verify panic.
func FuzzVerify(f *testing.F) {
	f.Add([]byte("It's a Secret to Everybody"), []byte("Hello World!"), "sha256=00")
	f.Add([]byte(""), []byte("{}"), "sha1=zz")
	f.Fuzz(func(t *testing.T, secret, body []byte, header string) {
		sig := Sign(secret, body)
		if err := Verify(secret, sig, body); err != nil {
			t.Fatalf("Verify(Sign(body)) = %v", err)
		}
		if err := Verify(secret, sig, append(append([]byte{}, body...), 'x')); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("a changed body verified: %v", err)
		}
		err := Verify(secret, header, body)
		switch {
		case err == nil && !strings.EqualFold(strings.TrimSpace(header), sig) && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(header)), "sha1=") && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(header)), "sha512="):
			t.Fatalf("header %q verified, but Sign gives %q", header, sig)
		case err != nil && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrNoSignature):
			t.Fatalf("Verify error %v is neither ErrBadSignature nor ErrNoSignature", err)
		}
	})
}
