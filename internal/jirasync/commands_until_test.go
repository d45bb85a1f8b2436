package jirasync_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/jirasim"
)

// TestTriageUntilDate, on Cloud and Data Center: "/vulnsync accept <reason>
// until YYYY-MM-DD" opens a pending acceptance expiring that day, and the
// request's comment in Jira says until when; a malformed date, a date that
// is not in the future and one beyond the maximum are answered with why,
// and open nothing.
func TestTriageUntilDate(t *testing.T) {
	for _, p := range []jirasim.Profile{jirasim.ProfileCloud, jirasim.ProfileDC10} {
		t.Run(string(p), func(t *testing.T) {
			clock := apptest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
			e := apptest.New(t, apptest.Options{Profile: p, Clock: clock})
			_, it, key := setup(t, e)
			type acceptance struct {
				Reason    string    `json:"reason"`
				ExpiresAt time.Time `json:"expires_at"`
			}
			pending := func() []acceptance {
				var l struct {
					Acceptances []acceptance `json:"acceptances"`
				}
				e.Must(200, "GET", "/api/v1/acceptances?state=pending&item_id="+it.ID, nil, &l)
				return l.Acceptances
			}
			say := func(text string) {
				t.Helper()
				clock.Advance(time.Minute)
				jiraComment(t, e, key, text)
				e.Deliver()
				e.Sync()
				e.Deliver() // our answer coming back
				e.Sync()
			}

			say("/vulnsync accept legacy until 2026-11-30")
			say("/vulnsync accept legacy until 2026-12-01")
			say("/vulnsync accept legacy until 2027-02-30")
			say("/vulnsync accept legacy until 2031-01-01")
			if got := pending(); len(got) != 0 {
				t.Fatalf("refused dates opened requests: %+v", got)
			}
			bodies := jiraComments(t, e, key)
			for _, want := range []string{
				"the expiry 2026-11-30 is not in the future; give a date after 2026-12-01",
				"the expiry 2026-12-01 is not in the future",
				"the expiry 2027-02-30 is not a date written YYYY-MM-DD",
				"the expiry 2031-01-01 is more than 1098 days ahead; give a date up to 2029-12-03",
			} {
				if n := countWith(bodies, want); n != 1 {
					t.Errorf("%d answers saying %q, want 1: %q", n, want, bodies)
				}
			}

			say("/vulnsync accept the vendor ships the fix in March until 2027-03-31")
			want := []acceptance{{Reason: "the vendor ships the fix in March", ExpiresAt: time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)}}
			if diff := cmp.Diff(want, pending()); diff != "" {
				t.Errorf("pending acceptance (-want +got):\n%s", diff)
			}
			if n := countWith(jiraComments(t, e, key), "until 2027-03-31, awaiting an admin"); n != 1 {
				t.Errorf("%d answers in Jira naming the expiry, want 1: %q", n, jiraComments(t, e, key))
			}
		})
	}
}

// TestCommandRequestOutlivesPullsAndMoves, on Cloud and Data Center: a
// request opened by a /vulnsync comment stays pending through
// reconciliations that pull the issue and through the engineer moving the
// issue on (it never was in the proposed status, so nothing was taken
// back); only an admin decides it.
func TestCommandRequestOutlivesPullsAndMoves(t *testing.T) {
	for _, p := range []jirasim.Profile{jirasim.ProfileCloud, jirasim.ProfileDC10} {
		t.Run(string(p), func(t *testing.T) {
			clock := apptest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
			e := apptest.New(t, apptest.Options{Profile: p, Clock: clock})
			_, it, key := setup(t, e)
			states := func() []string {
				var l struct {
					Acceptances []struct {
						State string `json:"state"`
					} `json:"acceptances"`
				}
				e.Must(200, "GET", "/api/v1/acceptances?item_id="+it.ID, nil, &l)
				var out []string
				for _, a := range l.Acceptances {
					out = append(out, a.State)
				}
				return out
			}
			clock.Advance(time.Minute)
			jiraComment(t, e, key, "/vulnsync accept legacy clients need TLS 1.0")
			e.Deliver()
			e.Sync()
			e.Deliver()
			e.Sync()
			if diff := cmp.Diff([]string{"pending"}, states()); diff != "" {
				t.Fatalf("after the command (-want +got):\n%s", diff)
			}
			for range 3 {
				clock.Advance(6 * time.Minute) // past the reconciliation interval
				e.Sync()
				e.Sync()
			}
			if diff := cmp.Diff([]string{"pending"}, states()); diff != "" {
				t.Errorf("after reconciliations (-want +got):\n%s", diff)
			}
			clock.Advance(time.Minute)
			jiraTransition(t, e, key, "Start Progress")
			e.Deliver()
			e.Sync()
			if diff := cmp.Diff([]string{"pending"}, states()); diff != "" {
				t.Errorf("after the engineer started progress (-want +got):\n%s", diff)
			}
		})
	}
}
