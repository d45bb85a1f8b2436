package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/jiraconn"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// The mapping form edits the same mapping document the API takes. Every
// input is named after the key the validation reports problems under
// ("issue_types.finding", "status_to_jira.resolved", "defaults.customfield_10052"),
// except field rows, which are per Jira field ("field.<id>.direction") and
// translated from the document's "fields[2].direction" by position.

type choice struct {
	Value string
	Label string
}

// selectRow is one labelled dropdown of the form.
type selectRow struct {
	Key     string
	Label   string
	Hint    string
	Value   string
	Options []choice
	Err     string
}

// fieldRow is one Jira field with how (and whether) a vulnsync field maps
// to it.
type fieldRow struct {
	ID        string
	Name      string
	Type      string
	Required  string
	Vulnsync  string
	Direction string
	Locked    string
	Choices   []choice
	Errs      map[string]string // by vulnsync, jira, direction, locked
}

// defaultRow is the default value of one Jira field.
type defaultRow struct {
	ID       string
	Name     string
	Type     string
	Note     string
	Value    string
	Values   map[string]bool // selected options of a multi-select
	Options  []string
	Multiple bool
	Input    string // "text", "number" or "date"
	Err      string
}

type keyedProblem struct {
	Key     string
	Message string
}

// mappingForm is the Configure page.
type mappingForm struct {
	Integration     integration.View
	Saved           bool
	Suggested       bool
	IssueTypes      []selectRow
	StatusTo        []selectRow
	StatusFrom      []selectRow
	Priority        []selectRow
	DefaultPriority selectRow
	// Resolutions: per done-category status, the resolution sent where
	// the transition screen requires one (Data Center's Done).
	Resolutions    []selectRow
	Fields         []fieldRow
	Defaults       []defaultRow
	Comments       selectRow
	AttachTo       bool
	AttachFrom     bool
	MaxBytes       selectRow
	OnItemDeleted  selectRow
	OnIssueDeleted selectRow
	// SecurityLevels: per severity, the issue security level (the
	// project's levels are the choices; none when it has no scheme).
	SecurityLevels     []selectRow
	ProjectLevels      []string
	RestrictedComments selectRow
	OnIssueMoved       selectRow
	// The lifecycle policies (issue 16): what Jira's Done means, what a
	// person's Won't Do in Jira does, and what a failed retest does.
	DoneMeans      selectRow
	AcceptFromJira selectRow
	OnRetestFailed selectRow
	Message        string
	Problems       []keyedProblem
	ProblemCount   int
	// The choices every field row offers.
	DirectionChoices []choice
	LockChoices      []choice
}

// HasErr reports whether the row has a problem to show.
func (r fieldRow) HasErr() bool { return len(r.Errs) > 0 }

var (
	directionChoices = []choice{{"to_jira", "vulnsync → Jira"}, {"from_jira", "Jira → vulnsync"}, {"both", "both ways"}}
	lockChoices      = []choice{{"", "no lock"}, {"vulnsync", "vulnsync wins"}, {"jira", "Jira wins"}}
	commentChoices   = []choice{{"both", "both ways"}, {"to_jira", "vulnsync → Jira only"}, {"from_jira", "Jira → vulnsync only"}, {"none", "not synced"}}
	itemDelChoices   = []choice{{"close", "close the issue (done status, with a comment)"}, {"delete", "delete the issue"}, {"leave", "leave the issue alone"}}
	issueDelChoices  = []choice{{"unlink", "unlink the item (and record why)"}, {"recreate", "create a new issue"}}
	restrictChoices  = []choice{{"skip", "leave them out"}, {"keep", "keep them, marked restricted"}}
	movedChoices     = []choice{{"deletion_policy", "as if it were deleted (the policy above)"}, {"follow", "follow it (the item shows its new key)"}}
	doneMeansChoices = []choice{{string(mapping.DoneMeansFixed), "fixed: awaiting a retest"}, {string(mapping.DoneMeansResolved), "resolved: no retest"}}
	acceptChoices    = []choice{{mapping.AcceptFromJiraRequest, "opens a request an admin approves"}, {mapping.AcceptFromJiraApply, "changes the item at once"}}
	retestChoices    = []choice{{mapping.OnRetestFailedReopen, "reopen the issue"}, {mapping.OnRetestFailedNewIssue, "file a new issue linked to the old one"}}
)

