package tracker

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Item is a vulnerability, finding, risk or item of a custom kind.
//
// FieldTimes holds, for every attribute and typed field that was ever set,
// the time it last changed: keys are "title", "description", "severity",
// "status", "parent_id" and the typed field names. The sync compares these
// with Jira's changelog times to let the newest change win (G3).
type Item struct {
	ID          string               `json:"id"`
	TargetID    string               `json:"target_id"`
	Kind        string               `json:"kind"`
	ParentID    string               `json:"parent_id,omitempty"`
	Title       string               `json:"title"`
	Description string               `json:"description"`
	Severity    Severity             `json:"severity"`
	Status      Status               `json:"status"`
	Fields      map[string]any       `json:"fields"`
	CreatedAt   time.Time            `json:"created_at"`
	UpdatedAt   time.Time            `json:"updated_at"`
	FieldTimes  map[string]time.Time `json:"field_times"`
	// Fingerprint and Scanner are set on items created by a scanner
	// import (and never change): the identity that makes a re-import
	// update the item instead of duplicating it, unique per target among
	// live items, and the scanner whose full re-scans may close it.
	Fingerprint string `json:"fingerprint,omitempty"`
	Scanner     string `json:"scanner,omitempty"`
	// Version counts the changes made to the item. Stores use it for
	// optimistic concurrency; the sync uses it to tell whether the state it
	// pushed to Jira is still the latest.
	Version int64 `json:"version"`
}

