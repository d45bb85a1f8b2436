// Package service holds vulnsync's use cases over the store: creating and
// changing targets, items, comments and attachments with their validation,
// history and per-field change times, and authenticating API tokens.
//
// Every mutation runs in one store transaction and announces itself to the
// registered change hooks inside that transaction, so the sync can enqueue
// the work a change causes atomically with the change (transactional
// outbox). The HTTP API, the UI and the inbound Jira sync all go through
// this package, so the rules are written once.
package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Actor is who performs a change: a person (signed in, or through one of
// their API tokens), the bootstrap admin token, or Jira (through the sync)
// on behalf of a Jira user.
type Actor struct {
	// UserID is the vulnsync user; empty for the bootstrap token, Jira
	// and vulnsync itself.
	UserID string
	Name   string
	Email  string
	Role   tracker.Role
	Origin tracker.Origin
}

// System is the actor for changes vulnsync makes on its own.
var System = Actor{Name: "vulnsync", Role: RoleAdmin, Origin: tracker.OriginVulnsync}

// RoleAdmin may do everything, including managing Jira connections.
const RoleAdmin = tracker.RoleAdmin

type actorKey struct{}

// ContextWithActor returns ctx carrying the actor of a request, so that
// use cases which audit what they do know who did it.
func ContextWithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ContextWithActor put in ctx.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

func (a Actor) label() string {
	if a.Email != "" {
		return a.Email
	}
	return a.Name
}

// EventType names what happened, for change hooks.
type EventType string

// The events hooks receive.
const (
	ItemCreated       EventType = "item.created"
	ItemUpdated       EventType = "item.updated"
	ItemDeleted       EventType = "item.deleted"
	CommentCreated    EventType = "comment.created"
	AttachmentCreated EventType = "attachment.created"
)

// Event describes one committed-with-the-hook change. History holds the rows
// the change recorded (empty for comments and attachments).
type Event struct {
	Type       EventType
	Item       tracker.Item
	Comment    *tracker.Comment
	Attachment *tracker.Attachment
	History    []tracker.HistoryEntry
	Origin     tracker.Origin
}

// Hook is called inside the transaction of each change; returning an error
// rolls the change back. The sync gives one (Config.OnChange) to enqueue its
// jobs.
type Hook func(ctx context.Context, tx store.Tx, ev Event) error

// Config tunes a Service.
// Auditor records audited actions (package people keeps the log); the
// actor comes from the context (ContextWithActor).
type Auditor interface {
	Record(ctx context.Context, action, object, detail string)
}

type nopAuditor struct{}

func (nopAuditor) Record(context.Context, string, string, string) {}

type Config struct {
	Store  store.Store
	Logger *slog.Logger
	// Clock returns the current time; tests inject their own.
	Clock func() time.Time
	// MaxAttachmentBytes bounds one attachment; default 25 MiB.
	MaxAttachmentBytes int64
	// OnChange runs inside the transaction of every change (the sync
	// enqueues its work there: transactional outbox); nil does nothing.
	OnChange Hook
	// OnCommit runs after every committed change, outside the
	// transaction (the sync wakes its workers); nil does nothing.
	OnCommit func()
	// Audit records deletions in the audit log; nil records nothing.
	Audit Auditor
	// MaxAcceptanceDays bounds how far ahead an acceptance may expire,
	// for organisations whose policy is stricter than vulnsync's own
	// ceiling (tracker.MaxAcceptance); 0 or more than the ceiling is the
	// ceiling.
	MaxAcceptanceDays int
}

// Service implements the tracker's use cases.
type Service struct {
	st        store.Store
	log       *slog.Logger
	clock     func() time.Time
	maxBytes  int64
	onChange  Hook
	onCommit  func()
	audit     Auditor
	maxAccept time.Duration
}

// DefaultMaxAttachmentBytes is the attachment size limit when none is set.
const DefaultMaxAttachmentBytes = 25 << 20

// New returns a Service over cfg.Store.
func New(cfg Config) *Service {
	s := &Service{st: cfg.Store, log: cfg.Logger, clock: cfg.Clock, maxBytes: cfg.MaxAttachmentBytes, onChange: cfg.OnChange, onCommit: cfg.OnCommit, audit: cfg.Audit}
	if s.audit == nil {
		s.audit = nopAuditor{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxAttachmentBytes
	}
	s.maxAccept = tracker.MaxAcceptance
	if d := time.Duration(cfg.MaxAcceptanceDays) * 24 * time.Hour; cfg.MaxAcceptanceDays > 0 && d < s.maxAccept {
		s.maxAccept = d
	}
	return s
}

// write runs fn in a transaction and, once it committed, the commit hooks.
func (s *Service) write(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := s.st.InTx(ctx, fn); err != nil {
		return err
	}
	if s.onCommit != nil {
		s.onCommit()
	}
	return nil
}

// MaxAttachmentBytes is the configured attachment size limit.
func (s *Service) MaxAttachmentBytes() int64 { return s.maxBytes }

// Store exposes the underlying store to packages that extend the service
// (the sync) and must share its transactions.
func (s *Service) Store() store.Store { return s.st }

// Now is the service clock, truncated to stored precision.
func (s *Service) Now() time.Time { return tracker.Truncate(s.clock()) }

func (s *Service) emit(ctx context.Context, tx store.Tx, ev Event) error {
	if s.onChange == nil {
		return nil
	}
	if err := s.onChange(ctx, tx, ev); err != nil {
		return fmt.Errorf("change hook for %s: %w", ev.Type, err)
	}
	return nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func catalog(ctx context.Context, tx store.Tx) (tracker.Catalog, error) {
	kinds, err := tx.ListKinds(ctx)
	if err != nil {
		return tracker.Catalog{}, fmt.Errorf("load kinds: %w", err)
	}
	fields, err := tx.ListFields(ctx)
	if err != nil {
		return tracker.Catalog{}, fmt.Errorf("load fields: %w", err)
	}
	return tracker.NewCatalog(kinds, fields), nil
}

// --- Targets ---------------------------------------------------------------

// CreateTarget validates and stores a new target.
func (s *Service) CreateTarget(ctx context.Context, t tracker.Target) (tracker.Target, error) {
	if err := tracker.ValidateTarget(&t); err != nil {
		return tracker.Target{}, err
	}
	t.ID = newID()
	t.CreatedAt, t.UpdatedAt = s.Now(), s.Now()
	err := s.write(ctx, func(tx store.Tx) error { return tx.CreateTarget(ctx, t) })
	if err != nil {
		return tracker.Target{}, fmt.Errorf("create target: %w", err)
	}
	return t, nil
}

// GetTarget returns one target.
func (s *Service) GetTarget(ctx context.Context, id string) (t tracker.Target, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error { t, err = tx.GetTarget(ctx, id); return err })
	return t, err
}

// ListTargets returns every target.
func (s *Service) ListTargets(ctx context.Context) (ts []tracker.Target, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error { ts, err = tx.ListTargets(ctx); return err })
	return ts, err
}

// TargetItemCounts returns a target's live items per kind and status, read
// from the store's counters (a few rows whatever the size of the target), so
// that a summary page can show them on every visit without scanning items.
func (s *Service) TargetItemCounts(ctx context.Context, targetID string) (cs []store.ItemCount, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error { cs, err = tx.TargetItemCounts(ctx, targetID); return err })
	if err != nil {
		return nil, fmt.Errorf("count the items of target %s: %w", targetID, err)
	}
	return cs, nil
}