// buildForm lays out doc over the project's metadata. rawDefaults keeps
// default inputs as typed when they could not be parsed.
func buildForm(v integration.View, meta mapping.Meta, cat tracker.Catalog, doc mapping.Document, rawDefaults map[string][]string) mappingForm {
	f := mappingForm{Integration: v, DirectionChoices: directionChoices, LockChoices: lockChoices}

	typeChoices := []choice{{"", "— not synced —"}}
	for _, it := range meta.IssueTypes {
		label := it.Name
		if it.Subtask {
			label += " (sub-task)"
		}
		typeChoices = append(typeChoices, choice{it.Name, label})
	}
	for _, kind := range kindNames(cat) {
		hint := ""
		if kind == tracker.KindFinding {
			hint = "a sub-task of its vulnerability's issue"
		}
		f.IssueTypes = append(f.IssueTypes, selectRow{Key: "issue_types." + kind, Label: kind, Hint: hint,
			Value: doc.IssueTypes[kind], Options: withValue(typeChoices, doc.IssueTypes[kind])})
	}

	statuses := mapping.Statuses(meta)
	statusChoices := []choice{{"", "— choose —"}}
	for _, s := range statuses {
		statusChoices = append(statusChoices, choice{s.Name, s.Name + " (" + categoryLabel(s.Category) + ")"})
	}
	for _, st := range tracker.Statuses {
		val := doc.StatusToJira[st]
		f.StatusTo = append(f.StatusTo, selectRow{Key: "status_to_jira." + string(st), Label: string(st), Value: val, Options: withValue(statusChoices, val)})
	}
	vsChoices := []choice{{"", "— by status category —"}}
	for _, st := range tracker.Statuses {
		vsChoices = append(vsChoices, choice{string(st), string(st)})
	}
	fromNames := map[string]bool{}
	for _, s := range statuses {
		fromNames[s.Name] = true
		val := string(doc.StatusFromJira[s.Name])
		for name, st := range doc.StatusFromJira {
			if strings.EqualFold(name, s.Name) {
				val = string(st)
			}
		}
		f.StatusFrom = append(f.StatusFrom, selectRow{Key: "status_from_jira." + s.Name, Label: s.Name,
			Hint: categoryLabel(s.Category), Value: val, Options: withValue(vsChoices, val)})
	}
	for _, name := range sortedKeys(doc.StatusFromJira) {
		if !fromNames[name] && !containsFold(statuses, name) {
			val := string(doc.StatusFromJira[name])
			f.StatusFrom = append(f.StatusFrom, selectRow{Key: "status_from_jira." + name, Label: name, Hint: "not in this project", Value: val, Options: withValue(vsChoices, val)})
		}
	}

	prioChoices := []choice{{"", "— use the default —"}}
	for _, p := range meta.Priorities {
		prioChoices = append(prioChoices, choice{p, p})
	}
	for _, sev := range tracker.Severities {
		val := doc.Priority[sev]
		f.Priority = append(f.Priority, selectRow{Key: "priority." + string(sev), Label: string(sev), Value: val, Options: withValue(prioChoices, val)})
	}
	defChoices := append([]choice{{"", "— none —"}}, prioChoices[1:]...)
	f.DefaultPriority = selectRow{Key: "default_priority", Label: "Default priority", Hint: "for severities without their own",
		Value: doc.DefaultPriority, Options: withValue(defChoices, doc.DefaultPriority)}

	if len(meta.Resolutions) > 0 {
		resChoices := []choice{{"", "— named like the status —"}}
		for _, r := range meta.Resolutions {
			resChoices = append(resChoices, choice{r, r})
		}
		for _, st := range mapping.Statuses(meta) {
			if st.Category != "done" {
				continue
			}
			val := doc.Resolutions[st.Name]
			f.Resolutions = append(f.Resolutions, selectRow{Key: "resolutions." + st.Name, Label: st.Name, Value: val, Options: withValue(resChoices, val)})
		}
	}

	fields := mapping.ProjectFields(meta)
	mapped := map[string]mapping.Field{}
	for _, mf := range doc.Fields {
		mapped[mf.Jira] = mf
	}
	vfs := mapping.VulnsyncFields(cat)
	seenRow := map[string]bool{}
	for _, jf := range fields {
		if mapping.SetBySync[jf.ID] {
			continue
		}
		seenRow[jf.ID] = true
		row := fieldRow{ID: jf.ID, Name: jf.Name, Type: schemaLabel(jf.Schema), Direction: string(mapping.Both), Errs: map[string]string{}}
		if len(jf.RequiredOn) > 0 {
			row.Required = "required on " + strings.Join(jf.RequiredOn, ", ")
		}
		if mf, ok := mapped[jf.ID]; ok {
			row.Vulnsync, row.Direction, row.Locked = mf.Vulnsync, string(mf.Direction), mf.Locked
		}
		row.Choices = []choice{{"", "— not synced —"}}
		for _, vf := range vfs {
			if mapping.Compatible(vf.Type, jf.Schema) || vf.Name == row.Vulnsync {
				row.Choices = append(row.Choices, choice{vf.Name, vf.Name})
			}
		}
		f.Fields = append(f.Fields, row)
	}
	for _, mf := range doc.Fields {
		if seenRow[mf.Jira] {
			continue
		}
		seenRow[mf.Jira] = true
		f.Fields = append(f.Fields, fieldRow{ID: mf.Jira, Name: mf.Jira, Type: "not on the create screen", Vulnsync: mf.Vulnsync,
			Direction: string(mf.Direction), Locked: mf.Locked, Choices: []choice{{"", "— not synced —"}, {mf.Vulnsync, mf.Vulnsync}}, Errs: map[string]string{}})
	}

	seenDef := map[string]bool{}
	addDefault := func(jf mapping.ProjectField) {
		seenDef[jf.ID] = true
		row := defaultRow{ID: jf.ID, Name: jf.Name, Type: schemaLabel(jf.Schema), Options: jf.AllowedValues, Input: "text", Values: map[string]bool{}}
		if len(jf.RequiredOn) > 0 {
			row.Note = "required on " + strings.Join(jf.RequiredOn, ", ")
		}
		switch jf.Schema.Type {
		case "number":
			row.Input = "number"
		case "date":
			row.Input = "date"
		case "array":
			row.Multiple = len(jf.AllowedValues) > 0
			if !row.Multiple {
				row.Note = strings.TrimPrefix(row.Note+"; comma-separated", "; ")
			}
		}
		if raw, ok := rawDefaults[jf.ID]; ok {
			for _, x := range raw {
				row.Values[x] = true
			}
			if len(raw) > 0 {
				row.Value = raw[0]
			}
		} else if val, ok := doc.Defaults[jf.ID]; ok {
			list := defaultStrings(val)
			for _, x := range list {
				row.Values[x] = true
			}
			row.Value = strings.Join(list, ", ")
		}
		f.Defaults = append(f.Defaults, row)
	}
	for _, jf := range fields {
		if len(jf.RequiredOn) > 0 && !mapping.FilledBySync[jf.ID] && jf.ID != "priority" {
			addDefault(jf)
		}
	}
	for _, jf := range fields {
		if _, ok := doc.Defaults[jf.ID]; ok && !seenDef[jf.ID] {
			addDefault(jf)
		}
	}
	for _, id := range sortedKeys(doc.Defaults) {
		if !seenDef[id] {
			addDefault(mapping.ProjectField{JiraField: mapping.JiraField{ID: id, Name: id, Schema: mapping.Schema{Type: "string"}}})
		}
	}

	f.Comments = selectRow{Key: "comments", Label: "Comments", Value: doc.Comments, Options: withValue(commentChoices, doc.Comments)}
	f.AttachTo, f.AttachFrom = doc.Attachments.ToJira, doc.Attachments.FromJira
	f.MaxBytes = selectRow{Key: "attachments.max_bytes", Label: "Largest attachment copied from Jira (bytes)", Value: strconv.FormatInt(doc.Attachments.MaxBytes, 10),
		Hint: "larger ones are recorded as a link"}
	f.OnItemDeleted = selectRow{Key: "on_item_deleted", Label: "When an item is deleted", Value: doc.OnItemDeleted, Options: withValue(itemDelChoices, doc.OnItemDeleted)}
	f.OnIssueDeleted = selectRow{Key: "on_issue_deleted", Label: "When its Jira issue is deleted", Value: doc.OnIssueDeleted, Options: withValue(issueDelChoices, doc.OnIssueDeleted)}
	f.OnIssueMoved = selectRow{Key: "on_issue_moved", Label: "When its Jira issue is moved to another project", Value: doc.OnIssueMoved, Options: withValue(movedChoices, doc.OnIssueMoved)}
	f.RestrictedComments = selectRow{Key: "restricted_comments", Label: "Jira comments restricted to a role or group", Value: doc.RestrictedComments,
		Hint: "never shown as public", Options: withValue(restrictChoices, doc.RestrictedComments)}
	f.DoneMeans = selectRow{Key: "done_means", Label: "A person's move in Jira to a done status (Done) makes the item", Value: string(doc.DoneMeans),
		Options: withValue(doneMeansChoices, string(doc.DoneMeans))}
	f.AcceptFromJira = selectRow{Key: "accept_from_jira", Label: "A person's move in Jira to a status meaning accepted risk or false positive (Won't Do)", Value: doc.AcceptFromJira,
		Options: withValue(acceptChoices, doc.AcceptFromJira)}
	f.OnRetestFailed = selectRow{Key: "on_retest_failed", Label: "When a retest fails", Value: doc.OnRetestFailed, Options: withValue(retestChoices, doc.OnRetestFailed)}
	levelChoices := []choice{{"", "— no level —"}}
	for _, l := range meta.SecurityLevels {
		f.ProjectLevels = append(f.ProjectLevels, l.Name)
		levelChoices = append(levelChoices, choice{l.Name, l.Name})
	}
	for _, sev := range tracker.Severities {
		val := doc.SecurityLevels[sev]
		if len(meta.SecurityLevels) == 0 && val == "" {
			continue
		}
		f.SecurityLevels = append(f.SecurityLevels, selectRow{Key: "security_levels." + string(sev), Label: string(sev), Value: val, Options: withValue(levelChoices, val)})
	}
	return f
}