// NewItem is what a caller supplies to create an item.
type NewItem struct {
	Kind        string         `json:"kind"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Severity    Severity       `json:"severity"`
	Status      Status         `json:"status"`
	ParentID    string         `json:"parent_id"`
	Fields      map[string]any `json:"fields"`
}

// Patch is a partial update of an item. Nil pointers leave an attribute
// alone; in Fields a nil value removes the field.
type Patch struct {
	Title       *string        `json:"title,omitempty"`
	Description *string        `json:"description,omitempty"`
	Severity    *Severity      `json:"severity,omitempty"`
	Status      *Status        `json:"status,omitempty"`
	Fields      map[string]any `json:"fields,omitempty"`
}

// Empty reports whether the patch changes nothing.
func (p Patch) Empty() bool {
	return p.Title == nil && p.Description == nil && p.Severity == nil && p.Status == nil && len(p.Fields) == 0
}

// Change says who made a change, from which side and when. For changes
// mirrored from Jira, At is Jira's own time of the change, not the time it
// arrived, so that late deliveries compare correctly.
type Change struct {
	Actor  string
	Origin Origin
	At     time.Time
}

func (c Change) validate() error {
	if !c.Origin.Valid() {
		return Errorf(EInternal, "change has unknown origin %q", c.Origin)
	}
	if c.At.IsZero() {
		return Errorf(EInternal, "change has no time")
	}
	return nil
}

// Build validates n against the catalog and returns the new item with its
// history rows (one per attribute set). The parent, when given, must be the
// item named by n.ParentID; checking that it exists is the caller's job.
func (c Catalog) Build(targetID, id string, n NewItem, parent *Item, ch Change) (Item, []HistoryEntry, error) {
	if err := ch.validate(); err != nil {
		return Item{}, nil, err
	}
	at := Truncate(ch.At)
	p := Problems{}
	n.Title = strings.TrimSpace(n.Title)
	if n.Status == "" {
		n.Status = StatusOpen
	}
	kind, ok := c.Kinds[n.Kind]
	if !ok {
		p.Add("kind", "unknown kind %q (known: %s)", n.Kind, strings.Join(c.KindNames(), ", "))
	}
	checkTitle(p, n.Title)
	checkText(p, "description", n.Description, MaxTextLen, true, "")
	if !n.Severity.Valid() {
		p.Add("severity", "unknown severity %q (allowed: critical, high, medium, low, info)", n.Severity)
	}
	checkStatus(p, kind, ok, n.Status)
	switch {
	case n.Kind == KindFinding && n.ParentID == "":
		p.Add("parent_id", "a finding must name its vulnerability as parent_id")
	case n.Kind == KindFinding && parent == nil:
		p.Add("parent_id", "no item %q", n.ParentID)
	case n.Kind == KindFinding && parent.Kind != KindVulnerability:
		p.Add("parent_id", "item %s is a %s; a finding's parent must be a vulnerability", parent.ID, parent.Kind)
	case n.Kind == KindFinding && parent.TargetID != targetID:
		p.Add("parent_id", "item %s belongs to another target; a finding's parent must be in the same target", parent.ID)
	case n.Kind != KindFinding && n.ParentID != "":
		p.Add("parent_id", "only findings have a parent")
	}
	fields := c.normalizeFields(p, n.Fields, false)
	if err := p.Err(EInvalid, "invalid item"); err != nil {
		return Item{}, nil, err
	}
	it := Item{
		ID: id, TargetID: targetID, Kind: n.Kind, ParentID: n.ParentID, Title: n.Title,
		Description: n.Description, Severity: n.Severity, Status: n.Status, Fields: fields,
		CreatedAt: at, UpdatedAt: at, FieldTimes: map[string]time.Time{}, Version: 1,
	}
	var hist []HistoryEntry
	set := func(field string, v any) {
		it.FieldTimes[field] = at
		hist = append(hist, HistoryEntry{ItemID: id, Field: field, New: encode(v), Actor: ch.Actor, Origin: ch.Origin, At: at})
	}
	set("title", it.Title)
	if it.Description != "" {
		set("description", it.Description)
	}
	set("severity", it.Severity)
	set("status", it.Status)
	if it.ParentID != "" {
		set("parent_id", it.ParentID)
	}
	for _, k := range sortedKeys(fields) {
		set(k, fields[k])
	}
	return it, hist, nil
}

// Apply validates patch against the catalog and applies it to it in place,
// returning one history row per attribute whose value really changed. An
// attribute set to its current value records nothing and keeps its change
// time. When nothing changes, it is left untouched and no rows are returned.
func (c Catalog) Apply(it *Item, patch Patch, ch Change) ([]HistoryEntry, error) {
	if err := ch.validate(); err != nil {
		return nil, err
	}
	at := Truncate(ch.At)
	p := Problems{}
	kind, kindOK := c.Kinds[it.Kind]
	next := *it
	if patch.Title != nil {
		next.Title = strings.TrimSpace(*patch.Title)
		checkTitle(p, next.Title)
	}
	if patch.Description != nil {
		next.Description = *patch.Description
		checkText(p, "description", next.Description, MaxTextLen, true, "")
	}
	if patch.Severity != nil {
		next.Severity = *patch.Severity
		if !next.Severity.Valid() {
			p.Add("severity", "unknown severity %q (allowed: critical, high, medium, low, info)", next.Severity)
		}
	}
	if patch.Status != nil {
		next.Status = *patch.Status
		checkStatus(p, kind, kindOK, next.Status)
	}
	fields := c.normalizeFields(p, patch.Fields, true)
	if err := p.Err(EInvalid, "invalid change"); err != nil {
		return nil, err
	}
	var hist []HistoryEntry
	record := func(field string, old, new any) {
		o, n := encode(old), encode(new)
		if o == n {
			return
		}
		hist = append(hist, HistoryEntry{ItemID: it.ID, Field: field, Old: o, New: n, Actor: ch.Actor, Origin: ch.Origin, At: at})
	}
	record("title", it.Title, next.Title)
	record("description", it.Description, next.Description)
	record("severity", it.Severity, next.Severity)
	record("status", it.Status, next.Status)
	next.Fields = make(map[string]any, len(it.Fields)+len(fields))
	for k, v := range it.Fields {
		next.Fields[k] = v
	}
	for _, k := range sortedKeys(fields) {
		old, had := it.Fields[k]
		v := fields[k]
		if v == nil {
			delete(next.Fields, k)
			if had {
				record(k, old, nil)
			}
			continue
		}
		next.Fields[k] = v
		if had {
			record(k, old, v)
		} else {
			record(k, nil, v)
		}
	}
	if len(hist) == 0 {
		return nil, nil
	}
	next.FieldTimes = make(map[string]time.Time, len(it.FieldTimes)+len(hist))
	for k, v := range it.FieldTimes {
		next.FieldTimes[k] = v
	}
	for _, h := range hist {
		next.FieldTimes[h.Field] = at
	}
	next.UpdatedAt = at
	next.Version = it.Version + 1
	*it = next
	return hist, nil
}

func checkTitle(p Problems, title string) {
	switch {
	case title == "":
		p.Add("title", "must not be empty")
	case strings.ContainsAny(title, "\r\n"):
		p.Add("title", "must be a single line")
	default:
		checkText(p, "title", title, MaxTitleLen, false, " (Jira's summary limit)")
	}
}

func checkStatus(p Problems, kind KindDef, kindOK bool, s Status) {
	switch {
	case !s.Valid():
		p.Add("status", "unknown status %q (allowed: %s)", s, joinStatuses(Statuses))
	case kindOK && !kind.Allows(s):
		p.Add("status", "kind %s does not allow status %q (allowed: %s)", kind.Name, s, joinStatuses(kind.Statuses))
	}
}

// normalizeFields validates typed field values; with allowNull a nil value
// (JSON null) is kept as a removal.
func (c Catalog) normalizeFields(p Problems, in map[string]any, allowNull bool) map[string]any {
	out := make(map[string]any, len(in))
	for name, v := range in {
		key := "fields." + name
		d, ok := c.Fields[name]
		if !ok {
			p.Add(key, "unknown field %q", name)
			continue
		}
		if v == nil {
			if allowNull {
				out[name] = nil
			}
			continue
		}
		nv, err := normalizeField(d, v)
		if err != nil {
			p.Add(key, "%s", err.Error())
			continue
		}
		out[name] = nv
	}
	return out
}

// encode renders a value canonically for history rows and comparisons.
func encode(v any) string {
	if v == nil {
		return ""
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.Len() == 0 {
		return "[]"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// Equal reports whether two field values are the same once canonicalised.
func Equal(a, b any) bool { return encode(a) == encode(b) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
