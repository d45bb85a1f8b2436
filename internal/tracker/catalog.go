package tracker

import (
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"
)

// Severity ranks an item. It maps to a Jira priority through the mapping.
type Severity string

// The severities of PRODUCT.md §1, most severe first.
const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	SeverityInfo     Severity = "info"
)

// Severities lists every severity, most severe first.
var Severities = []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo}

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool {
	for _, v := range Severities {
		if s == v {
			return true
		}
	}
	return false
}

// Status is where an item stands. It maps to a Jira status through the mapping.
type Status string

// The statuses of PRODUCT.md §1.
const (
	StatusOpen          Status = "open"
	StatusInProgress    Status = "in_progress"
	StatusResolved      Status = "resolved"
	StatusAcceptedRisk  Status = "accepted_risk"
	StatusFalsePositive Status = "false_positive"
	// StatusFixed is an engineer's claim that the item is fixed (Done in
	// Jira), awaiting the retest that resolves or reopens it: a fix is
	// only a verdict once someone checked it.
	StatusFixed Status = "fixed"
)

// Statuses lists every status.
var Statuses = []Status{StatusOpen, StatusInProgress, StatusResolved, StatusAcceptedRisk, StatusFalsePositive, StatusFixed}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// The built-in kinds. A finding always has a vulnerability of the same target
// as its parent; it becomes a Jira sub-task of that vulnerability's issue.
const (
	KindVulnerability = "vulnerability"
	KindFinding       = "finding"
	KindRisk          = "risk"
)

// KindDef describes a kind of item: its name and the statuses it may take.
// Custom kinds are registered through the API; the built-in ones allow all.
type KindDef struct {
	Name     string    `json:"name"`
	Statuses []Status  `json:"statuses"`
	BuiltIn  bool      `json:"built_in"`
	Created  time.Time `json:"created_at"`
}

// Allows reports whether the kind admits status s.
func (k KindDef) Allows(s Status) bool {
	for _, v := range k.Statuses {
		if v == s {
			return true
		}
	}
	return false
}

// FieldType is the type of a typed field's value.
type FieldType string

// Field types. The first six are the ones admins may choose for custom
// fields; the rest serve built-in fields with stricter shapes.
const (
	TypeText        FieldType = "text"
	TypeNumber      FieldType = "number"
	TypeURL         FieldType = "url"
	TypeSelect      FieldType = "select"
	TypeMultiSelect FieldType = "multiselect"
	TypeDate        FieldType = "date"
	TypeEmail       FieldType = "email"    // assignee_email
	TypeURLList     FieldType = "url_list" // references
	TypeLabels      FieldType = "labels"   // labels: Jira labels hold no whitespace
	TypeLocation    FieldType = "location" // a URL or a path
)

// CustomFieldTypes are the types an admin may give a custom field.
var CustomFieldTypes = []FieldType{TypeText, TypeNumber, TypeURL, TypeSelect, TypeMultiSelect, TypeDate}

// FieldDef describes one typed field of items.
type FieldDef struct {
	Name    string    `json:"name"`
	Type    FieldType `json:"type"`
	Options []string  `json:"options,omitempty"` // select and multiselect
	Min     *float64  `json:"min,omitempty"`     // number
	Max     *float64  `json:"max,omitempty"`     // number
	BuiltIn bool      `json:"built_in"`
	Created time.Time `json:"created_at"`
}

// Limits shared with Jira, so that anything vulnsync accepts can be synced:
// Jira refuses summaries over 255 characters and text fields over 32,767.
const (
	MaxTitleLen = 255
	MaxTextLen  = 32767
	maxListLen  = 100
	maxNameLen  = 100
)

