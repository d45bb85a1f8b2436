package mapping

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// SetBySync are Jira fields the sync sets itself (or that the mapping
// covers elsewhere: issue type, priority, security level), so no field
// row maps them.
var SetBySync = map[string]bool{"project": true, "issuetype": true, "parent": true, "reporter": true, "priority": true, "attachment": true, "issuelinks": true, "security": true}

// ProjectField is a Jira field across the project's issue types, with the
// issue types that require it.
type ProjectField struct {
	JiraField
	RequiredOn []string
}

// ProjectFields lists the create-screen fields of every issue type, once
// each, in the order Jira gives them.
func ProjectFields(meta Meta) []ProjectField {
	var out []ProjectField
	index := map[string]int{}
	for _, it := range meta.IssueTypes {
		for _, f := range it.Fields {
			i, ok := index[f.ID]
			if !ok {
				i = len(out)
				index[f.ID] = i
				out = append(out, ProjectField{JiraField: f})
			}
			if f.Required && !f.HasDefault {
				out[i].RequiredOn = append(out[i].RequiredOn, it.Name)
			}
		}
	}
	return out
}

// Statuses lists the project's statuses once each, by category
// (to do, in progress, done) then name.
func Statuses(meta Meta) []Status {
	seen := map[string]bool{}
	var out []Status
	types := make([]string, 0, len(meta.Statuses))
	for t := range meta.Statuses {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		for _, s := range meta.Statuses[t] {
			if !seen[strings.ToLower(s.Name)] {
				seen[strings.ToLower(s.Name)] = true
				out = append(out, s)
			}
		}
	}
	rank := map[string]int{"new": 0, "indeterminate": 1, "done": 2}
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := rank[out[i].Category], rank[out[j].Category]
		if ri != rj {
			return ri < rj
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// VulnsyncFields lists what can map to a Jira field: title, description
// and the catalog's typed fields.
func VulnsyncFields(cat tracker.Catalog) []tracker.FieldDef {
	out := []tracker.FieldDef{{Name: "title", Type: tracker.TypeText}, {Name: "description", Type: tracker.TypeText}}
	names := make([]string, 0, len(cat.Fields))
	for n := range cat.Fields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, cat.Fields[n])
	}
	return out
}

var nonAlnum = regexp.MustCompile(`[^a-z0-9]+`)

// NormName folds a field name for matching across the two sides
// ("CVSS Score" matches cvss_score).
func NormName(s string) string { return nonAlnum.ReplaceAllString(strings.ToLower(s), "") }

