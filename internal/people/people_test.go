package people_test

import (
	"testing"

	"github.com/vulnsync/vulnsync/internal/people"
	"github.com/vulnsync/vulnsync/internal/store/sqldb"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Changing VULNSYNC_ADMIN_TOKEN revokes the previous value, and the token
// generated at first start, from the next start on.
func TestNewBootstrapTokenReplacesThePrevious(t *testing.T) {
	st, err := sqldb.OpenSQLite(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := people.New(people.Config{Store: st})
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