// TargetTrends is what the dashboard charts for one target beyond counts
// by status: its open items by kind, severity and day of creation, its
// resolutions per month since a month, and its overdue items.
type TargetTrends struct {
	Open        []store.OpenItemDay
	Resolutions []store.ResolutionMonth
	Overdue     int
	// OverdueAtLeast says Overdue is a lower bound (more than
	// OverdueScanLimit items have a past due date).
	OverdueAtLeast bool
}

// OverdueScanLimit bounds the past-due items read to count the overdue
// ones, so the dashboard's read stays bounded at any size.
const OverdueScanLimit = 10_000

// TargetTrends reads a target's dashboard counters: resolutions from the
// month since (YYYY-MM) on, overdue as of today (s.Now()).
func (s *Service) TargetTrends(ctx context.Context, targetID, since string) (tr TargetTrends, err error) {
	today := s.Now().UTC().Format(time.DateOnly)
	err = s.st.View(ctx, func(tx store.Tx) error {
		if tr.Open, err = tx.OpenItemDays(ctx, targetID); err != nil {
			return err
		}
		if tr.Resolutions, err = tx.ResolutionMonths(ctx, targetID, since); err != nil {
			return err
		}
		tr.Overdue, tr.OverdueAtLeast, err = tx.CountOverdue(ctx, targetID, today, OverdueScanLimit)
		return err
	})
	if err != nil {
		return tr, fmt.Errorf("read the trends of target %s: %w", targetID, err)
	}
	return tr, nil
}