// reservedNames are item attributes that custom fields and kinds may not shadow.
var reservedNames = map[string]bool{
	"id": true, "target_id": true, "kind": true, "parent_id": true, "title": true,
	"description": true, "severity": true, "status": true, "fields": true,
	"created_at": true, "updated_at": true, "jira": true, "version": true,
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

func f64(v float64) *float64 { return &v }

// BuiltInFields are the typed fields every installation has (PRODUCT.md §1).
func BuiltInFields() []FieldDef {
	return []FieldDef{
		{Name: "cvss_score", Type: TypeNumber, Min: f64(0), Max: f64(10), BuiltIn: true},
		{Name: "cvss_vector", Type: TypeText, BuiltIn: true},
		{Name: "cwe", Type: TypeText, BuiltIn: true},
		{Name: "asset_id", Type: TypeText, BuiltIn: true},
		{Name: "location", Type: TypeLocation, BuiltIn: true},
		{Name: "references", Type: TypeURLList, BuiltIn: true},
		{Name: "remediation", Type: TypeText, BuiltIn: true},
		{Name: "labels", Type: TypeLabels, BuiltIn: true},
		{Name: "assignee_email", Type: TypeEmail, BuiltIn: true},
		{Name: "due_date", Type: TypeDate, BuiltIn: true},
	}
}

// BuiltInKinds are the kinds every installation has; they allow every status.
func BuiltInKinds() []KindDef {
	all := append([]Status(nil), Statuses...)
	return []KindDef{
		{Name: KindVulnerability, Statuses: all, BuiltIn: true},
		{Name: KindFinding, Statuses: all, BuiltIn: true},
		{Name: KindRisk, Statuses: all, BuiltIn: true},
	}
}

// Catalog is the set of kinds and typed fields items are validated against:
// the built-in ones plus those an admin registered.
type Catalog struct {
	Kinds  map[string]KindDef
	Fields map[string]FieldDef
}

// NewCatalog returns the built-in catalog extended with custom definitions.
func NewCatalog(kinds []KindDef, fields []FieldDef) Catalog {
	c := Catalog{Kinds: map[string]KindDef{}, Fields: map[string]FieldDef{}}
	for _, k := range BuiltInKinds() {
		c.Kinds[k.Name] = k
	}
	for _, f := range BuiltInFields() {
		c.Fields[f.Name] = f
	}
	for _, k := range kinds {
		c.Kinds[k.Name] = k
	}
	for _, f := range fields {
		c.Fields[f.Name] = f
	}
	return c
}

// ValidateKindDef checks a custom kind before it is registered in c.
func (c Catalog) ValidateKindDef(k *KindDef) error {
	p := Problems{}
	k.Name = strings.TrimSpace(k.Name)
	switch {
	case !nameRE.MatchString(k.Name):
		p.Add("name", "must be lower-case letters, digits and underscores, starting with a letter")
	case reservedNames[k.Name]:
		p.Add("name", "%q is reserved", k.Name)
	case c.Kinds[k.Name].Name != "":
		return Errorf(EConflict, "kind %q already exists", k.Name)
	}
	if len(k.Statuses) == 0 {
		p.Add("statuses", "must list at least one status")
	}
	seen := map[Status]bool{}
	for _, s := range k.Statuses {
		if !s.Valid() {
			p.Add("statuses", "unknown status %q (allowed: %s)", s, joinStatuses(Statuses))
		}
		if seen[s] {
			p.Add("statuses", "status %q listed twice", s)
		}
		seen[s] = true
	}
	k.BuiltIn = false
	return p.Err(EInvalid, "invalid kind")
}

// ValidateFieldDef checks a custom field before it is registered in c.
func (c Catalog) ValidateFieldDef(f *FieldDef) error {
	p := Problems{}
	f.Name = strings.TrimSpace(f.Name)
	switch {
	case !nameRE.MatchString(f.Name):
		p.Add("name", "must be lower-case letters, digits and underscores, starting with a letter")
	case reservedNames[f.Name]:
		p.Add("name", "%q is reserved", f.Name)
	case c.Fields[f.Name].Name != "":
		return Errorf(EConflict, "field %q already exists", f.Name)
	}
	okType := false
	for _, t := range CustomFieldTypes {
		okType = okType || f.Type == t
	}
	if !okType {
		p.Add("type", "unknown type %q (allowed: text, number, url, select, multiselect, date)", f.Type)
	}
	if f.Type == TypeSelect || f.Type == TypeMultiSelect {
		if len(f.Options) == 0 {
			p.Add("options", "a %s field needs at least one option", f.Type)
		}
		seen := map[string]bool{}
		for _, o := range f.Options {
			if strings.TrimSpace(o) == "" || TextLen(o) > 255 {
				p.Add("options", "options must be 1 to 255 characters")
			}
			if seen[o] {
				p.Add("options", "option %q listed twice", o)
			}
			seen[o] = true
		}
	} else if len(f.Options) > 0 {
		p.Add("options", "only select and multiselect fields take options")
	}
	if f.Type != TypeNumber && (f.Min != nil || f.Max != nil) {
		p.Add("min", "only number fields take min and max")
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		p.Add("min", "min is greater than max")
	}
	f.BuiltIn = false
	return p.Err(EInvalid, "invalid field")
}

var (
	labelOK = func(s string) bool {
		if s == "" || TextLen(s) > 255 {
			return false
		}
		for _, r := range s {
			if unicode.IsSpace(r) || unicode.IsControl(r) {
				return false
			}
		}
		return true
	}
)

// normalizeField validates v (as decoded from JSON) against d and returns the
// canonical value to store: float64, string or []string.
func normalizeField(d FieldDef, v any) (any, error) {
	str := func() (string, error) {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("must be a string")
		}
		if n := TextLen(s); n > MaxTextLen {
			return "", fmt.Errorf("must be at most %d characters; it has %d", MaxTextLen, n)
		}
		if r, bad := BadControl(s, true); bad {
			return "", fmt.Errorf("must not contain the control character %s", controlName(r))
		}
		return s, nil
	}
	strs := func() ([]string, error) {
		raw, ok := v.([]any)
		if !ok {
			if ss, ok2 := v.([]string); ok2 {
				raw = make([]any, len(ss))
				for i, s := range ss {
					raw[i] = s
				}
			} else {
				return nil, fmt.Errorf("must be a list of strings")
			}
		}
		if len(raw) > maxListLen {
			return nil, fmt.Errorf("must have at most %d entries", maxListLen)
		}
		out := make([]string, 0, len(raw))
		seen := map[string]bool{}
		for _, e := range raw {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("must be a list of strings")
			}
			if !seen[s] {
				out = append(out, s)
				seen[s] = true
			}
		}
		return out, nil
	}
	switch d.Type {
	case TypeNumber:
		n, ok := v.(float64)
		if !ok {
			if i, isInt := v.(int); isInt {
				n, ok = float64(i), true
			}
		}
		if !ok || math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, fmt.Errorf("must be a number")
		}
		if d.Min != nil && n < *d.Min || d.Max != nil && n > *d.Max {
			return nil, fmt.Errorf("must be between %g and %g", deref(d.Min, math.Inf(-1)), deref(d.Max, math.Inf(1)))
		}
		return n, nil
	case TypeText:
		return str()
	case TypeURL:
		s, err := str()
		if err != nil {
			return nil, err
		}
		if !isHTTPURL(s) {
			return nil, fmt.Errorf("must be an absolute http or https URL")
		}
		return s, nil
	case TypeLocation:
		s, err := str()
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("must be a URL or a path")
		}
		return s, nil
	case TypeEmail:
		s, err := str()
		if err != nil {
			return nil, err
		}
		if a, perr := mail.ParseAddress(s); perr != nil || a.Address != s {
			return nil, fmt.Errorf("must be an email address")
		}
		return s, nil
	case TypeDate:
		s, err := str()
		if err != nil {
			return nil, err
		}
		if _, perr := time.Parse(time.DateOnly, s); perr != nil {
			return nil, fmt.Errorf("must be a date as YYYY-MM-DD")
		}
		return s, nil
	case TypeSelect:
		s, err := str()
		if err != nil {
			return nil, err
		}
		if !contains(d.Options, s) {
			return nil, fmt.Errorf("must be one of %s", strings.Join(d.Options, ", "))
		}
		return s, nil
	case TypeMultiSelect:
		ss, err := strs()
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			if !contains(d.Options, s) {
				return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(d.Options, ", "))
			}
		}
		return ss, nil
	case TypeURLList:
		ss, err := strs()
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			if !isHTTPURL(s) {
				return nil, fmt.Errorf("%q is not an absolute http or https URL", s)
			}
		}
		return ss, nil
	case TypeLabels:
		ss, err := strs()
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			if !labelOK(s) {
				return nil, fmt.Errorf("label %q must be 1 to 255 characters without spaces", s)
			}
		}
		return ss, nil
	}
	return nil, fmt.Errorf("field type %q is not supported", d.Type)
}

func deref(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func joinStatuses(ss []Status) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, ", ")
}

// KindNames lists the catalog's kinds, sorted, for error messages.
func (c Catalog) KindNames() []string {
	out := make([]string, 0, len(c.Kinds))
	for k := range c.Kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
