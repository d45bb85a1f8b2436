package jirasync_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/mapping"
)

// publicComment edits a Jira comment, as dev, so that everyone sees it
// (visibility null removes the restriction).
func publicComment(t testing.TB, e *apptest.Env, key, text, id string) {
	t.Helper()
	var body any = text
	if e.APIVersion() == "3" {
		body = map[string]any{"type": "doc", "version": 1, "content": []any{map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": text}}}}}
	}
	in := map[string]any{"body": body, "visibility": nil}
	if st := e.Jira("dev", "PUT", "/rest/api/"+e.APIVersion()+"/issue/"+key+"/comment/"+id, in, nil); st != 200 {
		t.Fatalf("make comment %s of %s public: %d", id, key, st)
	}
}

// shown is what vulnsync shows of the comments containing part: one
// "restricted"/"public" word per comment, in order.
func shown(t testing.TB, e *apptest.Env, itemID, part string) []string {
	t.Helper()
	var out []string
	for _, c := range comments(t, e, itemID) {
		if !strings.Contains(c["body"].(string), part) {
			continue
		}
		if c["restricted"] == true {
			out = append(out, "restricted")
		} else {
			out = append(out, "public")
		}
	}
	return out
}

// Under "skip", a restricted Jira comment made public later is mirrored
// then, from its comment_updated delivery (or, on Data Center 9, the
// notice read back from Jira): whether it was never mirrored, or mirrored
// and removed when it became restricted. A command in such a comment ran
// when it was first mirrored and does not run again. A comment deleted in
// Jira while withheld stays away, even when an older "made public"
// delivery arrives after the deletion.
func TestRestrictedCommentMadePublicIsMirrored(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s, it, key := setup(t, e)
			if st := withMapping(t, e, s.IntegrationID, func(m map[string]any) { m["restricted_comments"] = mapping.RestrictedSkip }); st != 200 {
				t.Fatalf("mapping: %d", st)
			}
			apply := func() {
				t.Helper()
				e.Deliver()
				e.Sync()
				e.Deliver() // our own answers coming back
				e.Sync()
			}

			// Never mirrored while restricted, mirrored once public.
			rid := restrictedComment(t, e, key, "Root cause: hard-coded admin password.", "role", "Developers", "")
			apply()
			if got := shown(t, e, it.ID, "admin password"); len(got) != 0 {
				t.Fatalf("restricted comment shown under skip: %v", got)
			}
			publicComment(t, e, key, "Root cause: hard-coded admin password.", rid)
			apply()
			if diff := cmp.Diff([]string{"public"}, shown(t, e, it.ID, "admin password")); diff != "" {
				t.Errorf("comment made public (-want +got):\n%s", diff)
			}

			// Mirrored, restricted (removed), public again: back, once,
			// and its command does not run a second time.
			cid := jiraComment(t, e, key, "/vulnsync accept only reachable from the admin VPN")
			apply()
			var l pendingList
			e.Must(200, "GET", "/api/v1/acceptances?state=pending&item_id="+it.ID, nil, &l)
			if len(l.Acceptances) != 1 {
				t.Fatalf("pending acceptances after the command: %d, want 1", len(l.Acceptances))
			}
			restrictedComment(t, e, key, "/vulnsync accept only reachable from the admin VPN", "group", "security-team", cid)
			apply()
			if got := shown(t, e, it.ID, "vulnsync accept only"); len(got) != 0 {
				t.Fatalf("comment restricted after mirroring still shown: %v", got)
			}
			publicComment(t, e, key, "/vulnsync accept only reachable from the admin VPN", cid)
			apply()
			if diff := cmp.Diff([]string{"public"}, shown(t, e, it.ID, "vulnsync accept only")); diff != "" {
				t.Errorf("command comment made public again (-want +got):\n%s", diff)
			}
			e.Must(200, "GET", "/api/v1/acceptances?state=pending&item_id="+it.ID, nil, &l)
			if len(l.Acceptances) != 1 {
				t.Errorf("pending acceptances after the comment came back: %d, want still 1", len(l.Acceptances))
			}
			if got := shown(t, e, it.ID, "was not opened"); len(got) != 0 {
				t.Errorf("the command ran again and was refused: %d refusal(s)", len(got))
			}

			// Withheld, made public (that delivery late), deleted: stays away.
			did := jiraComment(t, e, key, "Temporary credentials: see vault.")
			apply()
			restrictedComment(t, e, key, "Temporary credentials: see vault.", "role", "Administrators", did)
			apply()
			e.HoldWebhooks(true)
			publicComment(t, e, key, "Temporary credentials: see vault.", did)
			e.Deliver()
			late := e.Held()
			if st := e.Jira("dev", "DELETE", "/rest/api/"+e.APIVersion()+"/issue/"+key+"/comment/"+did, nil, nil); st != 204 {
				t.Fatalf("delete comment: %d", st)
			}
			e.Deliver()
			deletion := e.Held()
			e.HoldWebhooks(false)
			for _, d := range append(deletion, late...) {
				e.Send(d)
			}
			e.Sync()
			if got := shown(t, e, it.ID, "Temporary credentials"); len(got) != 0 {
				t.Errorf("a comment deleted in Jira came back from a late delivery: %v", got)
			}
		})
	}
}

