// Package mapping owns the mapping document of an integration (PRODUCT.md
// §2): which Jira issue type each kind becomes, how statuses and severities
// translate in each direction, which fields sync and which way, defaults
// for required Jira fields, and the comment, attachment and deletion
// policies. It validates a document against the Jira project's metadata so
// that every problem is reported, field by field, before any sync starts.
//
// It knows Jira only through Meta, a plain description of the project that
// the integration layer fills from createmeta, statuses and priorities.
package mapping

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Example is the mapping document of PRODUCT.md §2, verbatim. It fits the
// Jira simulator's seed project (SEC), so the demo and the tests start from
// it.
const Example = `{
  "issue_types": {"vulnerability": "Bug", "finding": "Sub-task", "risk": "Task"},
  "status_to_jira": {"open": "To Do", "in_progress": "In Progress", "resolved": "Done",
                     "accepted_risk": "Won't Do", "false_positive": "Won't Do"},
  "status_from_jira": {"To Do": "open", "In Progress": "in_progress", "Done": "resolved",
                       "Won't Do": "accepted_risk"},
  "priority": {"critical": "Highest", "high": "High", "medium": "Medium", "low": "Low", "info": "Lowest"},
  "default_priority": "Medium",
  "fields": [
    {"vulnsync": "title",       "jira": "summary",           "direction": "to_jira"},
    {"vulnsync": "description", "jira": "description",       "direction": "to_jira"},
    {"vulnsync": "cvss_score",  "jira": "customfield_10050", "direction": "both"},
    {"vulnsync": "asset_id",    "jira": "customfield_10051", "direction": "both", "locked": "vulnsync"},
    {"vulnsync": "labels",      "jira": "labels",            "direction": "both"}
  ],
  "defaults": {"customfield_10052": {"value": "Web"}},
  "comments": "both",
  "attachments": {"to_jira": true, "from_jira": true, "max_bytes": 10485760}
}`

// Direction says which way a field flows.
type Direction string

// The directions of PRODUCT.md §2.
const (
	ToJira   Direction = "to_jira"
	FromJira Direction = "from_jira"
	Both     Direction = "both"
)

// Sides a locked field may take.
const (
	LockVulnsync = "vulnsync"
	LockJira     = "jira"
)

// Field maps one vulnsync attribute or typed field to one Jira field.
type Field struct {
	Vulnsync  string    `json:"vulnsync"`
	Jira      string    `json:"jira"`
	Direction Direction `json:"direction"`
	Locked    string    `json:"locked,omitempty"`
}

// ToJira reports whether vulnsync's value is written to Jira.
func (f Field) ToJira() bool { return f.Direction == ToJira || f.Direction == Both }

// FromJira reports whether Jira's value is written to vulnsync.
func (f Field) FromJira() bool { return f.Direction == FromJira || f.Direction == Both }

// Attachments is the attachment policy.
type Attachments struct {
	ToJira   bool  `json:"to_jira"`
	FromJira bool  `json:"from_jira"`
	MaxBytes int64 `json:"max_bytes"`
}

// Comment policies.
const (
	CommentsBoth     = "both"
	CommentsToJira   = "to_jira"
	CommentsFromJira = "from_jira"
	CommentsNone     = "none"
)

// Deletion policies (G11).
const (
	OnItemDeletedClose     = "close"
	OnItemDeletedDelete    = "delete"
	OnItemDeletedLeave     = "leave"
	OnIssueDeletedUnlink   = "unlink"
	OnIssueDeletedRecreate = "recreate"
)

// Move policies: what happens when the linked issue is moved to another
// project in Jira (its id stays, its key changes).
const (
	// OnIssueMovedDeletion (default): the issue left the integrated
	// project, so on_issue_deleted applies (unlink, or recreate in the
	// integrated project).
	OnIssueMovedDeletion = "deletion_policy"
	// OnIssueMovedFollow: the link follows the issue by its id into the
	// other project and the item shows its new key.
	OnIssueMovedFollow = "follow"
)