// --- Catalog ---------------------------------------------------------------

// Catalog returns the built-in and custom kinds and fields.
func (s *Service) Catalog(ctx context.Context) (c tracker.Catalog, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error { c, err = catalog(ctx, tx); return err })
	return c, err
}

// RegisterKind adds a custom kind.
func (s *Service) RegisterKind(ctx context.Context, k tracker.KindDef) (tracker.KindDef, error) {
	err := s.write(ctx, func(tx store.Tx) error {
		c, err := catalog(ctx, tx)
		if err != nil {
			return err
		}
		if err := c.ValidateKindDef(&k); err != nil {
			return err
		}
		k.Created = s.Now()
		return tx.CreateKind(ctx, k)
	})
	return k, err
}

// RegisterField adds a custom typed field.
func (s *Service) RegisterField(ctx context.Context, f tracker.FieldDef) (tracker.FieldDef, error) {
	err := s.write(ctx, func(tx store.Tx) error {
		c, err := catalog(ctx, tx)
		if err != nil {
			return err
		}
		if err := c.ValidateFieldDef(&f); err != nil {
			return err
		}
		f.Created = s.Now()
		return tx.CreateField(ctx, f)
	})
	return f, err
}

// --- Items -----------------------------------------------------------------

// CreateItem validates n and stores it as a new item of the target.
func (s *Service) CreateItem(ctx context.Context, actor Actor, targetID string, n tracker.NewItem) (tracker.Item, error) {
	var it tracker.Item
	var err error
	if n.Fields, err = scoreVector(actor.Origin, n.Fields); err != nil {
		return tracker.Item{}, err
	}
	err = s.write(ctx, func(tx store.Tx) error {
		if _, err := tx.GetTarget(ctx, targetID); err != nil {
			return err
		}
		if err := checkAssignee(ctx, tx, actor, n.Fields); err != nil {
			return err
		}
		c, err := catalog(ctx, tx)
		if err != nil {
			return err
		}
		var parent *tracker.Item
		if n.ParentID != "" {
			p, err := tx.GetItem(ctx, n.ParentID)
			switch {
			case err == nil:
				parent = &p
			case tracker.KindOf(err) != tracker.ENotFound:
				return err
			}
		}
		var hist []tracker.HistoryEntry
		it, hist, err = c.Build(targetID, newID(), n, parent, tracker.Change{Actor: actor.label(), Origin: actor.Origin, At: s.clock()})
		if err != nil {
			return err
		}
		if err := checkAcceptedByRole(actor, tracker.StatusOpen, it.Status); err != nil {
			return err
		}
		if err := tx.CreateItem(ctx, it, hist); err != nil {
			return err
		}
		return s.emit(ctx, tx, Event{Type: ItemCreated, Item: it, History: hist, Origin: actor.Origin})
	})
	if err != nil {
		return tracker.Item{}, fmt.Errorf("create item: %w", err)
	}
	return it, nil
}

// GetItem returns one item.
func (s *Service) GetItem(ctx context.Context, id string) (it tracker.Item, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error { it, err = tx.GetItem(ctx, id); return err })
	return it, err
}

// ListItems returns one page of a target's items.
func (s *Service) ListItems(ctx context.Context, f store.ItemFilter) (page store.ItemPage, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetTarget(ctx, f.TargetID); err != nil {
			return err
		}
		page, err = tx.ListItems(ctx, f)
		return err
	})
	return page, err
}

// UpdateItem applies patch to the item. Concurrent updates are retried on a
// fresh copy, so no change is lost and each is validated against the state
// it really applies to.
func (s *Service) UpdateItem(ctx context.Context, actor Actor, id string, patch tracker.Patch) (tracker.Item, error) {
	return s.UpdateItemAt(ctx, actor, id, patch, time.Time{})
}