// Reconciliation applies a change of a comment's visibility whose webhook
// never came, as the webhook would have: a mirrored comment restricted
// since is removed under "skip" and marked restricted under "keep"; made
// public again, it is shown again (once), public. It finds nothing more
// to do afterwards: an hour of reconciliations adds no sync log row.
func TestReconciliationAppliesCommentVisibility(t *testing.T) {
	for _, dep := range deployments {
		for _, policy := range []string{mapping.RestrictedSkip, mapping.RestrictedKeep} {
			t.Run(string(dep)+"/"+policy, func(t *testing.T) {
				clock := apptest.NewClock(time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC))
				e := apptest.New(t, apptest.Options{Profile: dep, Clock: clock})
				s, it, key := setup(t, e)
				if st := withMapping(t, e, s.IntegrationID, func(m map[string]any) { m["restricted_comments"] = policy }); st != 200 {
					t.Fatalf("mapping: %d", st)
				}
				const text = "Fix deployed to staging."
				cid := jiraComment(t, e, key, text)
				e.Deliver()
				e.Sync()
				if diff := cmp.Diff([]string{"public"}, shown(t, e, it.ID, "Fix deployed")); diff != "" {
					t.Fatalf("mirrored comment (-want +got):\n%s", diff)
				}
				// Each change below reaches vulnsync only by reconciliation.
				dropped := func(change func()) {
					t.Helper()
					e.HoldWebhooks(true)
					clock.Advance(time.Minute)
					change()
					e.Deliver()
					e.Held()
					e.HoldWebhooks(false)
					e.Sync()
				}
				reconcile := func() {
					clock.Advance(6 * time.Minute) // past the reconciliation interval
					e.Sync()
					e.Sync()
				}

				dropped(func() { restrictedComment(t, e, key, text, "role", "Administrators", cid) })
				if diff := cmp.Diff([]string{"public"}, shown(t, e, it.ID, "Fix deployed")); diff != "" {
					t.Fatalf("changed without any delivery (-want +got):\n%s", diff)
				}
				reconcile()
				var want []string // skip: removed
				if policy == mapping.RestrictedKeep {
					want = []string{"restricted"}
				}
				if diff := cmp.Diff(want, shown(t, e, it.ID, "Fix deployed")); diff != "" {
					t.Errorf("restricted in Jira, after reconciliation (-want +got):\n%s", diff)
				}
				if policy == mapping.RestrictedKeep {
					for _, c := range comments(t, e, it.ID) {
						if strings.Contains(c["body"].(string), "Fix deployed") {
							if diff := cmp.Diff(map[string]any{"type": "role", "value": "Administrators"}, c["visibility"]); diff != "" {
								t.Errorf("visibility (-want +got):\n%s", diff)
							}
						}
					}
				}

				dropped(func() { publicComment(t, e, key, text, cid) })
				reconcile()
				if diff := cmp.Diff([]string{"public"}, shown(t, e, it.ID, "Fix deployed")); diff != "" {
					t.Errorf("public again, after reconciliation (-want +got):\n%s", diff)
				}

				before := len(allEvents(t, e, s.IntegrationID))
				for range 10 {
					reconcile()
				}
				if n := len(allEvents(t, e, s.IntegrationID)); n != before {
					t.Errorf("reconciliations after convergence added %d sync log rows, want 0", n-before)
				}
			})
		}
	}
}
