package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

func (s *server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) handleReady(w http.ResponseWriter, r *http.Request) {
	if reason := s.ready(r.Context()); reason != "" {
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: reason})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// --- Targets ---------------------------------------------------------------

func (s *server) handleCreateTarget(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		URL         string `json:"url"`
	}
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	t, err := s.svc.CreateTarget(r.Context(), tracker.Target{Name: in.Name, Description: in.Description, URL: in.URL})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, t)
}

func (s *server) handleListTargets(w http.ResponseWriter, r *http.Request) {
	ts, err := s.svc.ListTargets(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"targets": nonNil(ts)})
}

func (s *server) handleGetTarget(w http.ResponseWriter, r *http.Request) {
	t, err := s.svc.GetTarget(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// --- Items -----------------------------------------------------------------

// itemView is an item as the API shows it: with its Jira link or null,
// and whether it is past its due date today.
type itemView struct {
	tracker.Item
	Jira    *tracker.JiraRef `json:"jira"`
	Overdue bool             `json:"overdue"`
}

func (s *server) views(r *http.Request, items ...tracker.Item) ([]itemView, error) {
	out := make([]itemView, len(items))
	var links map[string]tracker.JiraRef
	if s.links != nil && len(items) > 0 {
		ids := make([]string, len(items))
		for i, it := range items {
			ids[i] = it.ID
		}
		var err error
		if links, err = s.links(r.Context(), ids); err != nil {
			return nil, fmt.Errorf("look up jira links: %w", err)
		}
	}
	today := s.svc.Now().Format(time.DateOnly)
	for i, it := range items {
		if it.Fields == nil {
			it.Fields = map[string]any{}
		}
		out[i] = itemView{Item: it, Overdue: it.Overdue(today)}
		if ref, ok := links[it.ID]; ok {
			out[i].Jira = &ref
		}
	}
	return out, nil
}

func (s *server) writeItem(w http.ResponseWriter, r *http.Request, status int, it tracker.Item) {
	v, err := s.views(r, it)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, status, v[0])
}

func (s *server) handleCreateItem(w http.ResponseWriter, r *http.Request) {
	var in tracker.NewItem
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	it, err := s.svc.CreateItem(r.Context(), s.actor(r), r.PathValue("id"), in)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.writeItem(w, r, http.StatusCreated, it)
}

func (s *server) handleListItems(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.ItemFilter{
		TargetID: r.PathValue("id"), Kind: q.Get("kind"), Status: tracker.Status(q.Get("status")),
		Severity: tracker.Severity(q.Get("severity")), ParentID: q.Get("parent_id"), Cursor: q.Get("cursor"),
		Search: q.Get("q"), Sort: store.ItemSort(q.Get("sort")),
	}
	p := tracker.Problems{}
	switch q.Get("order") {
	case "", "asc":
	case "desc":
		f.Desc = true
	default:
		p.Add("order", "must be asc or desc")
	}
	if !f.Sort.Valid() {
		p.Add("sort", "unknown sort %q (allowed: created, title, kind, severity, status, updated, assignee)", f.Sort)
	}
	if f.Status != "" && !f.Status.Valid() {
		p.Add("status", "unknown status %q", f.Status)
	}
	if f.Severity != "" && !f.Severity.Valid() {
		p.Add("severity", "unknown severity %q", f.Severity)
	}
	if o := q.Get("overdue"); o != "" {
		overdue, err := strconv.ParseBool(o)
		if err != nil {
			p.Add("overdue", "must be true or false")
		}
		if overdue {
			f.OverdueOn = s.svc.Now().Format(time.DateOnly)
		}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			p.Add("limit", "must be a number from 1 to 500")
		}
		f.Limit = n
	}
	if err := p.Err(tracker.EInvalid, "invalid query"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	page, err := s.svc.ListItems(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	views, err := s.views(r, page.Items...)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": views, "next_cursor": page.NextCursor, "prev_cursor": page.PrevCursor})
}

func (s *server) handleGetItem(w http.ResponseWriter, r *http.Request) {
	it, err := s.svc.GetItem(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.writeItem(w, r, http.StatusOK, it)
}

func (s *server) handleUpdateItem(w http.ResponseWriter, r *http.Request) {
	var in tracker.Patch
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	it, err := s.svc.UpdateItem(r.Context(), s.actor(r), r.PathValue("id"), in)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.writeItem(w, r, http.StatusOK, it)
}

func (s *server) handleDeleteItem(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.DeleteItem(r.Context(), s.actor(r), r.PathValue("id")); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pageParam reads cursor and limit (1 to store.MaxPageSize, default
// defaultItemPage) of a keyset-paged list.
func pageParam(r *http.Request) (store.PageFilter, error) {
	q := r.URL.Query()
	f := store.PageFilter{Cursor: q.Get("cursor"), Limit: defaultItemPage}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxPageSize {
			return f, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid query", Fields: map[string]string{"limit": fmt.Sprintf("must be a number from 1 to %d", store.MaxPageSize)}}
		}
		f.Limit = n
	}
	return f, nil
}

// defaultItemPage is the default page of an item's history and comments:
// more than most items have, so that one call usually shows them all.
const defaultItemPage = 100

func (s *server) handleHistory(w http.ResponseWriter, r *http.Request) {
	f, err := pageParam(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	page, err := s.svc.HistoryPage(r.Context(), r.PathValue("id"), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"history": nonNil(page.Entries), "next_cursor": page.NextCursor})
}

// --- Comments --------------------------------------------------------------

func (s *server) handleListComments(w http.ResponseWriter, r *http.Request) {
	f, err := pageParam(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	page, err := s.svc.CommentsPage(r.Context(), r.PathValue("id"), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"comments": nonNil(page.Comments), "next_cursor": page.NextCursor})
}

func (s *server) handleCreateComment(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Body     string `json:"body"`
		Internal bool   `json:"internal"`
	}
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	c, err := s.svc.AddCommentNote(r.Context(), s.actor(r), r.PathValue("id"), in.Body, in.Internal)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

// --- Attachments -----------------------------------------------------------

func (s *server) handleListAttachments(w http.ResponseWriter, r *http.Request) {
	as, err := s.svc.Attachments(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"attachments": nonNil(as)})
}

// handleCreateAttachment streams the multipart body and reads the part named
// "file" up to the configured limit; anything over it answers 413 and
// stores nothing.
func (s *server) handleCreateAttachment(w http.ResponseWriter, r *http.Request) {
	limit := s.svc.MaxAttachmentBytes()
	// The envelope (boundaries, headers, other small parts) gets 64 KiB on top.
	r.Body = http.MaxBytesReader(w, r.Body, limit+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, r, s.log, &tracker.Error{Kind: tracker.EInvalid, Message: "expected a multipart/form-data body", Fields: map[string]string{"file": "missing"}})
		return
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			writeError(w, r, s.log, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid upload", Fields: map[string]string{"file": "the multipart field \"file\" is missing"}})
			return
		}
		if err != nil {
			writeError(w, r, s.log, uploadErr(err, limit))
			return
		}
		if part.FormName() != "file" {
			_ = part.Close()
			continue
		}
		content, err := io.ReadAll(io.LimitReader(part, limit+1))
		if err != nil {
			writeError(w, r, s.log, uploadErr(err, limit))
			return
		}
		if int64(len(content)) > limit {
			writeError(w, r, s.log, tracker.Errorf(tracker.ETooLarge, "attachment is larger than the limit of %d bytes", limit))
			return
		}
		ct := part.Header.Get("Content-Type")
		if _, _, perr := mime.ParseMediaType(ct); perr != nil {
			ct = ""
		}
		a, err := s.svc.AddAttachment(r.Context(), s.actor(r), r.PathValue("id"), part.FileName(), ct, content)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, http.StatusCreated, a)
		return
	}
}

