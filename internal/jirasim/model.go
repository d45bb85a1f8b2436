package jirasim

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/vulnsync/vulnsync/internal/richtext"
)

// richText is a rich-text value (description, environment, comment body)
// stored once, in the format it was written in, and rendered per API
// version: ADF for Cloud v3, wiki markup for v2 and webhooks. A value read
// back in the format it was written in is returned unchanged, as Jira does;
// the other format is converted through Markdown with internal/richtext.
// Both renderings are computed on write, under the write lock, so that
// concurrent readers never race on a cache.
type richText struct {
	adf  *richtext.Node
	wiki string
}

// richFromADF stores a value written as ADF (REST v3).
func richFromADF(doc *richtext.Node) *richText {
	if doc == nil || len(doc.Content) == 0 {
		return nil
	}
	return &richText{adf: doc, wiki: richtext.ToWiki(richtext.FromADF(doc))}
}

// richFromWiki stores a value written as wiki markup (REST v2, Data Center).
func richFromWiki(wiki string) *richText {
	if wiki == "" {
		return nil
	}
	return &richText{adf: richtext.ToADF(richtext.FromWiki(wiki)), wiki: wiki}
}

// Wiki returns the value as wiki markup.
func (r *richText) Wiki() string {
	if r == nil {
		return ""
	}
	return r.wiki
}

// issue is one Jira issue. All fields are guarded by Simulator.mu.
type issue struct {
	ID             int64
	Key            string
	OldKeys        []string // keys before moves, which still resolve
	Project        *project
	Type           *issueType
	Summary        string
	Description    *richText
	Environment    *richText
	Priority       *priority
	Security       *securityLevel // nil: visible to all who may browse the project
	Labels         []string       // sorted, unique
	Parent         *issue
	Subtasks       []*issue
	Assignee       *user
	Reporter       *user
	Creator        *user
	DueDate        string // yyyy-MM-dd or ""
	Status         *status
	Resolution     *resolution
	ResolutionDate time.Time
	Created        time.Time
	Updated        time.Time
	StatusChanged  time.Time // statuscategorychangedate
	Custom         map[string]any
	Attachments    []*attachment
	Comments       []*comment
	History        []*history
	Props          map[string]json.RawMessage
	deleted        bool
	// Links are the issue's issue links, from its side (links.go).
	Links []issueLinkEnd
}

// comment is a comment on an issue.
type comment struct {
	ID           int64
	IssueID      int64
	Author       *user
	UpdateAuthor *user
	Body         *richText
	Created      time.Time
	Updated      time.Time
	Props        map[string]json.RawMessage
	// Visibility restricts who sees the comment (nil: everyone who sees
	// the issue).
	Visibility *visibility
}

// visibility is a comment's restriction to a project role or a group.
type visibility struct {
	Type  string // "role" or "group"
	Value string
}

// attachment is a file attached to an issue.
type attachment struct {
	ID       int64
	IssueID  int64
	Filename string
	MimeType string
	Size     int64
	Author   *user
	Created  time.Time
	Data     []byte
}

// history is one changelog entry: who changed what, when.
type history struct {
	ID      int64
	Author  *user
	Created time.Time
	Items   []changeItem
}

// changeItem is one field change in a changelog entry. Nil pointers are
// JSON nulls.
type changeItem struct {
	Field      string
	FieldType  string // "jira" or "custom"
	FieldID    string
	From       *string
	FromString *string
	To         *string
	ToString   *string
}

func strp(s string) *string { return &s }

// optStr is nil for "" and a pointer otherwise.
func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// jiraTime formats t the way Jira does: 2019-01-07T16:55:51.184+0000.
func jiraTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000-0700")
}