// UpdateItemAt is UpdateItem with the time the change was made on its own
// side (Jira's changelog time for inbound changes); zero means now.
func (s *Service) UpdateItemAt(ctx context.Context, actor Actor, id string, patch tracker.Patch, at time.Time) (tracker.Item, error) {
	var it tracker.Item
	var err error
	if patch.Fields, err = scoreVector(actor.Origin, patch.Fields); err != nil {
		return tracker.Item{}, err
	}
	for attempt := 0; ; attempt++ {
		var ended *tracker.Acceptance
		err := s.write(ctx, func(tx store.Tx) error {
			var err error
			it, err = tx.GetItem(ctx, id)
			if err != nil {
				return err
			}
			was := it.Status
			if err := checkAssignee(ctx, tx, actor, patch.Fields); err != nil {
				return err
			}
			c, err := catalog(ctx, tx)
			if err != nil {
				return err
			}
			when := at
			if when.IsZero() {
				when = s.clock()
			}
			prev := it.Version
			hist, err := c.Apply(&it, patch, tracker.Change{Actor: actor.label(), Origin: actor.Origin, At: when})
			if err != nil || len(hist) == 0 {
				return err
			}
			if err := checkAcceptedByRole(actor, was, it.Status); err != nil {
				return err
			}
			if err := tx.UpdateItem(ctx, it, prev, hist); err != nil {
				return err
			}
			if ended, err = s.endLapsedAcceptance(ctx, tx, actor, was, it); err != nil {
				return err
			}
			return s.emit(ctx, tx, Event{Type: ItemUpdated, Item: it, History: hist, Origin: actor.Origin})
		})
		if err == nil {
			if ended != nil {
				s.audit.Record(ContextWithActor(ctx, actor), "acceptance.revoke", "acceptance:"+ended.ID, fmt.Sprintf("item %s: %s", ended.ItemID, ended.Note))
			}
			return it, nil
		}
		if tracker.KindOf(err) != tracker.EConflict || attempt >= 5 || ctx.Err() != nil {
			return tracker.Item{}, fmt.Errorf("update item %s: %w", id, err)
		}
	}
}

// DeleteItem removes an item (and records who did). Findings under a deleted
// vulnerability are deleted with it.
func (s *Service) DeleteItem(ctx context.Context, actor Actor, id string) error {
	var title string
	err := s.write(ctx, func(tx store.Tx) error {
		it, err := tx.GetItem(ctx, id)
		if err != nil {
			return err
		}
		title = it.Title
		return s.deleteTree(ctx, tx, actor, it)
	})
	if err != nil {
		return fmt.Errorf("delete item %s: %w", id, err)
	}
	s.audit.Record(ContextWithActor(ctx, actor), "item.delete", "item:"+id, title)
	return nil
}

func (s *Service) deleteTree(ctx context.Context, tx store.Tx, actor Actor, it tracker.Item) error {
	if it.Kind == tracker.KindVulnerability {
		cursor := ""
		for {
			page, err := tx.ListItems(ctx, store.ItemFilter{TargetID: it.TargetID, ParentID: it.ID, Cursor: cursor, Limit: 500})
			if err != nil {
				return err
			}
			for _, child := range page.Items {
				if err := s.deleteTree(ctx, tx, actor, child); err != nil {
					return err
				}
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
	}
	h := tracker.HistoryEntry{ItemID: it.ID, Field: "deleted", Old: "false", New: "true", Actor: actor.label(), Origin: actor.Origin, At: s.Now()}
	if err := tx.DeleteItem(ctx, it.ID, h); err != nil {
		return err
	}
	if err := s.endAcceptanceOfDeleted(ctx, tx, actor, it.ID); err != nil {
		return err
	}
	return s.emit(ctx, tx, Event{Type: ItemDeleted, Item: it, History: []tracker.HistoryEntry{h}, Origin: actor.Origin})
}

// History returns an item's history, oldest first.
func (s *Service) History(ctx context.Context, itemID string) (hs []tracker.HistoryEntry, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetItem(ctx, itemID); err != nil {
			return err
		}
		hs, err = tx.ListHistory(ctx, itemID)
		return err
	})
	return hs, err
}

// HistoryPage returns a page of an item's history, oldest first (f.ItemID
// is set here).
func (s *Service) HistoryPage(ctx context.Context, itemID string, f store.PageFilter) (page store.HistoryPage, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetItem(ctx, itemID); err != nil {
			return err
		}
		f.ItemID = itemID
		page, err = tx.ListHistoryPage(ctx, f)
		return err
	})
	return page, err
}

// CommentsPage returns a page of an item's comments, oldest first
// (f.ItemID is set here).
func (s *Service) CommentsPage(ctx context.Context, itemID string, f store.PageFilter) (page store.CommentPage, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetItem(ctx, itemID); err != nil {
			return err
		}
		f.ItemID = itemID
		page, err = tx.ListCommentsPage(ctx, f)
		return err
	})
	return page, err
}