// Restricted-comment policies: what the sync does with a Jira comment whose
// visibility is restricted to a role or group. Either way such a comment is
// never shown as public in vulnsync.
const (
	RestrictedSkip = "skip" // not mirrored at all
	RestrictedKeep = "keep" // mirrored, marked restricted with its visibility
)

// What a person's move into a done status that maps to resolved means
// (done_means): a claimed fix awaiting retest (the default), or a verdict.
const (
	DoneMeansFixed    = tracker.StatusFixed
	DoneMeansResolved = tracker.StatusResolved
)

// What reopening an item whose issue is done does in Jira
// (on_retest_failed; a failed retest is the usual cause): reopen the
// issue, or file a new issue linked to the old one, for workflows that
// forbid reopening a done issue.
const (
	OnRetestFailedReopen   = "reopen"
	OnRetestFailedNewIssue = "new_issue"
)

// What a person's move into a Jira status mapped to accepted_risk or
// false_positive (Won't Do, say) does (accept_from_jira): open a pending
// acceptance that an admin approves (the default), or apply the status at
// once.
const (
	AcceptFromJiraRequest = "request"
	AcceptFromJiraApply   = "apply"
)

// MaxAttachmentBytes is the largest max_bytes a mapping may set.
const MaxAttachmentBytes = 64 << 20

// Document is the mapping of one integration.
type Document struct {
	IssueTypes      map[string]string           `json:"issue_types"`
	StatusToJira    map[tracker.Status]string   `json:"status_to_jira"`
	StatusFromJira  map[string]tracker.Status   `json:"status_from_jira"`
	Priority        map[tracker.Severity]string `json:"priority"`
	DefaultPriority string                      `json:"default_priority"`
	Fields          []Field                     `json:"fields"`
	Defaults        map[string]json.RawMessage  `json:"defaults"`
	// Resolutions names, per Jira status, the resolution to send when a
	// transition into it requires one (Data Center's Done screen);
	// unmapped, the resolution named like the status is sent, else the
	// first one Jira offers.
	Resolutions    map[string]string `json:"resolutions,omitempty"`
	Comments       string            `json:"comments"`
	Attachments    Attachments       `json:"attachments"`
	OnItemDeleted  string            `json:"on_item_deleted,omitempty"`
	OnIssueDeleted string            `json:"on_issue_deleted,omitempty"`
	// SecurityLevels names, per severity, the issue security level the
	// issue gets (e.g. critical → "Security only"): set at create and
	// changed when the severity changes to one mapped to another level.
	// An unmapped severity leaves the issue's level as it is: the sync
	// never lowers an issue's confidentiality on its own.
	SecurityLevels map[tracker.Severity]string `json:"security_levels,omitempty"`
	// RestrictedComments is the policy for Jira comments restricted to a
	// role or group: skip (default) or keep (marked restricted).
	RestrictedComments string `json:"restricted_comments,omitempty"`
	// OnIssueMoved is the policy for an issue moved out of the integrated
	// project: deletion_policy (default) or follow.
	OnIssueMoved string `json:"on_issue_moved,omitempty"`
	// DoneMeans is the vulnsync status a person's move into a Jira status
	// mapped to resolved gives: fixed (awaiting retest; the default) or
	// resolved.
	DoneMeans tracker.Status `json:"done_means,omitempty"`
	// AcceptFromJira is request (the default: a pending acceptance) or
	// apply.
	AcceptFromJira string `json:"accept_from_jira,omitempty"`
	// OnRetestFailed is reopen (the default) or new_issue.
	OnRetestFailed string `json:"on_retest_failed,omitempty"`
}

