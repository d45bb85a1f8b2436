package service_test

import (
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/service"
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
