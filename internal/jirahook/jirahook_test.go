package jirahook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/jiraspec"
)

// The test vector of ../shared/jira/README.md (from Atlassian's docs).
func TestSignatureVector(t *testing.T) {
	secret, body := []byte("It's a Secret to Everybody"), []byte("Hello World!")
	want := "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"
	if got := Sign(secret, body); got != want {
		t.Fatalf("Sign: got %s, want %s", got, want)
	}
	if err := Verify(secret, want, body); err != nil {
		t.Fatalf("Verify of the vector: %v", err)
	}
	for _, tc := range []struct {
		name, header string
		body         []byte
		want         error
	}{
		{"missing", "", body, ErrNoSignature},
		{"no method", strings.TrimPrefix(want, "sha256="), body, ErrBadSignature},
		{"unknown method", "md5=" + strings.TrimPrefix(want, "sha256="), body, ErrBadSignature},
		{"not hex", "sha256=zz", body, ErrBadSignature},
		{"other body", want, []byte("Hello World?"), ErrBadSignature},
		{"truncated", want[:len(want)-2], body, ErrBadSignature},
	} {
		if err := Verify(secret, tc.header, tc.body); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// recordedDir holds the recorded deliveries, or the test skips.
func recordedDir(t *testing.T) string {
	return jiraspec.Shared(t, "jira/recorded/mattermost-plugin-jira/webhooks")
}

// Every recorded delivery parses, or is classified as ignored with a reason.
func TestEveryRecordedDeliveryParses(t *testing.T) {
	dir := recordedDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) < 50 {
		t.Fatalf("only %d recorded deliveries found", len(files))
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		ev, err := Parse(body)
		switch {
		case errors.Is(err, ErrUnsupported):
			t.Logf("%s: ignored: %v", name, err)
			continue
		case err != nil:
			t.Errorf("%s: %v", name, err)
			continue
		}
		if ev.IssueID == "" || ev.Time.IsZero() {
			t.Errorf("%s: issue %q time %v", name, ev.IssueID, ev.Time)
		}
		if ev.Issue != nil && ev.ProjectKey == "" {
			t.Errorf("%s: no project key", name)
		}
		if strings.Contains(name, "comment") && ev.Kind != IssueUpdated || strings.Contains(name, "commented") {
			if kind, ok := ev.CommentEvent(); !ok {
				t.Errorf("%s: a comment delivery not seen as a comment event (%s/%s)", name, ev.Kind, ev.EventType)
			} else if ev.Comment.ID == "" {
				t.Errorf("%s: %s without a comment id", name, kind)
			}
		}
		if strings.HasPrefix(name, "webhook-server-comment") && ev.Issue != nil {
			t.Errorf("%s: Data Center comment events carry no issue, yet one was parsed", name)
		}
	}
}

func TestDataCenterCommentTakesTheIssueFromSelf(t *testing.T) {
	dir := recordedDir(t)
	body, err := os.ReadFile(filepath.Join(dir, "webhook-server-comment-created.json"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if ev.IssueID != "10013" || ev.Comment.ID != "10082" || ev.Comment.Author.Name != "levbrouk" || ev.Comment.Body != "unik" {
		t.Fatalf("parsed: issue %q comment %+v", ev.IssueID, ev.Comment)
	}
	if kind, ok := ev.CommentEvent(); !ok || kind != CommentCreated {
		t.Fatalf("comment event: %q %v", kind, ok)
	}
}

func TestMalformedPayloads(t *testing.T) {
	for _, body := range []string{`{`, `{"webhookEvent":""}`, `{"webhookEvent":"jira:issue_updated"}`, `[]`} {
		if _, err := Parse([]byte(body)); err == nil || errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: got %v, want a parse error", body, err)
		}
	}
	if _, err := Parse([]byte(`{"webhookEvent":"worklog_created","timestamp":1}`)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("worklog event: got %v, want ErrUnsupported", err)
	}
}