// withValue makes sure a stored value that is no longer offered stays
// visible (and so gets its error shown) instead of silently changing.
func withValue(opts []choice, v string) []choice {
	for _, o := range opts {
		if strings.EqualFold(o.Value, v) {
			return opts
		}
	}
	return append(append([]choice(nil), opts...), choice{v, v + " (not in Jira)"})
}

func containsFold(list []mapping.Status, name string) bool {
	for _, s := range list {
		if strings.EqualFold(s.Name, name) {
			return true
		}
	}
	return false
}

func categoryLabel(c string) string {
	switch c {
	case "new":
		return "to do"
	case "indeterminate":
		return "in progress"
	case "done":
		return "done"
	}
	return c
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// defaultStrings shows a stored default value as the option values or text
// the inputs hold.
func defaultStrings(raw json.RawMessage) []string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return []string{string(raw)}
	}
	one := func(x any) string {
		switch o := x.(type) {
		case map[string]any:
			for _, k := range []string{"value", "name", "id", "accountId"} {
				if s, ok := o[k].(string); ok {
					return s
				}
			}
		case string:
			return o
		case float64:
			return strconv.FormatFloat(o, 'f', -1, 64)
		}
		b, _ := json.Marshal(x)
		return string(b)
	}
	if list, ok := v.([]any); ok {
		out := make([]string, len(list))
		for i, e := range list {
			out[i] = one(e)
		}
		return out
	}
	return []string{one(v)}
}

