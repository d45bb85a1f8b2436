package jirasync_test

import (
	"fmt"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
)

// Over a mixed workload, vulnsync makes at most 1.05 × the Jira calls the
// changes need (PRODUCT.md §6). The minimum per change: a create is one
// call (plus one per transition to a non-initial status); an edit of any
// number of fields is one; a status change is one per transition on the
// shortest path plus its key-event comment; a severity change is one edit
// plus its key-event comment; a comment or an attachment is one; a finding
// is its create plus the new-finding comment on its vulnerability.
func TestCallsPerChangeOverMixedWorkload(t *testing.T) {
	for _, dep := range deployments {
		t.Run(string(dep), func(t *testing.T) {
			e := apptest.New(t, apptest.Options{Profile: dep})
			s := e.Setup("shop")
			base := e.Sim.Counters().Total.Requests
			minimum := 0
			var ids []string
			for i := 0; i < 40; i++ {
				it := createItem(t, e, s.TargetID, map[string]any{"kind": "vulnerability", "title": fmt.Sprintf("V%d", i), "severity": "medium", "fields": map[string]any{"cvss_score": 5.0}})
				ids = append(ids, it.ID)
				minimum++
			}
			e.Sync()
			for i, id := range ids {
				switch i % 8 {
				case 0: // edit two fields at once
					e.Must(200, "PATCH", "/api/v1/items/"+id, map[string]any{"title": fmt.Sprintf("V%d (confirmed)", i), "fields": map[string]any{"cvss_score": 7.5}}, nil)
					minimum++
				case 1: // To Do → Done: two transitions and a key event
					e.Must(200, "PATCH", "/api/v1/items/"+id, map[string]any{"status": "resolved"}, nil)
					minimum += 3
				case 2: // severity: edit and key event
					e.Must(200, "PATCH", "/api/v1/items/"+id, map[string]any{"severity": "critical"}, nil)
					minimum += 2
				case 3:
					e.Must(201, "POST", "/api/v1/items/"+id+"/comments", map[string]any{"body": "please retest"}, nil)
					minimum++
				case 4:
					upload(t, e, id, "poc.txt", []byte("proof"))
					minimum++
				case 5: // a finding: create and new-finding comment
					createItem(t, e, s.TargetID, map[string]any{"kind": "finding", "title": fmt.Sprintf("F%d", i), "severity": "low", "parent_id": id})
					minimum += 2
				case 6: // To Do → In Progress: one transition and a key event
					e.Must(200, "PATCH", "/api/v1/items/"+id, map[string]any{"status": "in_progress"}, nil)
					minimum += 2
				case 7: // a burst of edits to one item coalesces into one edit
					for j := 0; j < 5; j++ {
						e.Must(200, "PATCH", "/api/v1/items/"+id, map[string]any{"fields": map[string]any{"cvss_score": float64(j)}}, nil)
					}
					minimum++
				}
			}
			e.Sync()
			made := int(e.Sim.Counters().Total.Requests - base)
			ratio := float64(made) / float64(minimum)
			t.Logf("%s: %d Jira calls for changes needing %d: %.3f× the minimum", dep, made, minimum, ratio)
			if ratio > 1.05 {
				t.Errorf("%d calls for a minimum of %d (%.3f×), want ≤ 1.05×", made, minimum, ratio)
			}
		})
	}
}
