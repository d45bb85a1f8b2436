package jira

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vulnsync/vulnsync/internal/richtext"
)

// Markdown marks a value as rich text written in Markdown. Wherever the
// client accepts field values (CreateIssue.Fields, EditIssue, DoTransition)
// a Markdown value is converted to the deployment's format: ADF on Cloud,
// wiki markup on Data Center. Plain strings are sent as they are.
type Markdown string

// toRich converts Markdown for the deployment.
func toRich(d Deployment, md string) any {
	if d == Cloud {
		return richtext.ToADF(md)
	}
	return richtext.ToWiki(md)
}

// fromRich converts a rich-text value as Jira sent it (an ADF document on
// Cloud v3, a wiki string on Data Center and in webhooks, or null) to
// Markdown.
func fromRich(raw json.RawMessage) (string, error) {
	return RichText(raw)
}

// RichText converts a rich-text field value as Jira returns it to
// Markdown: a wiki-markup string (REST v2, Data Center, and every webhook
// payload, even on Cloud) or an ADF document (REST v3). Textarea custom
// fields come in both forms, like the description.
func RichText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("decode wiki text: %w", err)
		}
		return richtext.FromWiki(s), nil
	case '{':
		var doc richtext.Node
		if err := json.Unmarshal(raw, &doc); err != nil {
			return "", fmt.Errorf("decode ADF: %w", err)
		}
		return richtext.FromADF(&doc), nil
	}
	return "", fmt.Errorf("rich text is neither a string nor an ADF document: %.40s", raw)
}

// convertValues returns vals with Markdown values converted for d (top
// level, and inside slices and maps).
func convertValues(d Deployment, vals map[string]any) map[string]any {
	if vals == nil {
		return nil
	}
	out := make(map[string]any, len(vals))
	for k, v := range vals {
		out[k] = convertValue(d, v)
	}
	return out
}

