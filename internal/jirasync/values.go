package jirasync

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// state is what both sides agree on for one linked item, as last written to
// or read from Jira: mapped field values by Jira field id (in vulnsync's
// normalised form: string, float64, []string), the status and priority
// names. Outbound sync sends only what differs from it; inbound changes
// whose values equal it are our own echoes (G4).
type state struct {
	Fields   map[string]any `json:"fields"`
	Status   string         `json:"status"`
	Priority string         `json:"priority"`
	// Security is the issue security level (by name) last set by vulnsync
	// or read from Jira ("" when none is mapped or known).
	Security string `json:"security,omitempty"`
	// Times holds, per field id ("status", "priority" included), Jira's
	// time of the newest change applied from Jira, so a delivery that
	// arrives late never rolls back a newer one (G3).
	Times map[string]time.Time `json:"times,omitempty"`
	// Pushed holds, per field id ("status", "priority" included), when
	// vulnsync last wrote the field to Jira (vulnsync's clock), so that a
	// webhook's value older than that write is not taken for Jira's
	// (overtaken).
	Pushed map[string]time.Time `json:"pushed,omitempty"`
	// Previous is the key of the issue a failed retest replaced
	// (on_retest_failed: new_issue) until the new issue links to it.
	Previous string `json:"previous,omitempty"`
}

func decodeState(raw []byte) state {
	var s state
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &s)
	}
	if s.Fields == nil {
		s.Fields = map[string]any{}
	}
	for k, v := range s.Fields {
		s.Fields[k] = normalize(v) // JSON gives []any where we keep []string
	}
	return s
}

func (s state) encode() []byte {
	b, _ := json.Marshal(s)
	return b
}

// itemValue reads a mapped vulnsync attribute of an item.
func itemValue(it tracker.Item, name string) any {
	switch name {
	case "title":
		return it.Title
	case "description":
		if it.Description == "" {
			return nil
		}
		return it.Description
	}
	return it.Fields[name]
}

// normalize brings a value to the canonical form used in state: lists as
// sorted-unique []string for label-like sets, JSON numbers as float64.
func normalize(v any) any {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case int:
		return float64(x)
	case string:
		if x == "" {
			return nil
		}
	}
	return v
}

// desired is the Jira state an item should have under the mapping.
func desired(it tracker.Item, doc *mapping.Document) state {
	s := state{Fields: map[string]any{}, Status: doc.JiraStatus(it.Status), Priority: doc.PriorityFor(it.Severity), Security: doc.SecurityLevelFor(it.Severity)}
	for _, f := range doc.Fields {
		if f.ToJira() {
			s.Fields[f.Jira] = normalize(itemValue(it, f.Vulnsync))
		}
	}
	return s
}

// toJira converts a normalised value to the JSON Jira expects for a field.
func toJira(f mapping.JiraField, v any) any {
	if v == nil {
		if f.Schema.Type == "array" {
			return []any{}
		}
		return nil
	}
	switch f.Schema.Type {
	case "option":
		return map[string]any{"value": v}
	case "array":
		list, _ := v.([]string)
		if f.Schema.Items == "option" {
			out := make([]any, len(list))
			for i, s := range list {
				out[i] = map[string]any{"value": s}
			}
			return out
		}
		return list
	}
	if f.ID == "description" || isTextarea(f) {
		if s, ok := v.(string); ok {
			return jira.Markdown(s)
		}
	}
	return v
}

// textareaType is the custom type of multi-line text fields, which hold
// rich text (ADF in REST v3, wiki markup in v2 and in webhooks).
const textareaType = "com.atlassian.jira.plugin.system.customfieldtypes:textarea"

func isTextarea(f mapping.JiraField) bool { return f.Schema.Custom == textareaType }

// fromJira converts a Jira field value to the normalised form.
func fromJira(f mapping.JiraField, issue *jira.Issue) any {
	if f.ID == "description" {
		if issue.Description == "" {
			return nil
		}
		return issue.Description
	}
	if f.ID == "summary" {
		return issue.Summary
	}
	if f.ID == "labels" {
		return normalize(append([]string{}, issue.Labels...))
	}
	raw, ok := issue.Fields[f.ID]
	if !ok {
		return nil
	}
	if isUserField(f) {
		return userFromJira(raw)
	}
	if isTextarea(f) {
		md, err := jira.RichText(raw)
		if err != nil || md == "" {
			return nil
		}
		return normalize(md)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil || v == nil {
		return nil
	}
	optionValue := func(x any) (string, bool) {
		m, ok := x.(map[string]any)
		if !ok {
			s, ok := x.(string)
			return s, ok
		}
		for _, k := range []string{"value", "name"} {
			if s, ok := m[k].(string); ok {
				return s, true
			}
		}
		return "", false
	}
	switch f.Schema.Type {
	case "option":
		s, _ := optionValue(v)
		return normalize(s)
	case "array":
		list, _ := v.([]any)
		out := []string{}
		for _, e := range list {
			if s, ok := optionValue(e); ok {
				out = append(out, s)
			}
		}
		return out
	case "string":
		if s, ok := v.(string); ok {
			return normalize(s)
		}
		return nil
	}
	return v
}

// labelOps turns a change of a label set into add/remove operations, so
// labels people added in Jira are kept (labels are appended, never
// overwritten).
func labelOps(from, to any) []jira.Op {
	old, _ := from.([]string)
	nw, _ := to.([]string)
	had := map[string]bool{}
	for _, l := range old {
		had[l] = true
	}
	has := map[string]bool{}
	for _, l := range nw {
		has[l] = true
	}
	var ops []jira.Op
	for _, l := range nw {
		if !had[l] {
			ops = append(ops, jira.Op{"add": l})
		}
	}
	for _, l := range old {
		if !has[l] {
			ops = append(ops, jira.Op{"remove": l})
		}
	}
	return ops
}

func sortedFieldIDs(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