// Normalize fills the defaults the spec gives: summary and description flow
// to Jira, comments both ways, attachments both ways up to 10 MiB, deleted
// items close their issue and deleted issues unlink their item.
func (d *Document) Normalize() {
	if d.Comments == "" {
		d.Comments = CommentsBoth
	}
	if d.Attachments.MaxBytes == 0 {
		d.Attachments.MaxBytes = 10 << 20
	}
	if d.OnItemDeleted == "" {
		d.OnItemDeleted = OnItemDeletedClose
	}
	if d.OnIssueDeleted == "" {
		d.OnIssueDeleted = OnIssueDeletedUnlink
	}
	if d.RestrictedComments == "" {
		d.RestrictedComments = RestrictedSkip
	}
	if d.OnIssueMoved == "" {
		d.OnIssueMoved = OnIssueMovedDeletion
	}
	if d.DoneMeans == "" {
		d.DoneMeans = DoneMeansFixed
	}
	if d.AcceptFromJira == "" {
		d.AcceptFromJira = AcceptFromJiraRequest
	}
	if d.OnRetestFailed == "" {
		d.OnRetestFailed = OnRetestFailedReopen
	}
	for i := range d.Fields {
		if d.Fields[i].Direction == "" && (d.Fields[i].Vulnsync == "title" || d.Fields[i].Vulnsync == "description") {
			d.Fields[i].Direction = ToJira
		}
	}
}

// FieldFor returns the mapping of a vulnsync attribute, if any.
func (d *Document) FieldFor(vulnsync string) (Field, bool) {
	for _, f := range d.Fields {
		if f.Vulnsync == vulnsync {
			return f, true
		}
	}
	return Field{}, false
}

// StatusFromJiraName maps a Jira status to vulnsync's (G5): by name through
// status_from_jira, else by its status category, the stable meaning of a
// status across custom workflows. A status meaning resolved gives
// done_means instead (fixed unless the mapping says resolved): an
// engineer's Done is a claim that a retest settles. This is the one place
// Jira statuses become vulnsync statuses.
func (d *Document) StatusFromJiraName(name, category string) (tracker.Status, bool) {
	st, ok := d.statusFromJira(name, category)
	if ok && st == tracker.StatusResolved && d.DoneMeans != DoneMeansResolved {
		st = tracker.StatusFixed
	}
	return st, ok
}