func convertValue(d Deployment, v any) any {
	switch x := v.(type) {
	case Markdown:
		return toRich(d, string(x))
	case map[string]any:
		return convertValues(d, x)
	case Op:
		return Op(convertValues(d, x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = convertValue(d, e)
		}
		return out
	}
	return v
}

// Op is one operation of an issue edit's "update" section, e.g.
// Op{"add": "pci"} on labels or Op{"set": Markdown("...")}.
type Op map[string]any

// ServerInfo is GET serverInfo: which Jira this is.
type ServerInfo struct {
	BaseURL        string `json:"baseUrl"`
	Version        string `json:"version"`
	VersionNumbers []int  `json:"versionNumbers"`
	DeploymentType string `json:"deploymentType"`
	BuildNumber    int    `json:"buildNumber"`
	ServerTitle    string `json:"serverTitle"`
	ServerTime     time.Time
}

// UnmarshalJSON parses Jira's timestamp format for serverTime.
func (s *ServerInfo) UnmarshalJSON(b []byte) error {
	type plain ServerInfo
	var v struct {
		plain
		ServerTime jiraTime `json:"serverTime"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = ServerInfo(v.plain)
	s.ServerTime = v.ServerTime.Time
	return nil
}

// User is a Jira user: Cloud identifies users by AccountID, Data Center by
// Name/Key.
type User struct {
	AccountID    string `json:"accountId,omitempty"`
	Name         string `json:"name,omitempty"`
	Key          string `json:"key,omitempty"`
	DisplayName  string `json:"displayName,omitempty"`
	EmailAddress string `json:"emailAddress,omitempty"`
	Active       bool   `json:"active"`
	// TimeZone is the user's profile time zone: Jira reads the dates in
	// that user's JQL in it.
	TimeZone string `json:"timeZone,omitempty"`
}

// IssueType is an issue type as projects and createmeta list them.
type IssueType struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Subtask     bool   `json:"subtask"`
}

// Project is a Jira project with the issue types it offers.
type Project struct {
	ID         string      `json:"id"`
	Key        string      `json:"key"`
	Name       string      `json:"name"`
	Self       string      `json:"self,omitempty"`
	IssueTypes []IssueType `json:"issueTypes,omitempty"`
}

// FieldSchema is Jira's description of a field's value type.
type FieldSchema struct {
	Type     string `json:"type"`
	Items    string `json:"items,omitempty"`
	System   string `json:"system,omitempty"`
	Custom   string `json:"custom,omitempty"`
	CustomID int64  `json:"customId,omitempty"`
}

// Field is one of the site's fields (GET field), used to resolve custom
// field ids and names.
type Field struct {
	ID     string       `json:"id"`
	Key    string       `json:"key,omitempty"`
	Name   string       `json:"name"`
	Custom bool         `json:"custom"`
	Schema *FieldSchema `json:"schema,omitempty"`
}

// AllowedValue is one option of a select-like field (options, priorities,
// components, versions...). Raw keeps the whole object.
type AllowedValue struct {
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Value string          `json:"value,omitempty"`
	Raw   json.RawMessage `json:"-"`
}

// UnmarshalJSON keeps the raw object alongside the common keys.
func (a *AllowedValue) UnmarshalJSON(b []byte) error {
	type plain AllowedValue
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*a = AllowedValue(p)
	a.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// CreateMetaField is what createmeta says about a field on the create
// screen of one issue type: the mapping is validated against it.
type CreateMetaField struct {
	FieldID         string          `json:"fieldId"`
	Key             string          `json:"key"`
	Name            string          `json:"name"`
	Required        bool            `json:"required"`
	Schema          *FieldSchema    `json:"schema,omitempty"`
	Operations      []string        `json:"operations,omitempty"`
	AllowedValues   []AllowedValue  `json:"allowedValues,omitempty"`
	HasDefaultValue bool            `json:"hasDefaultValue"`
	DefaultValue    json.RawMessage `json:"defaultValue,omitempty"`
}

// Priority is an issue priority. IsDefault is set by Cloud's
// priority/search (the project's default priority).
type Priority struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	IsDefault bool   `json:"isDefault,omitempty"`
}

// StatusCategory is the stable meaning of a status across workflows: key
// "new", "indeterminate" or "done".
type StatusCategory struct {
	ID   int    `json:"id"`
	Key  string `json:"key"`
	Name string `json:"name"`
}

// Status is a workflow status with its category.
type Status struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Category StatusCategory `json:"statusCategory"`
}

// IssueTypeStatuses lists the statuses one issue type's workflow uses in a
// project (GET project/{key}/statuses).
type IssueTypeStatuses struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Subtask  bool     `json:"subtask"`
	Statuses []Status `json:"statuses"`
}

// Resolution is an issue's resolution.
type Resolution struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// IssueRef points at another issue (a parent).
type IssueRef struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// Attachment is a file on an issue. Content is the URL to download it.
type Attachment struct {
	ID       string
	Filename string
	MimeType string
	Size     int64
	Content  string
	Created  time.Time
	Author   User
}

// UnmarshalJSON accepts created as a Jira timestamp or epoch milliseconds.
func (a *Attachment) UnmarshalJSON(b []byte) error {
	var v struct {
		ID       json.Number `json:"id"`
		Filename string      `json:"filename"`
		MimeType string      `json:"mimeType"`
		Size     int64       `json:"size"`
		Content  string      `json:"content"`
		Created  jiraTime    `json:"created"`
		Author   User        `json:"author"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*a = Attachment{ID: v.ID.String(), Filename: v.Filename, MimeType: v.MimeType, Size: v.Size,
		Content: v.Content, Created: v.Created.Time, Author: v.Author}
	return nil
}

// Comment is an issue comment with its body as Markdown and its entity
// properties (where vulnsync marks the comments it wrote).
type Comment struct {
	ID           string
	Self         string
	Author       User
	UpdateAuthor User
	Body         string // Markdown
	Created      time.Time
	Updated      time.Time
	Properties   map[string]json.RawMessage
	// Visibility is set when the comment is restricted to a role or
	// group; nil means everyone who sees the issue sees it.
	Visibility *Visibility
}

// Visibility is a comment's restriction: Type "role" or "group", Value the
// role's or group's name.
type Visibility struct {
	Type  string `json:"type"`
	Value string `json:"value"`
	// Identifier is the group id (Cloud), which Value may be empty
	// without.
	Identifier string `json:"identifier,omitempty"`
}

type rawComment struct {
	ID           string          `json:"id"`
	Self         string          `json:"self"`
	Author       User            `json:"author"`
	UpdateAuthor User            `json:"updateAuthor"`
	Body         json.RawMessage `json:"body"`
	Created      jiraTime        `json:"created"`
	Updated      jiraTime        `json:"updated"`
	Properties   []struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	} `json:"properties"`
	Visibility *Visibility `json:"visibility"`
}

func (r rawComment) comment() (Comment, error) {
	body, err := fromRich(r.Body)
	if err != nil {
		return Comment{}, fmt.Errorf("comment %s body: %w", r.ID, err)
	}
	c := Comment{ID: r.ID, Self: r.Self, Author: r.Author, UpdateAuthor: r.UpdateAuthor, Body: body,
		Created: r.Created.Time, Updated: r.Updated.Time}
	if v := r.Visibility; v != nil && v.Type != "" {
		if v.Value == "" {
			v.Value = v.Identifier
		}
		c.Visibility = v
	}
	if len(r.Properties) > 0 {
		c.Properties = make(map[string]json.RawMessage, len(r.Properties))
		for _, p := range r.Properties {
			c.Properties[p.Key] = p.Value
		}
	}
	return c, nil
}

// ChangeItem is one field change in a changelog entry. Field is the
// display name for custom fields; FieldID is the id, which Data Center's
// custom-field items may lack (then FieldType is "custom" and only Field
// names the field, so callers resolve it by name).
type ChangeItem struct {
	Field      string `json:"field"`
	FieldID    string `json:"fieldId,omitempty"`
	FieldType  string `json:"fieldtype"`
	From       string `json:"from"`
	FromString string `json:"fromString"`
	To         string `json:"to"`
	ToString   string `json:"toString"`
}

// ChangelogEntry is one change of an issue: who, when, which fields. The
// sync compares Created with vulnsync's own change times (G3).
type ChangelogEntry struct {
	ID      string
	Author  User
	Created time.Time
	Items   []ChangeItem
}

// Issue is a Jira issue with the fields the sync uses typed (rich text as
// Markdown, timestamps parsed) and every field kept raw in Fields.
type Issue struct {
	ID          string
	Key         string
	Self        string
	Summary     string
	Description string // Markdown
	Status      Status
	Priority    *Priority
	Labels      []string
	IssueType   IssueType
	Parent      *IssueRef
	Resolution  *Resolution
	Created     time.Time
	Updated     time.Time
	Attachments []Attachment
	Comments    []Comment
	// Fields holds every field as Jira sent it, custom fields included.
	Fields map[string]json.RawMessage
	// Properties holds the entity properties asked for.
	Properties map[string]json.RawMessage
	Changelog  []ChangelogEntry
}

type rawIssue struct {
	ID         string                     `json:"id"`
	Key        string                     `json:"key"`
	Self       string                     `json:"self"`
	Fields     map[string]json.RawMessage `json:"fields"`
	Properties map[string]json.RawMessage `json:"properties"`
	Changelog  *struct {
		Histories []rawHistory `json:"histories"`
	} `json:"changelog"`
}

// decodeField decodes Fields[name] into v when present and not null.
func decodeField(fields map[string]json.RawMessage, name string, v any) error {
	raw, ok := fields[name]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("field %s: %w", name, err)
	}
	return nil
}

