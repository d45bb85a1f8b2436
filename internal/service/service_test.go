package service_test

import (
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store/sqldb"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// A Jira comment longer than vulnsync keeps is stored cut with a note, not
// refused; an empty one gets a placeholder.
func TestFromJiraTextFitsWhatJiraAccepted(t *testing.T) {
	long := strings.Repeat("x", tracker.MaxTextLen+500)
	got := service.FromJiraText(long)
	if n := tracker.TextLen(got); n > tracker.MaxTextLen {
		t.Fatalf("fitted text has %d characters, over %d", n, tracker.MaxTextLen)
	}
	if !strings.Contains(got, "the text in Jira has 33267 characters") {
		t.Errorf("no note saying the text was cut: %q", got[len(got)-120:])
	}
	if err := tracker.ValidateCommentBody(service.FromJiraText(" \x00 ")); err != nil {
		t.Errorf("an empty Jira comment: %v", err)
	}
}

// Changing VULNSYNC_ADMIN_TOKEN revokes the previous value, and the token
// generated at first start, from the next start on.
func TestNewBootstrapTokenReplacesThePrevious(t *testing.T) {
	st, err := sqldb.OpenSQLite(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := service.New(service.Config{Store: st})
	generated, err := s.BootstrapAdminToken(t.Context(), "")
	if err != nil || generated == "" {
		t.Fatalf("first start: %q, %v", generated, err)
	}
	old, next := "old-admin-token-0123456789", "new-admin-token-9876543210"
	for _, tok := range []string{old, old, next} { // a restart with the same value keeps it
		if _, err := s.BootstrapAdminToken(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(t.Context(), tok); err != nil {
			t.Fatalf("the bootstrap token %q just set: %v", tok, err)
		}
	}
	for _, tok := range []string{generated, old} {
		if _, err := s.Authenticate(t.Context(), tok); tracker.KindOf(err) != tracker.EUnauthorized {
			t.Errorf("a replaced bootstrap token still opens: %v", err)
		}
	}
}