// parseMappingForm reads the posted form into a mapping document. It
// returns the raw default inputs (to show them back as typed) and the
// problems found before validation (a number that is not one).
func parseMappingForm(form url.Values, meta mapping.Meta) (mapping.Document, map[string][]string, tracker.Problems) {
	p := tracker.Problems{}
	d := mapping.Document{IssueTypes: map[string]string{}, StatusToJira: map[tracker.Status]string{},
		StatusFromJira: map[string]tracker.Status{}, Priority: map[tracker.Severity]string{}, Defaults: map[string]json.RawMessage{}}
	raw := map[string][]string{}
	fieldsByID := map[string]mapping.ProjectField{}
	order := map[string]int{}
	for i, f := range mapping.ProjectFields(meta) {
		fieldsByID[f.ID] = f
		order[f.ID] = i
	}
	var rowIDs []string
	for _, key := range sortedKeys(form) {
		val := strings.TrimSpace(form.Get(key))
		switch {
		case strings.HasPrefix(key, "issue_types."):
			if val != "" {
				d.IssueTypes[strings.TrimPrefix(key, "issue_types.")] = val
			}
		case strings.HasPrefix(key, "status_to_jira."):
			if val != "" {
				d.StatusToJira[tracker.Status(strings.TrimPrefix(key, "status_to_jira."))] = val
			}
		case strings.HasPrefix(key, "status_from_jira."):
			if val != "" {
				d.StatusFromJira[strings.TrimPrefix(key, "status_from_jira.")] = tracker.Status(val)
			}
		case strings.HasPrefix(key, "priority."):
			if val != "" {
				d.Priority[tracker.Severity(strings.TrimPrefix(key, "priority."))] = val
			}
		case key == "default_priority":
			d.DefaultPriority = val
		case strings.HasPrefix(key, "resolutions."):
			if val != "" {
				if d.Resolutions == nil {
					d.Resolutions = map[string]string{}
				}
				d.Resolutions[strings.TrimPrefix(key, "resolutions.")] = val
			}
		case strings.HasPrefix(key, "field.") && strings.HasSuffix(key, ".vulnsync"):
			if val != "" {
				rowIDs = append(rowIDs, strings.TrimSuffix(strings.TrimPrefix(key, "field."), ".vulnsync"))
			}
		case strings.HasPrefix(key, "default."):
			id := strings.TrimPrefix(key, "default.")
			var vals []string
			for _, v := range form[key] {
				if v = strings.TrimSpace(v); v != "" {
					vals = append(vals, v)
				}
			}
			raw[id] = vals
			if len(vals) == 0 {
				continue
			}
			enc, msg := mapping.EncodeDefault(fieldsByID[id].JiraField, vals)
			if msg != "" {
				p.Add("defaults."+id, "%s", msg)
				continue
			}
			d.Defaults[id] = enc
		case key == "comments":
			d.Comments = val
		case key == "attachments.max_bytes":
			if val == "" {
				continue
			}
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				p.Add(key, "must be a whole number of bytes")
				continue
			}
			d.Attachments.MaxBytes = n
		case key == "on_item_deleted":
			d.OnItemDeleted = val
		case key == "on_issue_deleted":
			d.OnIssueDeleted = val
		case key == "on_issue_moved":
			d.OnIssueMoved = val
		case key == "restricted_comments":
			d.RestrictedComments = val
		case key == "done_means":
			d.DoneMeans = tracker.Status(val)
		case key == "accept_from_jira":
			d.AcceptFromJira = val
		case key == "on_retest_failed":
			d.OnRetestFailed = val
		case strings.HasPrefix(key, "security_levels."):
			if val != "" {
				if d.SecurityLevels == nil {
					d.SecurityLevels = map[tracker.Severity]string{}
				}
				d.SecurityLevels[tracker.Severity(strings.TrimPrefix(key, "security_levels."))] = val
			}
		}
	}
	d.Attachments.ToJira = form.Get("attachments.to_jira") != ""
	d.Attachments.FromJira = form.Get("attachments.from_jira") != ""
	sort.SliceStable(rowIDs, func(i, j int) bool {
		oi, iok := order[rowIDs[i]]
		oj, jok := order[rowIDs[j]]
		if iok != jok {
			return iok
		}
		return oi < oj
	})
	for _, id := range rowIDs {
		d.Fields = append(d.Fields, mapping.Field{Vulnsync: strings.TrimSpace(form.Get("field." + id + ".vulnsync")), Jira: id,
			Direction: mapping.Direction(form.Get("field." + id + ".direction")), Locked: form.Get("field." + id + ".locked")})
	}
	if len(d.Defaults) == 0 {
		d.Defaults = nil
	}
	return d, raw, p
}

