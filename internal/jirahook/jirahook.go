// Package jirahook reads Jira webhook deliveries: it verifies their
// signature over the raw body before anything is parsed (G10), and parses
// the Cloud, Data Center and old Server payload variants into one Event.
//
// What the payloads look like is taken from deliveries recorded from real
// Jira sites (../shared/jira/recorded): Data Center comment events carry no
// issue (its id is in comment.self), old Server versions send no
// issue_event_type_name, and a new comment arrives both as comment_created
// and as jira:issue_updated with issue_event_type_name issue_commented.
package jirahook

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/jira"
)

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("the delivery has no X-Hub-Signature")
	ErrBadSignature = errors.New("the delivery's signature does not match")
)

// Sign computes the X-Hub-Signature value of body: "sha256=<hex>".
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks an X-Hub-Signature header ("method=hex") against the HMAC
// of the raw body under secret, in constant time. The method comes first
// and is parsed; sha256 is what Jira sends, sha1 and sha512 are accepted
// for other WebSub senders.
func Verify(secret []byte, header string, body []byte) error {
	if header == "" {
		return ErrNoSignature
	}
	method, sig, ok := strings.Cut(strings.TrimSpace(header), "=")
	if !ok {
		return ErrBadSignature
	}
	var h func() hash.Hash
	switch strings.ToLower(method) {
	case "sha256":
		h = sha256.New
	case "sha1":
		h = sha1.New
	case "sha512":
		h = sha512.New
	default:
		return ErrBadSignature
	}
	want, err := hex.DecodeString(sig)
	if err != nil {
		return ErrBadSignature
	}
	m := hmac.New(h, secret)
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), want) {
		return ErrBadSignature
	}
	return nil
}

// Kinds of events vulnsync acts on.
const (
	IssueCreated   = "jira:issue_created"
	IssueUpdated   = "jira:issue_updated"
	IssueDeleted   = "jira:issue_deleted"
	CommentCreated = "comment_created"
	CommentUpdated = "comment_updated"
	CommentDeleted = "comment_deleted"
)

// Event is one parsed delivery.
type Event struct {
	// Kind is webhookEvent; EventType is issue_event_type_name ("" on old
	// Server versions).
	Kind      string
	EventType string
	// Time is when Jira made the change (the delivery's timestamp).
	Time time.Time
	User jira.User
	// IssueID is always set for issue and comment events (from comment.self
	// when the payload has no issue); ProjectKey when the payload has an
	// issue.
	IssueID    string
	IssueKey   string
	ProjectKey string
	Issue      *jira.Issue
	Changelog  []jira.ChangeItem
	Comment    *jira.Comment
}

// CommentEvent reports whether the event is about a comment (either
// comment_* or jira:issue_updated with a comment), and which one: created,
// updated or deleted.
func (e *Event) CommentEvent() (string, bool) {
	if e.Comment == nil {
		return "", false
	}
	switch e.Kind {
	case CommentCreated, CommentUpdated, CommentDeleted:
		return e.Kind, true
	}
	switch e.EventType {
	case "issue_commented":
		return CommentCreated, true
	case "issue_comment_edited":
		return CommentUpdated, true
	case "issue_comment_deleted":
		return CommentDeleted, true
	}
	// Old Server versions: no event type; a comment with an issue update.
	if e.EventType == "" && e.Kind == IssueUpdated {
		return CommentCreated, true
	}
	return "", false
}

type payload struct {
	Timestamp int64           `json:"timestamp"`
	Event     string          `json:"webhookEvent"`
	EventType string          `json:"issue_event_type_name"`
	User      jira.User       `json:"user"`
	Issue     json.RawMessage `json:"issue"`
	Changelog *struct {
		Items []jira.ChangeItem `json:"items"`
	} `json:"changelog"`
	Comment json.RawMessage `json:"comment"`
}

var commentSelf = regexp.MustCompile(`/issue/([0-9]+)/comment/`)

// ErrUnsupported marks deliveries vulnsync does not act on (other event
// kinds); they are recorded as ignored.
var ErrUnsupported = errors.New("unsupported webhook event")

// Parse parses a verified delivery.
func Parse(body []byte) (*Event, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("parse webhook: %w", err)
	}
	e := &Event{Kind: p.Event, EventType: p.EventType, User: p.User}
	if p.Timestamp > 0 {
		e.Time = time.UnixMilli(p.Timestamp).UTC()
	}
	switch p.Event {
	case IssueCreated, IssueUpdated, IssueDeleted, CommentCreated, CommentUpdated, CommentDeleted:
	case "":
		return nil, fmt.Errorf("parse webhook: no webhookEvent")
	default:
		return e, fmt.Errorf("%w: %s", ErrUnsupported, p.Event)
	}
	if len(p.Issue) > 0 && string(p.Issue) != "null" {
		is, err := jira.DecodeIssue(p.Issue)
		if err != nil {
			return nil, fmt.Errorf("parse webhook %s: %w", p.Event, err)
		}
		// An issue object without an id names no issue: it is left out
		// (a comment event still names its issue by the comment's URL),
		// so that an event's Issue, when set, is always IssueID's.
		if is.ID != "" {
			e.Issue, e.IssueID, e.IssueKey = is, is.ID, is.Key
			var proj struct {
				Fields struct {
					Project struct {
						Key string `json:"key"`
					} `json:"project"`
				} `json:"fields"`
			}
			_ = json.Unmarshal(p.Issue, &proj)
			e.ProjectKey = proj.Fields.Project.Key
		}
	}
	if p.Changelog != nil {
		e.Changelog = p.Changelog.Items
	}
	if len(p.Comment) > 0 && string(p.Comment) != "null" {
		c, err := jira.DecodeComment(p.Comment)
		if err != nil {
			return nil, fmt.Errorf("parse webhook %s: %w", p.Event, err)
		}
		e.Comment = &c
		if e.IssueID == "" {
			if m := commentSelf.FindStringSubmatch(c.Self); m != nil {
				e.IssueID = m[1]
			}
		}
	}
	if e.IssueID == "" {
		return nil, fmt.Errorf("parse webhook %s: no issue and no comment.self naming one", p.Event)
	}
	if e.Time.IsZero() && e.Issue != nil {
		e.Time = e.Issue.Updated
	}
	return e, nil
}
