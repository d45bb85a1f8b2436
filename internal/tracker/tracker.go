// Package tracker holds vulnsync's domain: targets, items (vulnerabilities,
// findings, risks and custom kinds), comments, attachments and history, with
// the validation rules of PRODUCT.md §1.
//
// It sits at the centre of the module and imports nothing internal, so the
// store, the HTTP API and the Jira sync can all depend on it without depending
// on each other. The two-way sync decides "newest change wins" from the
// per-field change times kept here, which is why every mutation of an item
// goes through Apply and produces exact history rows.
package tracker

import (
	"strings"
	"time"
)

// Origin says which side made a change. The sync uses it to recognise its own
// writes and never echo them back (guarantee G4).
type Origin string

// The two origins of a change.
const (
	OriginVulnsync Origin = "vulnsync"
	OriginJira     Origin = "jira"
)

// Valid reports whether o is one of the known origins.
func (o Origin) Valid() bool { return o == OriginVulnsync || o == OriginJira }

// Target is the thing under test: an app, an API, a host. Items belong to
// exactly one target, and a target maps to at most one Jira project.
type Target struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	URL         string    `json:"url"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Author names the person behind a comment. Jira authors carry an AccountID
// (Cloud) or a Jira username in Name (Data Center); local ones an email.
type Author struct {
	Name      string `json:"name"`
	Email     string `json:"email,omitempty"`
	AccountID string `json:"account_id,omitempty"`
}

// Comment is a Markdown note on an item, local or mirrored from Jira.
type Comment struct {
	ID        string    `json:"id"`
	ItemID    string    `json:"item_id"`
	Author    Author    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Origin    Origin    `json:"origin"`
	// Internal marks a note for vulnsync's users only: it never goes to
	// Jira, whatever the comment policy.
	Internal bool `json:"internal"`
	// Restricted is true for a Jira comment whose visibility is limited
	// to a role or group (Visibility says which): it must never be shown
	// as public. Set from Visibility when the comment is read.
	Restricted bool        `json:"restricted"`
	Visibility *Visibility `json:"visibility,omitempty"`
}

// Visibility is the role or group a Jira comment is restricted to.
type Visibility struct {
	Type  string `json:"type"` // "role" or "group"
	Value string `json:"value"`
}

// Attachment is a file on an item. The bytes are stored separately from the
// metadata so that listing attachments never loads their content.
type Attachment struct {
	ID          string    `json:"id"`
	ItemID      string    `json:"item_id"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Origin      Origin    `json:"origin"`
	CreatedAt   time.Time `json:"created_at"`
}

// HistoryEntry is one recorded change of one field of one item. Old and New
// hold the JSON encoding of the values ("" for absent).
type HistoryEntry struct {
	ID     int64     `json:"id"`
	ItemID string    `json:"item_id"`
	Field  string    `json:"field"`
	Old    string    `json:"old"`
	New    string    `json:"new"`
	Actor  string    `json:"actor"`
	Origin Origin    `json:"origin"`
	At     time.Time `json:"at"`
}

// Truncate brings t to the precision every store keeps (microseconds, UTC),
// so a time read back compares equal to the time written. Newest-change-wins
// depends on that equality.
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// ValidateTarget trims and checks a target before it is stored.
func ValidateTarget(t *Target) error {
	p := Problems{}
	t.Name = strings.TrimSpace(t.Name)
	t.URL = strings.TrimSpace(t.URL)
	switch {
	case t.Name == "":
		p.Add("name", "must not be empty")
	default:
		checkText(p, "name", t.Name, 200, false, "")
	}
	checkText(p, "description", t.Description, MaxTextLen, true, "")
	if t.URL != "" && !isHTTPURL(t.URL) {
		p.Add("url", "must be an absolute http or https URL")
	}
	return p.Err(EInvalid, "invalid target")
}

// ValidateCommentBody checks a comment body (Markdown).
func ValidateCommentBody(body string) error {
	p := Problems{}
	switch {
	case strings.TrimSpace(body) == "":
		p.Add("body", "must not be empty")
	default:
		checkText(p, "body", body, MaxTextLen, true, " (Jira's comment limit)")
	}
	return p.Err(EInvalid, "invalid comment")
}