func (r *rawIssue) issue() (*Issue, error) {
	is := &Issue{ID: r.ID, Key: r.Key, Self: r.Self, Fields: r.Fields, Properties: r.Properties}
	f := r.Fields
	var (
		created, updated jiraTime
		priority         Priority
		parent           IssueRef
		resolution       Resolution
		comments         struct {
			Comments []rawComment `json:"comments"`
		}
	)
	for _, d := range []struct {
		name string
		v    any
	}{
		{"summary", &is.Summary},
		{"status", &is.Status},
		{"labels", &is.Labels},
		{"issuetype", &is.IssueType},
		{"created", &created},
		{"updated", &updated},
		{"attachment", &is.Attachments},
		{"comment", &comments},
	} {
		if err := decodeField(f, d.name, d.v); err != nil {
			return nil, fmt.Errorf("decode issue %s: %w", r.Key, err)
		}
	}
	for _, d := range []struct {
		name string
		v    any
		set  func()
	}{
		{"priority", &priority, func() { is.Priority = &priority }},
		{"parent", &parent, func() { is.Parent = &parent }},
		{"resolution", &resolution, func() { is.Resolution = &resolution }},
	} {
		raw, ok := f[d.name]
		if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			continue
		}
		if err := json.Unmarshal(raw, d.v); err != nil {
			return nil, fmt.Errorf("decode issue %s: field %s: %w", r.Key, d.name, err)
		}
		d.set()
	}
	is.Created, is.Updated = created.Time, updated.Time
	desc, err := fromRich(f["description"])
	if err != nil {
		return nil, fmt.Errorf("decode issue %s: description: %w", r.Key, err)
	}
	is.Description = desc
	for _, rc := range comments.Comments {
		c, err := rc.comment()
		if err != nil {
			return nil, fmt.Errorf("decode issue %s: %w", r.Key, err)
		}
		is.Comments = append(is.Comments, c)
	}
	if r.Changelog != nil {
		for _, h := range r.Changelog.Histories {
			is.Changelog = append(is.Changelog, h.entry())
		}
		sortChangelog(is.Changelog)
	}
	return is, nil
}

// UnmarshalJSON decodes an issue as Jira sends it (GET issue, search,
// bulk fetch, webhook payloads).
func (is *Issue) UnmarshalJSON(b []byte) error {
	var r rawIssue
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	d, err := r.issue()
	if err != nil {
		return err
	}
	*is = *d
	return nil
}

// DecodeIssue decodes an issue object as Jira sends it (in REST answers
// and in webhook deliveries) into an Issue.
func DecodeIssue(raw []byte) (*Issue, error) {
	var r rawIssue
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decode issue: %w", err)
	}
	return r.issue()
}

// DecodeComment decodes a comment object as Jira sends it.
func DecodeComment(raw []byte) (Comment, error) {
	var r rawComment
	if err := json.Unmarshal(raw, &r); err != nil {
		return Comment{}, fmt.Errorf("decode comment: %w", err)
	}
	return r.comment()
}