func (d *Document) statusFromJira(name, category string) (tracker.Status, bool) {
	for k, v := range d.StatusFromJira {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	switch category {
	case "new":
		return tracker.StatusOpen, true
	case "indeterminate":
		return tracker.StatusInProgress, true
	case "done":
		return tracker.StatusResolved, true
	}
	return "", false
}

// AcceptsByRequest reports whether a person's move in Jira into a status
// meaning st opens a pending acceptance instead of changing the item.
func (d *Document) AcceptsByRequest(st tracker.Status) bool {
	return (st == tracker.StatusAcceptedRisk || st == tracker.StatusFalsePositive) && d.AcceptFromJira != AcceptFromJiraApply
}

// JiraStatus is the Jira status a vulnsync status shows as: the
// status_to_jira entry, and for fixed, when unmapped, resolved's (a
// claimed fix and a verified one are both done in Jira).
func (d *Document) JiraStatus(st tracker.Status) string {
	if s, ok := d.StatusToJira[st]; ok && s != "" {
		return s
	}
	if st == tracker.StatusFixed {
		return d.StatusToJira[tracker.StatusResolved]
	}
	return ""
}

// SeverityOf inverts the priority mapping; when several severities share
// a priority the most severe wins.
func (d *Document) SeverityOf(priority string) (tracker.Severity, bool) {
	for _, sev := range tracker.Severities {
		if strings.EqualFold(d.Priority[sev], priority) {
			return sev, true
		}
	}
	return "", false
}

// PriorityFor is the Jira priority of a severity, falling back to
// default_priority.
func (d *Document) PriorityFor(s tracker.Severity) string {
	if p, ok := d.Priority[s]; ok && p != "" {
		return p
	}
	return d.DefaultPriority
}

// SecurityLevelFor is the issue security level mapped to a severity, or ""
// when none is.
func (d *Document) SecurityLevelFor(s tracker.Severity) string {
	return d.SecurityLevels[s]
}

// Meta describes the Jira project a mapping is validated against.
type Meta struct {
	ProjectKey string
	IssueTypes []IssueType
	// Statuses lists, per issue type name, the statuses of its workflow.
	Statuses map[string][]Status
	// Priorities are those the project's priority scheme allows.
	Priorities []string
	// Resolutions are the site's resolutions (a transition screen may
	// require one).
	Resolutions []string
	// SecurityLevels are the issue security levels the project's scheme
	// offers (the security field's allowedValues on the create screen);
	// empty when the project has no scheme.
	SecurityLevels []SecurityLevel
}

// SecurityLevel is one issue security level of the project.
type SecurityLevel struct {
	ID   string
	Name string
}

// SecurityLevel finds a level by name (case-insensitive).
func (m Meta) SecurityLevel(name string) (SecurityLevel, bool) {
	for _, l := range m.SecurityLevels {
		if strings.EqualFold(l.Name, name) {
			return l, true
		}
	}
	return SecurityLevel{}, false
}

// IssueType is one issue type of the project with its create-screen fields.
type IssueType struct {
	ID      string
	Name    string
	Subtask bool
	Fields  []JiraField
}

// JiraField is a field as createmeta (or the field list) describes it.
type JiraField struct {
	ID            string
	Name          string
	Required      bool
	HasDefault    bool
	Schema        Schema
	AllowedValues []string // option values (or names) for option fields
}

// Schema is a Jira field's schema.
type Schema struct {
	Type   string // string, number, option, array, date, datetime, user, priority, ...
	Items  string // element type of arrays
	System string
	Custom string
}

// Status is a Jira status with its category key (new, indeterminate, done).
type Status struct {
	ID       string
	Name     string
	Category string
}

func (m Meta) issueType(name string) (IssueType, bool) {
	for _, t := range m.IssueTypes {
		if strings.EqualFold(t.Name, name) {
			return t, true
		}
	}
	return IssueType{}, false
}

func (m Meta) allStatuses() map[string]Status {
	out := map[string]Status{}
	for _, ss := range m.Statuses {
		for _, s := range ss {
			out[strings.ToLower(s.Name)] = s
		}
	}
	return out
}

func names[T any](list []T, name func(T) string) string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = name(v)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// FilledBySync are required fields the sync always sets itself (or Jira
// does), so they need no mapping or default.
var FilledBySync = map[string]bool{"project": true, "issuetype": true, "summary": true, "parent": true, "reporter": true}

// Validate checks d against the Jira project and vulnsync's catalog and
// returns an EUnprocessable error naming every problem by field (keys like
// "issue_types.finding", "status_to_jira.resolved", "fields[2].jira",
// "defaults.customfield_10052").
func (d *Document) Validate(m Meta, cat tracker.Catalog) error {
	p := tracker.Problems{}
	used := d.validateIssueTypes(p, m, cat)
	d.validateStatuses(p, m, used)
	d.validatePriorities(p, m)
	d.validateResolutions(p, m)
	d.validateSecurityLevels(p, m)
	d.validateFields(p, m, cat, used)
	d.validatePolicies(p)
	return p.Err(tracker.EUnprocessable, "the mapping does not fit the Jira project "+m.ProjectKey)
}

func (d *Document) validateIssueTypes(p tracker.Problems, m Meta, cat tracker.Catalog) []IssueType {
	var used []IssueType
	if len(d.IssueTypes) == 0 {
		p.Add("issue_types", "map at least one kind to a Jira issue type")
	}
	for _, kind := range sortedKeys(d.IssueTypes) {
		name := d.IssueTypes[kind]
		key := "issue_types." + kind
		if _, ok := cat.Kinds[kind]; !ok {
			p.Add(key, "unknown kind %q", kind)
			continue
		}
		it, ok := m.issueType(name)
		if !ok {
			p.Add(key, "issue type %q does not exist in project %s (it has: %s)", name, m.ProjectKey, names(m.IssueTypes, func(t IssueType) string { return t.Name }))
			continue
		}
		switch {
		case kind == tracker.KindFinding && !it.Subtask:
			p.Add(key, "findings become sub-tasks of their vulnerability's issue: %q is not a sub-task type", name)
		case kind != tracker.KindFinding && it.Subtask:
			p.Add(key, "%q is a sub-task type; only findings can be sub-tasks", name)
		default:
			used = append(used, it)
		}
	}
	if _, ok := d.IssueTypes[tracker.KindFinding]; ok {
		if _, ok := d.IssueTypes[tracker.KindVulnerability]; !ok {
			p.Add("issue_types.vulnerability", "findings are mapped, so vulnerabilities (their parents) must be mapped too")
		}
	}
	return used
}

func (d *Document) validateStatuses(p tracker.Problems, m Meta, used []IssueType) {
	for _, st := range sortedKeys(d.StatusToJira) {
		name := d.StatusToJira[st]
		key := "status_to_jira." + string(st)
		if !st.Valid() {
			p.Add(key, "unknown vulnsync status %q", st)
			continue
		}
		for _, it := range used {
			if !hasStatus(m.Statuses[it.Name], name) {
				p.Add(key, "status %q is not reachable in the workflow of %s (its statuses: %s)", name, it.Name, names(m.Statuses[it.Name], func(s Status) string { return s.Name }))
				break
			}
		}
	}
	for _, st := range tracker.Statuses {
		if _, ok := d.StatusToJira[st]; !ok && len(used) > 0 && st != tracker.StatusFixed { // fixed falls back to resolved's
			p.Add("status_to_jira."+string(st), "map vulnsync status %q to a Jira status", st)
		}
	}
	all := m.allStatuses()
	for _, name := range sortedKeys(d.StatusFromJira) {
		key := "status_from_jira." + name
		if _, ok := all[strings.ToLower(name)]; !ok {
			p.Add(key, "Jira status %q does not exist in project %s", name, m.ProjectKey)
		}
		if st := d.StatusFromJira[name]; !st.Valid() {
			p.Add(key, "unknown vulnsync status %q", st)
		}
	}
}

func hasStatus(list []Status, name string) bool {
	for _, s := range list {
		if strings.EqualFold(s.Name, name) {
			return true
		}
	}
	return false
}

func (d *Document) validatePriorities(p tracker.Problems, m Meta) {
	exists := func(name string) bool {
		for _, pr := range m.Priorities {
			if strings.EqualFold(pr, name) {
				return true
			}
		}
		return false
	}
	for _, sev := range sortedKeys(d.Priority) {
		key := "priority." + string(sev)
		if !sev.Valid() {
			p.Add(key, "unknown severity %q", sev)
		} else if !exists(d.Priority[sev]) {
			p.Add(key, "priority %q is not allowed in project %s (its priority scheme allows: %s)", d.Priority[sev], m.ProjectKey, strings.Join(m.Priorities, ", "))
		}
	}
	if d.DefaultPriority != "" && !exists(d.DefaultPriority) {
		p.Add("default_priority", "priority %q is not allowed in project %s (its priority scheme allows: %s)", d.DefaultPriority, m.ProjectKey, strings.Join(m.Priorities, ", "))
	}
	if d.DefaultPriority == "" {
		for _, sev := range tracker.Severities {
			if _, ok := d.Priority[sev]; !ok {
				p.Add("default_priority", "severity %q has no priority: set default_priority", sev)
				break
			}
		}
	}
}

// validateResolutions checks that each mapped status exists in the
// workflow and each resolution on the site.
func (d *Document) validateResolutions(p tracker.Problems, m Meta) {
	for _, status := range sortedKeys(d.Resolutions) {
		key := "resolutions." + status
		if !m.hasStatus(status) {
			p.Add(key, "status %q is not in the workflow of project %s", status, m.ProjectKey)
		}
		res := d.Resolutions[status]
		found := false
		for _, r := range m.Resolutions {
			found = found || strings.EqualFold(r, res)
		}
		if !found {
			p.Add(key, "resolution %q does not exist (Jira has: %s)", res, strings.Join(m.Resolutions, ", "))
		}
	}
}

// hasStatus reports whether any workflow of the project has the status.
func (m Meta) hasStatus(name string) bool {
	for _, ss := range m.Statuses {
		for _, s := range ss {
			if strings.EqualFold(s.Name, name) {
				return true
			}
		}
	}
	return false
}

// ResolutionFor picks the resolution to send with a transition into the
// Jira status to whose screen requires one, among those offered: the
// mapped one, else the one named like the status (Won't Do → Won't Do),
// else one called Done, else the first offered. "" when none is offered.
func (d *Document) ResolutionFor(to string, offered []string) string {
	pick := func(name string) string {
		for _, o := range offered {
			if strings.EqualFold(o, name) {
				return o
			}
		}
		return ""
	}
	if r := pick(d.Resolutions[to]); r != "" && d.Resolutions[to] != "" {
		return r
	}
	for k, v := range d.Resolutions {
		if strings.EqualFold(k, to) {
			if r := pick(v); r != "" {
				return r
			}
		}
	}
	if r := pick(to); r != "" {
		return r
	}
	if r := pick("Done"); r != "" {
		return r
	}
	if len(offered) > 0 {
		return offered[0]
	}
	return ""
}

// jiraField finds a field on the create screen of any used issue type.
func jiraField(used []IssueType, id string) (JiraField, bool) {
	for _, it := range used {
		for _, f := range it.Fields {
			if f.ID == id {
				return f, true
			}
		}
	}
	return JiraField{}, false
}

// vulnsyncType is the value type of a mappable vulnsync attribute.
func vulnsyncType(cat tracker.Catalog, name string) (tracker.FieldDef, bool) {
	switch name {
	case "title":
		return tracker.FieldDef{Name: name, Type: tracker.TypeText}, true
	case "description":
		return tracker.FieldDef{Name: name, Type: tracker.TypeText}, true
	}
	f, ok := cat.Fields[name]
	return f, ok
}

// Compatible reports whether a vulnsync field of type t can hold a Jira
// field with schema s (and back).
func Compatible(t tracker.FieldType, s Schema) bool {
	switch t {
	case tracker.TypeEmail:
		// An email maps to a text field, or to a person (assignee):
		// matched by email through Jira's user search.
		return s.Type == "string" || s.Type == "user"
	case tracker.TypeText, tracker.TypeURL, tracker.TypeLocation:
		return s.Type == "string"
	case tracker.TypeNumber:
		return s.Type == "number"
	case tracker.TypeDate:
		return s.Type == "date"
	case tracker.TypeSelect:
		return s.Type == "option"
	case tracker.TypeMultiSelect:
		return s.Type == "array" && s.Items == "option"
	case tracker.TypeLabels, tracker.TypeURLList:
		return s.Type == "array" && s.Items == "string"
	}
	return false
}

func (d *Document) validateFields(p tracker.Problems, m Meta, cat tracker.Catalog, used []IssueType) {
	seenV, seenJ := map[string]int{}, map[string]int{}
	covered := map[string]bool{}
	for i, f := range d.Fields {
		key := fmt.Sprintf("fields[%d]", i)
		switch f.Direction {
		case ToJira, FromJira, Both:
		default:
			p.Add(key+".direction", "must be to_jira, from_jira or both")
		}
		switch {
		case f.Locked == "":
		case f.Direction != Both:
			p.Add(key+".locked", "only fields synced both ways can be locked")
		case f.Locked != LockVulnsync && f.Locked != LockJira:
			p.Add(key+".locked", "must be vulnsync or jira")
		}
		def, ok := vulnsyncType(cat, f.Vulnsync)
		if !ok {
			if f.Vulnsync == "severity" || f.Vulnsync == "status" {
				p.Add(key+".vulnsync", "%s maps through %s, not as a field", f.Vulnsync, map[string]string{"severity": "priority", "status": "status_to_jira and status_from_jira"}[f.Vulnsync])
			} else {
				p.Add(key+".vulnsync", "unknown vulnsync field %q", f.Vulnsync)
			}
		}
		if j, dup := seenV[f.Vulnsync]; dup {
			p.Add(key+".vulnsync", "%q is already mapped by fields[%d]", f.Vulnsync, j)
		}
		if j, dup := seenJ[f.Jira]; dup {
			p.Add(key+".jira", "%q is already mapped by fields[%d]", f.Jira, j)
		}
		seenV[f.Vulnsync], seenJ[f.Jira] = i, i
		jf, found := jiraField(used, f.Jira)
		if !found {
			p.Add(key+".jira", "Jira field %q is not on the create screen of the mapped issue types", f.Jira)
			continue
		}
		if f.ToJira() {
			covered[f.Jira] = true
		}
		if !ok {
			continue
		}
		if !Compatible(def.Type, jf.Schema) {
			p.Add(key+".jira", "%s (%s) cannot hold vulnsync's %s (%s)", jf.Name, schemaName(jf.Schema), f.Vulnsync, def.Type)
			continue
		}
		if (def.Type == tracker.TypeSelect || def.Type == tracker.TypeMultiSelect) && len(jf.AllowedValues) > 0 {
			for _, o := range def.Options {
				if f.ToJira() && !containsFold(jf.AllowedValues, o) {
					p.Add(key+".jira", "option %q of %s is not allowed by %s (allowed: %s)", o, f.Vulnsync, jf.Name, strings.Join(jf.AllowedValues, ", "))
					break
				}
			}
		}
	}
	covered["summary"] = true
	covered["priority"] = len(d.Priority) > 0 || d.DefaultPriority != ""
	for _, id := range sortedKeys(d.Defaults) {
		key := "defaults." + id
		jf, ok := jiraField(used, id)
		if !ok {
			p.Add(key, "Jira field %q is not on the create screen of the mapped issue types", id)
			continue
		}
		if msg := checkDefault(jf, d.Defaults[id]); msg != "" {
			p.Add(key, "%s", msg)
			continue
		}
		covered[id] = true
	}
	for _, it := range used {
		for _, f := range it.Fields {
			if f.Required && !f.HasDefault && !FilledBySync[f.ID] && !covered[f.ID] {
				p.Add("defaults."+f.ID, "%s (%s) is required on %s: map a field to it or give a default", f.Name, f.ID, it.Name)
			}
		}
	}
}

func schemaName(s Schema) string {
	if s.Items != "" {
		return s.Type + " of " + s.Items
	}
	return s.Type
}

// checkDefault validates a default value against the field's schema and
// allowed values, returning a problem or "".
func checkDefault(f JiraField, raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "not valid JSON"
	}
	optionValue := func(x any) (string, bool) {
		switch o := x.(type) {
		case map[string]any:
			for _, k := range []string{"value", "name", "id"} {
				if s, ok := o[k].(string); ok {
					return s, true
				}
			}
		case string:
			return o, true
		}
		return "", false
	}
	allowed := func(s string) string {
		if len(f.AllowedValues) > 0 && !containsFold(f.AllowedValues, s) {
			return fmt.Sprintf("%q is not an allowed value of %s (allowed: %s)", s, f.Name, strings.Join(f.AllowedValues, ", "))
		}
		return ""
	}
	switch f.Schema.Type {
	case "option":
		s, ok := optionValue(v)
		if !ok {
			return fmt.Sprintf(`%s takes an option, like {"value": "%s"}`, f.Name, first(f.AllowedValues))
		}
		return allowed(s)
	case "array":
		list, ok := v.([]any)
		if !ok {
			return fmt.Sprintf("%s takes a list", f.Name)
		}
		for _, e := range list {
			s, ok := optionValue(e)
			if !ok {
				return fmt.Sprintf("%s takes a list of %s", f.Name, f.Schema.Items)
			}
			if f.Schema.Items == "option" {
				if msg := allowed(s); msg != "" {
					return msg
				}
			}
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return fmt.Sprintf("%s takes a number", f.Name)
		}
	case "string", "date", "datetime":
		if _, ok := v.(string); !ok {
			return fmt.Sprintf("%s takes a string", f.Name)
		}
	}
	return ""
}

