package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/vulnsync/vulnsync/internal/jirasync"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Sync is what the API needs from the sync engine: the sync log (G12),
// backfill, its progress, and the manual retry of failed work.
type Sync interface {
	// EventPage and ItemEventPage are a page of the sync log of an
	// integration (failures first) or of an item, with filters.
	EventPage(ctx context.Context, f store.SyncEventFilter) (store.SyncEventPage, error)
	ItemEventPage(ctx context.Context, itemID string, f store.SyncEventFilter) (store.SyncEventPage, error)
	Backfill(ctx context.Context, integrationID string) (int, error)
	// PlanBackfill counts what a backfill would create and update,
	// without writing anything.
	PlanBackfill(ctx context.Context, integrationID string) (jirasync.BackfillPlan, error)
	// Preview is the Jira issue an item would have under its mapping,
	// without writing anything.
	Preview(ctx context.Context, itemID string) (jirasync.Preview, error)
	FailedJobs(ctx context.Context, limit int) ([]store.Job, error)
	// LinkIssue and UnlinkIssue link an item to an existing issue of its
	// integration's project, and end that link.
	LinkIssue(ctx context.Context, itemID, issueKey string) (tracker.JiraRef, error)
	// RelinkIssue moves an item's link to another issue in one step.
	RelinkIssue(ctx context.Context, itemID, issueKey string) (tracker.JiraRef, error)
	UnlinkIssue(ctx context.Context, itemID string) error
	RetryJob(ctx context.Context, id int64) (store.Job, error)
	// ConnectionHealth is a connection's last webhook, inbound queue and
	// last failure.
	ConnectionHealth(ctx context.Context, connectionID string) (store.ConnectionHealth, error)
	// WebhookHealth is a connection's webhook deliveries by result and
	// its newest rejected ones.
	WebhookHealth(ctx context.Context, connectionID string) (store.WebhookHealth, error)
}

func limitParam(r *http.Request, def int) (int, error) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return def, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > 1000 {
		return 0, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid query", Fields: map[string]string{"limit": "must be a number from 1 to 1000"}}
	}
	return n, nil
}

// eventFilter reads the sync log's query: limit, cursor and the filters
// item_id, result, direction and action (kind is a synonym of action).
func eventFilter(r *http.Request) (store.SyncEventFilter, error) {
	q := r.URL.Query()
	limit, err := limitParam(r, store.DefaultEventPageSize)
	if err != nil {
		return store.SyncEventFilter{}, err
	}
	f := store.SyncEventFilter{Limit: limit, Cursor: q.Get("cursor"), ItemID: q.Get("item_id"), Result: q.Get("result"),
		Direction: q.Get("direction"), Action: q.Get("action")}
	if f.Action == "" {
		f.Action = q.Get("kind")
	}
	return f, nil
}

func (s *server) handleIntegrationEvents(w http.ResponseWriter, r *http.Request) {
	f, err := eventFilter(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	f.IntegrationID = r.PathValue("id")
	page, err := s.sync.EventPage(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": nonNil(page.Events), "next_cursor": page.NextCursor})
}

func (s *server) handleItemEvents(w http.ResponseWriter, r *http.Request) {
	f, err := eventFilter(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	page, err := s.sync.ItemEventPage(r.Context(), r.PathValue("id"), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": nonNil(page.Events), "next_cursor": page.NextCursor})
}

func (s *server) handleBackfill(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Query().Get("dry_run") {
	case "", "false":
	case "true":
		plan, err := s.sync.PlanBackfill(r.Context(), r.PathValue("id"))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, http.StatusOK, plan)
		return
	default:
		writeError(w, r, s.log, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid query", Fields: map[string]string{"dry_run": "must be true or false"}})
		return
	}
	n, err := s.sync.Backfill(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"queued": n})
}

func (s *server) handleJiraPreview(w http.ResponseWriter, r *http.Request) {
	p, err := s.sync.Preview(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *server) handleLinkIssue(w http.ResponseWriter, r *http.Request) {
	var in struct {
		IssueKey string `json:"issue_key"`
		Relink   bool   `json:"relink"`
	}
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	link := s.sync.LinkIssue
	if in.Relink {
		link = s.sync.RelinkIssue
	}
	ref, err := link(r.Context(), r.PathValue("id"), in.IssueKey)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"jira": ref})
}

func (s *server) handleUnlinkIssue(w http.ResponseWriter, r *http.Request) {
	if err := s.sync.UnlinkIssue(r.Context(), r.PathValue("id")); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) handleFailedJobs(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r, 100)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	js, err := s.sync.FailedJobs(r.Context(), limit)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": nonNil(js)})
}

func (s *server) handleRetryJob(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, r, s.log, tracker.Errorf(tracker.ENotFound, "no job %q", r.PathValue("id")))
		return
	}
	j, err := s.sync.RetryJob(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}