// Suggest proposes a first mapping from the project's metadata, for the
// admin to review: the usual issue types, statuses by category, priorities
// by name, title and description to Jira, and fields whose names match.
func Suggest(meta Meta, cat tracker.Catalog) Document {
	d := Document{IssueTypes: map[string]string{}, StatusToJira: map[tracker.Status]string{},
		StatusFromJira: map[string]tracker.Status{}, Priority: map[tracker.Severity]string{},
		Attachments: Attachments{ToJira: true, FromJira: true}}
	pickType := func(preferred string, subtask bool) string {
		for _, it := range meta.IssueTypes {
			if it.Subtask == subtask && strings.EqualFold(it.Name, preferred) {
				return it.Name
			}
		}
		for _, it := range meta.IssueTypes {
			if it.Subtask == subtask {
				return it.Name
			}
		}
		return ""
	}
	for kind, pref := range map[string]string{tracker.KindVulnerability: "Bug", tracker.KindRisk: "Task"} {
		if n := pickType(pref, false); n != "" {
			d.IssueTypes[kind] = n
		}
	}
	if n := pickType("Sub-task", true); n != "" && d.IssueTypes[tracker.KindVulnerability] != "" {
		d.IssueTypes[tracker.KindFinding] = n
	}
	statuses := Statuses(meta)
	pick := func(category, preferred string) string {
		for _, s := range statuses {
			if s.Category == category && strings.EqualFold(s.Name, preferred) {
				return s.Name
			}
		}
		for _, s := range statuses {
			if s.Category == category {
				return s.Name
			}
		}
		return ""
	}
	for st, want := range map[tracker.Status][2]string{
		tracker.StatusOpen: {"new", "To Do"}, tracker.StatusInProgress: {"indeterminate", "In Progress"},
		tracker.StatusResolved: {"done", "Done"}, tracker.StatusAcceptedRisk: {"done", "Won't Do"},
		tracker.StatusFalsePositive: {"done", "Won't Do"},
	} {
		if n := pick(want[0], want[1]); n != "" {
			d.StatusToJira[st] = n
		}
	}
	for _, s := range statuses {
		switch {
		case strings.EqualFold(s.Name, "Won't Do"):
			d.StatusFromJira[s.Name] = tracker.StatusAcceptedRisk
		case s.Category == "new":
			d.StatusFromJira[s.Name] = tracker.StatusOpen
		case s.Category == "indeterminate":
			d.StatusFromJira[s.Name] = tracker.StatusInProgress
		case s.Category == "done":
			d.StatusFromJira[s.Name] = tracker.StatusResolved
		}
	}
	has := func(p string) bool {
		for _, x := range meta.Priorities {
			if x == p {
				return true
			}
		}
		return false
	}
	for sev, p := range map[tracker.Severity]string{tracker.SeverityCritical: "Highest", tracker.SeverityHigh: "High",
		tracker.SeverityMedium: "Medium", tracker.SeverityLow: "Low", tracker.SeverityInfo: "Lowest"} {
		if has(p) {
			d.Priority[sev] = p
		}
	}
	if has("Medium") {
		d.DefaultPriority = "Medium"
	} else if len(meta.Priorities) > 0 {
		d.DefaultPriority = meta.Priorities[0]
	}
	used := map[string]bool{}
	for _, f := range ProjectFields(meta) {
		if SetBySync[f.ID] {
			continue
		}
		switch f.ID {
		case "summary":
			d.Fields = append(d.Fields, Field{Vulnsync: "title", Jira: "summary", Direction: ToJira})
			used["title"] = true
			continue
		case "description":
			d.Fields = append(d.Fields, Field{Vulnsync: "description", Jira: "description", Direction: ToJira})
			used["description"] = true
			continue
		}
		for _, vf := range VulnsyncFields(cat) {
			if !used[vf.Name] && (NormName(vf.Name) == NormName(f.Name) || vf.Name == f.ID) && Compatible(vf.Type, f.Schema) {
				d.Fields = append(d.Fields, Field{Vulnsync: vf.Name, Jira: f.ID, Direction: Both})
				used[vf.Name] = true
				break
			}
		}
	}
	// Done-category statuses get the resolution named like them, or Done.
	for _, st := range statuses {
		if st.Category != "done" || len(meta.Resolutions) == 0 {
			continue
		}
		if r := (&Document{}).ResolutionFor(st.Name, meta.Resolutions); r != "" {
			if d.Resolutions == nil {
				d.Resolutions = map[string]string{}
			}
			d.Resolutions[st.Name] = r
		}
	}
	// A required field nothing maps (Component on Bug) is left without a
	// default on purpose: which value every issue gets is the admin's
	// choice, and validation names it until it is made.
	d.Normalize()
	return d
}

// EncodeDefault encodes the value(s) an admin gave for a Jira field as the
// JSON Jira expects for its schema ({"value": …} for options, lists for
// arrays, numbers for numbers); the string is a problem to show instead.
func EncodeDefault(f JiraField, vals []string) (json.RawMessage, string) {
	var v any
	switch f.Schema.Type {
	case "option":
		v = map[string]string{"value": vals[0]}
	case "array":
		var list []any
		for _, x := range vals {
			for _, part := range strings.Split(x, ",") {
				if part = strings.TrimSpace(part); part == "" {
					continue
				}
				if f.Schema.Items == "option" {
					list = append(list, map[string]string{"value": part})
				} else {
					list = append(list, part)
				}
			}
		}
		v = list
	case "number":
		n, err := strconv.ParseFloat(vals[0], 64)
		if err != nil {
			return nil, "must be a number"
		}
		v = n
	default:
		v = vals[0]
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Sprintf("cannot encode: %v", err)
	}
	return b, ""
}