var fieldKeyRE = regexp.MustCompile(`^fields\[(\d+)\]\.(\w+)$`)

// applyProblems puts each problem next to its input; those that belong to
// no input are listed at the top, so none is lost.
func (f *mappingForm) applyProblems(message string, problems map[string]string, doc mapping.Document) {
	f.Message = message
	f.ProblemCount = len(problems)
	rows := map[string]*string{}
	for _, list := range [][]selectRow{f.IssueTypes, f.StatusTo, f.StatusFrom, f.Priority, f.Resolutions, f.SecurityLevels} {
		for i := range list {
			rows[list[i].Key] = &list[i].Err
		}
	}
	for _, s := range []*selectRow{&f.DefaultPriority, &f.Comments, &f.MaxBytes, &f.OnItemDeleted, &f.OnIssueDeleted, &f.OnIssueMoved, &f.RestrictedComments, &f.DoneMeans, &f.AcceptFromJira, &f.OnRetestFailed} {
		rows[s.Key] = &s.Err
	}
	for i := range f.Defaults {
		rows["defaults."+f.Defaults[i].ID] = &f.Defaults[i].Err
	}
	fieldRows := map[string]*fieldRow{}
	for i := range f.Fields {
		fieldRows[f.Fields[i].ID] = &f.Fields[i]
	}
	for _, key := range sortedKeys(problems) {
		msg := problems[key]
		if dst, ok := rows[key]; ok {
			*dst = msg
			continue
		}
		if m := fieldKeyRE.FindStringSubmatch(key); m != nil {
			i, _ := strconv.Atoi(m[1])
			if i < len(doc.Fields) {
				if row, ok := fieldRows[doc.Fields[i].Jira]; ok {
					row.Errs[m[2]] = msg
					continue
				}
			}
		}
		f.Problems = append(f.Problems, keyedProblem{Key: key, Message: msg})
	}
}