// --- Comments --------------------------------------------------------------

// AddComment adds a Markdown comment by actor to the item.
func (s *Service) AddComment(ctx context.Context, actor Actor, itemID, body string) (tracker.Comment, error) {
	return s.AddCommentNote(ctx, actor, itemID, body, false)
}

// AddCommentNote adds a Markdown comment by actor to the item; internal
// makes it a note for vulnsync's users that never goes to Jira.
func (s *Service) AddCommentNote(ctx context.Context, actor Actor, itemID, body string, internal bool) (tracker.Comment, error) {
	if err := tracker.ValidateCommentBody(body); err != nil {
		return tracker.Comment{}, err
	}
	now := s.Now()
	c := tracker.Comment{ID: newID(), ItemID: itemID, Author: tracker.Author{Name: actor.Name, Email: actor.Email},
		Body: body, CreatedAt: now, UpdatedAt: now, Origin: actor.Origin, Internal: internal}
	err := s.write(ctx, func(tx store.Tx) error {
		it, err := tx.GetItem(ctx, itemID)
		if err != nil {
			return err
		}
		if err := tx.CreateComment(ctx, c); err != nil {
			return err
		}
		return s.emit(ctx, tx, Event{Type: CommentCreated, Item: it, Comment: &c, Origin: actor.Origin})
	})
	if err != nil {
		return tracker.Comment{}, fmt.Errorf("add comment: %w", err)
	}
	return c, nil
}

// Comments lists an item's comments, oldest first.
func (s *Service) Comments(ctx context.Context, itemID string) (cs []tracker.Comment, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetItem(ctx, itemID); err != nil {
			return err
		}
		cs, err = tx.ListComments(ctx, itemID)
		return err
	})
	return cs, err
}

// --- Attachments -----------------------------------------------------------

// AddAttachment stores a file on the item. content must already be bounded
// by the caller's reader; oversize content is refused here too.
func (s *Service) AddAttachment(ctx context.Context, actor Actor, itemID, filename, contentType string, content []byte) (tracker.Attachment, error) {
	p := tracker.Problems{}
	switch {
	case filename == "":
		p.Add("file", "the upload has no file name")
	case len(filename) > 255:
		p.Add("file", "file name must be at most 255 characters")
	}
	if err := p.Err(tracker.EInvalid, "invalid attachment"); err != nil {
		return tracker.Attachment{}, err
	}
	if int64(len(content)) > s.maxBytes {
		return tracker.Attachment{}, tracker.Errorf(tracker.ETooLarge, "attachment is larger than the limit of %d bytes", s.maxBytes)
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	sum := sha256.Sum256(content)
	a := tracker.Attachment{ID: newID(), ItemID: itemID, Filename: filename, ContentType: contentType,
		Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:]), Origin: actor.Origin, CreatedAt: s.Now()}
	err := s.write(ctx, func(tx store.Tx) error {
		it, err := tx.GetItem(ctx, itemID)
		if err != nil {
			return err
		}
		if err := tx.CreateAttachment(ctx, a, content); err != nil {
			return err
		}
		return s.emit(ctx, tx, Event{Type: AttachmentCreated, Item: it, Attachment: &a, Origin: actor.Origin})
	})
	if err != nil {
		return tracker.Attachment{}, fmt.Errorf("add attachment: %w", err)
	}
	return a, nil
}

// Attachments lists an item's attachments (metadata only).
func (s *Service) Attachments(ctx context.Context, itemID string) (as []tracker.Attachment, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetItem(ctx, itemID); err != nil {
			return err
		}
		as, err = tx.ListAttachments(ctx, itemID)
		return err
	})
	return as, err
}

// Attachment returns one attachment with its content.
func (s *Service) Attachment(ctx context.Context, id string) (a tracker.Attachment, content []byte, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error {
		if a, err = tx.GetAttachment(ctx, id); err != nil {
			return err
		}
		content, err = tx.AttachmentContent(ctx, id)
		return err
	})
	return a, content, err
}

