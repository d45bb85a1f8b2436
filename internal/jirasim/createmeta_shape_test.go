package jirasim

import (
	"net/http"
	"sort"
	"strings"
	"testing"
)

// TestCreateMetaShapesMatchRecordings compares each field the simulator's
// createmeta lists with a recorded createmeta field of the same kind: the
// same system field, or a custom field with the same schema.custom type.
// The recordings come from the older bulk createmeta endpoint
// (createmeta?expand=projects.issuetypes.fields), whose per-field objects
// are what the per-issue-type endpoint pages through.

var createMetaAllowed = map[bool][]allowed{
	false: {
		{"extra", ".fieldId", "the per-issue-type endpoint adds fieldId (FieldCreateMetadata in the OpenAPI document requires it); the recordings are from the bulk endpoint"},
		{"extra", ".allowedValues[].hierarchyLevel", "newer Cloud sends hierarchyLevel on issue types (IssueTypeDetails in the OpenAPI document); the recording predates it"},
	},
	true: {
		{"extra", ".fieldId", "the per-issue-type endpoint adds fieldId; the recordings are from the bulk endpoint"},
		{"extra", ".key", "FieldCreateMetadata in the OpenAPI document requires key; the recorded Server bulk endpoint keyed fields by id instead"},
	},
}

// recordedFields indexes the field objects of a recorded createmeta file by
// system field id and by custom type.
func recordedFields(t *testing.T, files ...string) (map[string]any, map[string]any) {
	t.Helper()
	bySystem, byCustom := map[string]any{}, map[string]any{}
	for _, file := range files {
		recordedFieldsOf(t, file, bySystem, byCustom)
	}
	return bySystem, byCustom
}

func recordedFieldsOf(t *testing.T, file string, bySystem, byCustom map[string]any) {
	t.Helper()
	doc := recorded(t, "createmeta/"+file)
	for _, p := range get(doc, "projects").([]any) {
		for _, it := range get(p, "issuetypes").([]any) {
			for id, f := range get(it, "fields").(map[string]any) {
				if c, ok := get(f, "schema", "custom").(string); ok {
					if _, seen := byCustom[c]; !seen {
						byCustom[c] = f
					}
				} else if _, seen := bySystem[id]; !seen {
					bySystem[id] = f
				}
			}
		}
	}
}

func TestCreateMetaShapesMatchRecordings(t *testing.T) {
	for _, dep := range []struct {
		name  string
		dc    bool
		files []string
	}{
		{"cloud", false, []string{"cloud-get-create-issue-metadata-for-project-many-fields.json", "cloud-get-create-issue-metadata-for-project.json"}},
		{"datacenter", true, []string{"server-get-create-issue-metadata-for-project-many-fields.json", "server-get-create-issue-metadata-for-project.json"}},
	} {
		t.Run(dep.name, func(t *testing.T) {
			bySystem, byCustom := recordedFields(t, dep.files...)
			if dep.dc {
				// The Server recordings have no float/text/select/url/
				// multiselect custom fields; the per-field shape is the same
				// on both deployments, so the Cloud recording stands in.
				_, byCustom = recordedFields(t, "cloud-get-create-issue-metadata-for-project-many-fields.json")
			}
			e := newEnv(t, envOpts{dc: dep.dc})
			listKey := "fields"
			if dep.dc {
				listKey = "values"
			}
			used := map[string]bool{}
			var compared, unmatched []string
			for _, typeID := range []string{"10004", "10003"} { // Bug, Sub-task
				page := e.admin.must(http.StatusOK, "GET", "issue/createmeta/SEC/issuetypes/"+typeID, nil).json(t)
				for _, f := range page[listKey].([]any) {
					id := get(f, "fieldId").(string)
					rec := bySystem[id]
					if c, ok := get(f, "schema", "custom").(string); ok {
						rec = byCustom[c]
					}
					if rec == nil {
						unmatched = append(unmatched, id)
						continue
					}
					compared = append(compared, id)
					var diffs []shapeDiff
					compareShape(rec, f, "", &diffs)
					bad, u := unjustified(diffs, createMetaAllowed[dep.dc])
					for k := range u {
						used[k] = true
					}
					if len(bad) > 0 {
						t.Errorf("type %s field %s: unjustified differences:\n  %s", typeID, id, strings.Join(bad, "\n  "))
					}
				}
			}
			for _, a := range createMetaAllowed[dep.dc] {
				if !used[a.kind+" "+a.pattern] {
					t.Errorf("allow-list entry justifies nothing: %s %s", a.kind, a.pattern)
				}
			}
			// Every custom field type we use must have been compared.
			for _, f := range customFields {
				if !contains(compared, f.ID) {
					t.Errorf("custom field %s (%s) was not compared with a recording", f.ID, f.CustomType)
				}
			}
			sort.Strings(unmatched)
			t.Logf("%s: compared %d field entries; no recorded counterpart for %v", dep.name, len(compared), unmatched)
		})
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