func first(list []string) string {
	if len(list) == 0 {
		return "…"
	}
	return list[0]
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// validateSecurityLevels checks that each mapped level exists in the
// project's issue security scheme.
func (d *Document) validateSecurityLevels(p tracker.Problems, m Meta) {
	for _, sev := range sortedKeys(d.SecurityLevels) {
		key := "security_levels." + string(sev)
		name := d.SecurityLevels[sev]
		switch {
		case !sev.Valid():
			p.Add(key, "unknown severity %q", sev)
		case len(m.SecurityLevels) == 0:
			p.Add(key, "project %s has no issue security scheme (or the service account may not set levels)", m.ProjectKey)
		default:
			if _, ok := m.SecurityLevel(name); !ok {
				p.Add(key, "security level %q does not exist in project %s (its levels: %s)", name, m.ProjectKey, names(m.SecurityLevels, func(l SecurityLevel) string { return l.Name }))
			}
		}
	}
}

func (d *Document) validatePolicies(p tracker.Problems) {
	oneOf(p, "comments", d.Comments, CommentsBoth, CommentsToJira, CommentsFromJira, CommentsNone)
	if d.Attachments.MaxBytes < 0 || d.Attachments.MaxBytes > MaxAttachmentBytes {
		p.Add("attachments.max_bytes", "must be between 0 and %d", MaxAttachmentBytes)
	}
	oneOf(p, "on_item_deleted", d.OnItemDeleted, OnItemDeletedClose, OnItemDeletedDelete, OnItemDeletedLeave)
	oneOf(p, "on_issue_deleted", d.OnIssueDeleted, OnIssueDeletedUnlink, OnIssueDeletedRecreate)
	oneOf(p, "restricted_comments", d.RestrictedComments, RestrictedSkip, RestrictedKeep)
	oneOf(p, "on_issue_moved", d.OnIssueMoved, OnIssueMovedDeletion, OnIssueMovedFollow)
	oneOf(p, "done_means", string(d.DoneMeans), string(DoneMeansFixed), string(DoneMeansResolved))
	oneOf(p, "accept_from_jira", d.AcceptFromJira, AcceptFromJiraRequest, AcceptFromJiraApply)
	oneOf(p, "on_retest_failed", d.OnRetestFailed, OnRetestFailedReopen, OnRetestFailedNewIssue)
}

// oneOf adds a problem on field unless v is one of the allowed policy
// values (the document is normalized first: an absent policy has its
// default by then), naming them as "must be a, b or c".
func oneOf(p tracker.Problems, field, v string, allowed ...string) {
	if slices.Contains(allowed, v) {
		return
	}
	list := allowed[0]
	if n := len(allowed); n > 1 {
		list = strings.Join(allowed[:n-1], ", ") + " or " + allowed[n-1]
	}
	p.Add(field, "must be %s", list)
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