func uploadErr(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tracker.Errorf(tracker.ETooLarge, "attachment is larger than the limit of %d bytes", limit)
	}
	return tracker.Errorf(tracker.EInvalid, "malformed multipart body: %v", err)
}

func (s *server) handleGetAttachment(w http.ResponseWriter, r *http.Request) {
	a, _, err := s.svc.Attachment(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *server) handleAttachmentContent(w http.ResponseWriter, r *http.Request) {
	a, content, err := s.svc.Attachment(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	// Served as a download, never rendered inline: the content is untrusted.
	w.Header().Set("Content-Type", a.ContentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.FormatInt(int64(len(content)), 10))
	w.Header().Set("ETag", `"`+a.SHA256+`"`)
	_, _ = w.Write(content)
}

// --- Catalog ---------------------------------------------------------------

func (s *server) handleListKinds(w http.ResponseWriter, r *http.Request) {
	c, err := s.svc.Catalog(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	kinds := make([]tracker.KindDef, 0, len(c.Kinds))
	for _, k := range c.Kinds {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i].Name < kinds[j].Name })
	writeJSON(w, http.StatusOK, map[string]any{"kinds": kinds})
}

func (s *server) handleCreateKind(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name     string           `json:"name"`
		Statuses []tracker.Status `json:"statuses"`
	}
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	k, err := s.svc.RegisterKind(r.Context(), tracker.KindDef{Name: in.Name, Statuses: in.Statuses})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, k)
}

func (s *server) handleListFields(w http.ResponseWriter, r *http.Request) {
	c, err := s.svc.Catalog(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	fields := make([]tracker.FieldDef, 0, len(c.Fields))
	for _, f := range c.Fields {
		fields = append(fields, f)
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
	writeJSON(w, http.StatusOK, map[string]any{"fields": fields})
}

func (s *server) handleCreateField(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name    string            `json:"name"`
		Type    tracker.FieldType `json:"type"`
		Options []string          `json:"options"`
		Min     *float64          `json:"min"`
		Max     *float64          `json:"max"`
	}
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	f, err := s.svc.RegisterField(r.Context(), tracker.FieldDef{Name: in.Name, Type: in.Type, Options: in.Options, Min: in.Min, Max: in.Max})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, f)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