// MirrorComment stores a comment made on the other side (Jira), keeping its
// author and original times; the id is assigned here.
//
// What Jira accepted is never refused here: a body longer than vulnsync
// keeps (Jira's rich text grows when converted to Markdown) is stored cut,
// with a note, and control characters are dropped, so that one such comment
// cannot block the comments after it.
func (s *Service) MirrorComment(ctx context.Context, c tracker.Comment) (tracker.Comment, error) {
	c.Body = FromJiraText(c.Body)
	if err := tracker.ValidateCommentBody(c.Body); err != nil {
		return tracker.Comment{}, err
	}
	c.ID = newID()
	c.CreatedAt, c.UpdatedAt = tracker.Truncate(c.CreatedAt), tracker.Truncate(c.UpdatedAt)
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	err := s.write(ctx, func(tx store.Tx) error {
		it, err := tx.GetItem(ctx, c.ItemID)
		if err != nil {
			return err
		}
		if err := tx.CreateComment(ctx, c); err != nil {
			return err
		}
		return s.emit(ctx, tx, Event{Type: CommentCreated, Item: it, Comment: &c, Origin: c.Origin})
	})
	if err != nil {
		return tracker.Comment{}, fmt.Errorf("mirror comment: %w", err)
	}
	return c, nil
}

// EditComment applies to a mirrored comment an edit made in Jira. It
// emits no change event: the edit came from Jira and must not go back.
func (s *Service) EditComment(ctx context.Context, id, body string, at time.Time) (tracker.Comment, error) {
	return s.editComment(ctx, id, body, nil, false, at)
}

// EditRestrictedComment applies an edit made in Jira that may also have
// changed the comment's visibility (nil: public now).
func (s *Service) EditRestrictedComment(ctx context.Context, id, body string, vis *tracker.Visibility, at time.Time) (tracker.Comment, error) {
	return s.editComment(ctx, id, body, vis, true, at)
}

func (s *Service) editComment(ctx context.Context, id, body string, vis *tracker.Visibility, setVis bool, at time.Time) (tracker.Comment, error) {
	body = FromJiraText(body)
	if err := tracker.ValidateCommentBody(body); err != nil {
		return tracker.Comment{}, err
	}
	var c tracker.Comment
	err := s.write(ctx, func(tx store.Tx) error {
		var err error
		if c, err = tx.GetComment(ctx, id); err != nil {
			return err
		}
		c.Body, c.UpdatedAt = body, tracker.Truncate(at)
		if setVis {
			c.Visibility, c.Restricted = vis, vis != nil
		}
		return tx.UpdateComment(ctx, c)
	})
	if err != nil {
		return tracker.Comment{}, fmt.Errorf("edit comment %s: %w", id, err)
	}
	return c, nil
}

// RemoveComment deletes a mirrored comment whose Jira comment was
// deleted. It emits no change event, for the same reason.
func (s *Service) RemoveComment(ctx context.Context, id string) error {
	if err := s.write(ctx, func(tx store.Tx) error { return tx.DeleteComment(ctx, id) }); err != nil {
		return fmt.Errorf("delete comment %s: %w", id, err)
	}
	return nil
}

// FromJiraText makes a comment body or description from Jira fit what
// vulnsync keeps: control characters dropped, and text over
// tracker.MaxTextLen (counted as Jira counts) cut with a note saying so.
// An empty body (a comment of only an image, say) gets a placeholder.
func FromJiraText(body string) string {
	body = tracker.StripControl(body, true)
	if strings.TrimSpace(body) == "" {
		return "(empty in Jira)"
	}
	n := tracker.TextLen(body)
	out, _ := tracker.FitText(body, tracker.MaxTextLen,
		fmt.Sprintf("\n\n[vulnsync: cut here; the text in Jira has %d characters, more than the %d kept here]", n, tracker.MaxTextLen))
	return out
}

// AssigneeField is the built-in field holding an item's assignee: the
// email of a vulnsync user (synced with Jira's assignee when the mapping
// says so).
const AssigneeField = "assignee_email"

// checkAssignee refuses, for changes made in vulnsync, an assignee who is
// not an active vulnsync user. (Jira's changes are matched by the sync,
// which never applies a person it cannot match.)
func checkAssignee(ctx context.Context, tx store.Tx, actor Actor, fields map[string]any) error {
	v, ok := fields[AssigneeField]
	email, isString := v.(string)
	if !ok || v == nil || !isString || email == "" || actor.Origin != tracker.OriginVulnsync {
		return nil
	}
	u, err := tx.UserByEmail(ctx, email)
	if tracker.KindOf(err) == tracker.ENotFound || (err == nil && !u.Active) {
		return &tracker.Error{Kind: tracker.EInvalid, Message: "invalid item",
			Fields: map[string]string{"fields." + AssigneeField: fmt.Sprintf("no active vulnsync user has the email %q", email)}}
	}
	return err
}