// --- Handlers ----------------------------------------------------------------------------

func (u *ui) mappingContext(w http.ResponseWriter, r *http.Request, sv *sessionView) (integration.View, jiraconn.ProjectMeta, tracker.Catalog, bool) {
	v, err := u.integ.Integration(r.Context(), r.PathValue("id"))
	if err != nil {
		u.renderError(w, r, sv, err)
		return v, jiraconn.ProjectMeta{}, tracker.Catalog{}, false
	}
	meta, err := u.integ.ProjectMeta(r.Context(), v.ConnectionID, v.ProjectKey, r.URL.Query().Get("refresh") == "1")
	if err != nil {
		u.renderError(w, r, sv, fmt.Errorf("read the metadata of Jira project %s: %w", v.ProjectKey, err))
		return v, meta, tracker.Catalog{}, false
	}
	cat, err := u.svc.Catalog(r.Context())
	if err != nil {
		u.renderError(w, r, sv, err)
		return v, meta, cat, false
	}
	return v, meta, cat, true
}

func (u *ui) handleConfigure(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	v, meta, cat, ok := u.mappingContext(w, r, sv)
	if !ok {
		return
	}
	var doc mapping.Document
	saved := v.Mapping != nil
	if saved {
		doc = *v.Mapping
	} else {
		doc = mapping.Suggest(meta.Meta, cat)
	}
	f := buildForm(v, meta.Meta, cat, doc, nil)
	f.Saved, f.Suggested = saved, !saved
	u.render(w, r, sv, http.StatusOK, "configure", "Configure "+v.TargetName+" ↔ Jira "+v.ProjectKey, "integrations", f)
}

// handleSaveMapping validates and stores the mapping; on problems the form
// comes back as posted, each problem next to its input.
func (u *ui) handleSaveMapping(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	v, meta, cat, ok := u.mappingContext(w, r, sv)
	if !ok {
		return
	}
	doc, raw, local := parseMappingForm(r.PostForm, meta.Meta)
	doc.Normalize()
	title := "Configure " + v.TargetName + " ↔ Jira " + v.ProjectKey
	if len(local) > 0 {
		f := buildForm(v, meta.Meta, cat, doc, raw)
		f.Saved = v.Mapping != nil
		f.applyProblems("Some values could not be read; nothing was saved.", local, doc)
		u.render(w, r, sv, http.StatusBadRequest, "configure", title, "integrations", f)
		return
	}
	body, err := json.Marshal(doc)
	if err != nil {
		u.renderError(w, r, sv, fmt.Errorf("encode mapping: %w", err))
		return
	}
	saved, err := u.integ.SetMapping(r.Context(), v.ID, body)
	if err != nil {
		p := u.explain(r, err)
		if p.Status >= 500 || p.Status == http.StatusNotFound {
			u.renderError(w, r, sv, err)
			return
		}
		f := buildForm(v, meta.Meta, cat, doc, raw)
		f.Saved = v.Mapping != nil
		f.applyProblems(sentence(p.Message)+": nothing was saved.", p.Fields, doc)
		u.render(w, r, sv, p.Status, "configure", title, "integrations", f)
		return
	}
	u.sessions.addFlash(sv.ID, "ok", fmt.Sprintf("Mapping saved: %s syncs with Jira project %s.", saved.TargetName, saved.ProjectKey))
	seeOther(w, r, "/integrations/targets/"+url.PathEscape(v.ID)+"/configure")
}

// sentence starts a message with a capital letter.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// schemaLabel names a Jira field's type for people ("array of string").
func schemaLabel(s mapping.Schema) string {
	if s.Items != "" {
		return s.Type + " of " + s.Items
	}
	return s.Type
}

type peopleData struct {
	People []integration.PersonMatch
	Error  string
}

// handlePeople shows the vulnsync users and their Jira match (fetched
// after the page, since it asks Jira once per person).
func (u *ui) handlePeople(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if !u.jiraGuard(w, r, sv) {
		return
	}
	ps, err := u.integ.People(r.Context(), r.PathValue("id"))
	d := peopleData{People: ps}
	if err != nil {
		d.Error = u.explain(r, err).Message
	}
	u.renderPartial(w, r, http.StatusOK, "people-matches", d)
}
