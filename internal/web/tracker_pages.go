package web

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/scanreport"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// --- Targets -----------------------------------------------------------------

type targetRow struct {
	tracker.Target
	ProjectKey    string
	IntegrationID string
}

type targetsData struct {
	Targets []targetRow
	Form    tracker.Target
	Errors  map[string]string
	Message string
}

func (u *ui) integrationsByTarget(r *http.Request) map[string]integration.View {
	out := map[string]integration.View{}
	if u.integ == nil {
		return out
	}
	vs, err := u.integ.Integrations(r.Context())
	if err != nil {
		u.log.WarnContext(r.Context(), "list integrations for a page", "err", err)
		return out
	}
	for _, v := range vs {
		out[v.TargetID] = v
	}
	return out
}

func (u *ui) targetsPage(w http.ResponseWriter, r *http.Request, sv *sessionView, status int, d targetsData) {
	ts, err := u.svc.ListTargets(r.Context())
	if err != nil {
		u.renderError(w, r, sv, fmt.Errorf("list targets: %w", err))
		return
	}
	byTarget := u.integrationsByTarget(r)
	for _, t := range ts {
		row := targetRow{Target: t}
		if v, ok := byTarget[t.ID]; ok {
			row.ProjectKey, row.IntegrationID = v.ProjectKey, v.ID
		}
		d.Targets = append(d.Targets, row)
	}
	u.render(w, r, sv, status, "targets", "Targets", "targets", d)
}

func (u *ui) handleTargets(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	u.targetsPage(w, r, sv, http.StatusOK, targetsData{})
}

func (u *ui) handleCreateTarget(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	in := tracker.Target{Name: r.PostFormValue("name"), Description: r.PostFormValue("description"), URL: r.PostFormValue("url")}
	t, err := u.svc.CreateTarget(r.Context(), in)
	if err != nil {
		p := u.explain(r, err)
		u.targetsPage(w, r, sv, p.Status, targetsData{Form: in, Errors: p.Fields, Message: p.Message})
		return
	}
	u.sessions.addFlash(sv.ID, "ok", fmt.Sprintf("Target %q created.", t.Name))
	seeOther(w, r, "/targets/"+url.PathEscape(t.ID))
}

// --- A target's items ------------------------------------------------------------

type itemRow struct {
	tracker.Item
	Jira *tracker.JiraRef
	// Overdue: open or in progress past its due date (today, UTC).
	Overdue bool
	// Select shows the row's checkbox of the bulk edit.
	Select bool
	// ParentTitle names a finding's vulnerability where the list shows
	// findings as rows of their own (a search or a filter).
	ParentTitle string
}

type newItemForm struct {
	Kind        string
	Title       string
	Severity    string
	Status      string
	ParentID    string
	Description string
}

type targetData struct {
	Target      tracker.Target
	Integration *integration.View
	List        listView
	Kinds       []string
	Severities  []tracker.Severity
	Statuses    []tracker.Status
	// Settable are the statuses the signed-in person may give an item
	// (the bulk edit and the new item form): accepted risk and false
	// positive only for admins, others request an acceptance.
	Settable []tracker.Status
	Parents  []tracker.Item
	Form     newItemForm
	Errors   map[string]string
	Message  string
	// The scanner import form and the target's latest imports.
	Imports       []tracker.Import
	ImportFormats []string
	ImportForm    importForm
	ImportErrors  map[string]string
	ImportMessage string
}

// rows attaches the linked Jira issues to items.
func (u *ui) rows(r *http.Request, items []tracker.Item) []itemRow {
	out := make([]itemRow, len(items))
	today := u.svc.Now().Format(time.DateOnly)
	for i, it := range items {
		out[i] = itemRow{Item: it, Overdue: it.Overdue(today)}
	}
	if u.cfg.Links == nil || len(items) == 0 {
		return out
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	links, err := u.cfg.Links(r.Context(), ids)
	if err != nil {
		u.log.WarnContext(r.Context(), "look up jira links", "err", err)
		return out
	}
	for i := range out {
		if ref, ok := links[out[i].ID]; ok {
			out[i].Jira = &ref
		}
	}
	return out
}

func (u *ui) targetPage(w http.ResponseWriter, r *http.Request, sv *sessionView, status int, d targetData) {
	ctx := r.Context()
	id := r.PathValue("id")
	t, err := u.svc.GetTarget(ctx, id)
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	d.Target = t
	q := r.URL.Query()
	lq, err := parseListQuery(q)
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	if d.List, err = u.loadList(r, sv, id, lq); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	cat, err := u.svc.Catalog(ctx)
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	d.Kinds = kindNames(cat)
	d.Severities, d.Statuses = tracker.Severities, tracker.Statuses
	d.Settable = settableStatuses(sv.Actor, tracker.Statuses, "")
	parents, err := u.svc.ListItems(ctx, store.ItemFilter{TargetID: id, Kind: tracker.KindVulnerability, Limit: 500})
	if err == nil {
		d.Parents = parents.Items
	}
	if v, ok := u.integrationsByTarget(r)[id]; ok {
		d.Integration = &v
	}
	if d.Imports, err = u.svc.ListImports(ctx, id, "", 10); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	d.ImportFormats = importFormats()
	if d.ImportForm.Format == "" {
		d.ImportForm.Format = string(scanreport.SARIF)
	}
	if d.Form.Kind == "" {
		d.Form = newItemForm{Kind: tracker.KindVulnerability, Severity: string(tracker.SeverityMedium), Status: string(tracker.StatusOpen)}
		if parent := q.Get("parent"); parent != "" { // "Add a finding" on a vulnerability
			d.Form.Kind, d.Form.ParentID = tracker.KindFinding, parent
		}
	}
	u.render(w, r, sv, status, "target", t.Name, "targets", d)
}

// kindNames lists the built-in kinds first, then custom ones by name.
func kindNames(cat tracker.Catalog) []string {
	out := []string{tracker.KindVulnerability, tracker.KindFinding, tracker.KindRisk}
	var custom []string
	for name := range cat.Kinds {
		if name != tracker.KindVulnerability && name != tracker.KindFinding && name != tracker.KindRisk {
			custom = append(custom, name)
		}
	}
	sort.Strings(custom)
	return append(out, custom...)
}

func (u *ui) handleTarget(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	u.targetPage(w, r, sv, http.StatusOK, targetData{})
}

func (u *ui) handleCreateItem(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	f := newItemForm{Kind: r.PostFormValue("kind"), Title: r.PostFormValue("title"), Severity: r.PostFormValue("severity"),
		Status: r.PostFormValue("status"), ParentID: r.PostFormValue("parent_id"), Description: r.PostFormValue("description")}
	n := tracker.NewItem{Kind: f.Kind, Title: f.Title, Description: f.Description, Severity: tracker.Severity(f.Severity),
		Status: tracker.Status(f.Status)}
	if f.Kind == tracker.KindFinding {
		n.ParentID = f.ParentID
	}
	it, err := u.svc.CreateItem(r.Context(), actorOf(sv), r.PathValue("id"), n)
	if err != nil {
		p := u.explain(r, err)
		if p.Status == http.StatusNotFound {
			u.renderError(w, r, sv, err)
			return
		}
		u.targetPage(w, r, sv, p.Status, targetData{Form: f, Errors: p.Fields, Message: p.Message})
		return
	}
	u.sessions.addFlash(sv.ID, "ok", fmt.Sprintf("%s %q created.", kindLabel(it.Kind), it.Title))
	seeOther(w, r, "/items/"+url.PathEscape(it.ID))
}

func kindLabel(kind string) string {
	if kind == "" {
		return ""
	}
	return strings.ToUpper(kind[:1]) + kind[1:]
}

// --- An item ---------------------------------------------------------------------

type fieldKV struct {
	Name  string
	Label string
	Value string
}

type itemData struct {
	Item         tracker.Item
	Target       tracker.Target
	Jira         *tracker.JiraRef
	Integration  *integration.View
	Parent       *tracker.Item
	Findings     []itemRow
	Fields       []fieldKV
	Comments     []tracker.Comment
	Attachments  []tracker.Attachment
	History      []historyRow
	Edit         *editForm
	Events       []logRow
	EventsShown  bool
	EventsError  string
	Severities   []tracker.Severity
	Statuses     []tracker.Status
	MaxUpload    int64
	CommentBody  string
	Errors       map[string]string
	Message      string
	ErrorSection string // which form the Errors belong to
	CanEdit      bool   // the person may edit and delete the item
}

func (u *ui) itemPage(w http.ResponseWriter, r *http.Request, sv *sessionView, status int, d itemData) {
	ctx := r.Context()
	it, err := u.svc.GetItem(ctx, r.PathValue("id"))
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	d.Item = it
	if d.Target, err = u.svc.GetTarget(ctx, it.TargetID); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	if it.ParentID != "" {
		if p, err := u.svc.GetItem(ctx, it.ParentID); err == nil {
			d.Parent = &p
		}
	}
	if it.Kind == tracker.KindVulnerability {
		kids, err := u.svc.ListItems(ctx, store.ItemFilter{TargetID: it.TargetID, ParentID: it.ID, Limit: 500})
		if err != nil {
			u.renderError(w, r, sv, err)
			return
		}
		d.Findings = u.rows(r, kids.Items)
	}
	if rows := u.rows(r, []tracker.Item{it}); rows[0].Jira != nil {
		d.Jira = rows[0].Jira
	}
	names := make([]string, 0, len(it.Fields))
	for k := range it.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		d.Fields = append(d.Fields, fieldKV{Name: k, Label: fieldLabel(k), Value: displayValue(it.Fields[k])})
	}
	if d.Comments, err = u.svc.Comments(ctx, it.ID); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	if d.Attachments, err = u.svc.Attachments(ctx, it.ID); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	hist, err := u.svc.History(ctx, it.ID)
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	d.History = historyRows(hist)
	if d.Edit == nil {
		cat, err := u.svc.Catalog(ctx)
		if err != nil {
			u.renderError(w, r, sv, err)
			return
		}
		f := newEditForm(cat, it)
		d.Edit = &f
	}
	if d.Edit.Users, err = u.svc.AssignableUsers(ctx); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	for i, f := range d.Edit.Fields {
		if f.Input == "assignee" && f.Value != "" {
			d.Edit.Fields[i].Unknown = !slices.ContainsFunc(d.Edit.Users, func(u tracker.User) bool { return u.Email == f.Value })
		}
	}
	if k, ok := u.kindDef(ctx, it.Kind); ok {
		d.Edit.Statuses = settableStatuses(sv.Actor, k.Statuses, it.Status)
	} else {
		d.Edit.Statuses = settableStatuses(sv.Actor, tracker.Statuses, it.Status)
	}
	if v, ok := u.integrationsByTarget(r)[it.TargetID]; ok {
		d.Integration = &v
		if u.cfg.SyncEvents != nil {
			d.EventsShown = true
			evs, err := u.cfg.SyncEvents(ctx, v.ID, it.ID)
			if err != nil {
				u.log.WarnContext(ctx, "list sync events of an item", "item", it.ID, "err", err)
				d.EventsError = "The sync log could not be read right now."
			}
			d.Events, _ = readLog(evs)
		}
	}
	d.Severities, d.Statuses = tracker.Severities, tracker.Statuses
	d.MaxUpload = u.svc.MaxAttachmentBytes()
	d.CanEdit = canWrite(sv)
	u.render(w, r, sv, status, "item", it.Title, "targets", d)
}

func (u *ui) handleItem(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	u.itemPage(w, r, sv, http.StatusOK, itemData{})
}

func (u *ui) handleAddComment(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	body := r.PostFormValue("body")
	if _, err := u.svc.AddCommentNote(r.Context(), actorOf(sv), r.PathValue("id"), body, r.PostFormValue("internal") != ""); err != nil {
		p := u.explain(r, err)
		if p.Status == http.StatusNotFound {
			u.renderError(w, r, sv, err)
			return
		}
		u.itemPage(w, r, sv, p.Status, itemData{CommentBody: body, Errors: p.Fields, Message: p.Message, ErrorSection: "comment"})
		return
	}
	u.sessions.addFlash(sv.ID, "ok", "Comment added.")
	seeOther(w, r, "/items/"+url.PathEscape(r.PathValue("id"))+"#comments")
}

// handleUpload stores the file of the upload form. checkPost has already
// bounded the body by the attachment limit.
func (u *ui) handleUpload(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	fail := func(err error) {
		p := u.explain(r, err)
		if p.Status == http.StatusNotFound {
			u.renderError(w, r, sv, err)
			return
		}
		u.itemPage(w, r, sv, p.Status, itemData{Errors: p.Fields, Message: p.Message, ErrorSection: "upload"})
	}
	if r.MultipartForm == nil || len(r.MultipartForm.File["file"]) == 0 {
		fail(&tracker.Error{Kind: tracker.EInvalid, Message: "invalid upload", Fields: map[string]string{"file": "choose a file to upload"}})
		return
	}
	fh := r.MultipartForm.File["file"][0]
	limit := u.svc.MaxAttachmentBytes()
	if fh.Size > limit {
		fail(tracker.Errorf(tracker.ETooLarge, "the file is larger than the limit of %s", humanBytes(limit)))
		return
	}
	f, err := fh.Open()
	if err != nil {
		fail(fmt.Errorf("open upload: %w", err))
		return
	}
	defer f.Close()
	content := make([]byte, fh.Size)
	if _, err := io.ReadFull(f, content); err != nil {
		fail(fmt.Errorf("read upload: %w", err))
		return
	}
	ct := fh.Header.Get("Content-Type")
	if _, _, perr := mime.ParseMediaType(ct); perr != nil {
		ct = ""
	}
	a, err := u.svc.AddAttachment(r.Context(), actorOf(sv), r.PathValue("id"), fh.Filename, ct, content)
	if err != nil {
		fail(err)
		return
	}
	u.sessions.addFlash(sv.ID, "ok", fmt.Sprintf("Attached %s (%s).", a.Filename, humanBytes(a.Size)))
	seeOther(w, r, "/items/"+url.PathEscape(r.PathValue("id"))+"#attachments")
}

// handleDownload serves an attachment as a download, never inline: its
// content is untrusted.
func (u *ui) handleDownload(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	a, content, err := u.svc.Attachment(r.Context(), r.PathValue("id"))
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename}))
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	w.Header().Set("Content-Security-Policy", "sandbox")
	_, _ = w.Write(content)
}

// displayValue shows a typed field value or a history value (JSON text) as
// plain text.
func displayValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		if x == "" {
			return "—"
		}
		var decoded any
		if (strings.HasPrefix(x, `"`) || strings.HasPrefix(x, "[") || strings.HasPrefix(x, "{")) && json.Unmarshal([]byte(x), &decoded) == nil {
			return displayValue(decoded)
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = displayValue(e)
		}
		return strings.Join(parts, ", ")
	case []string:
		return strings.Join(x, ", ")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// settableStatuses is all without accepted_risk and false_positive for a
// person below admin (the service refuses them: for such a person they are
// the outcome of an approved acceptance request), keeping current so that
// an item already there shows where it is.
func settableStatuses(actor *service.Actor, all []tracker.Status, current tracker.Status) []tracker.Status {
	if actor != nil && actor.Role == tracker.RoleAdmin {
		return all
	}
	out := make([]tracker.Status, 0, len(all))
	for _, st := range all {
		if st == current || (st != tracker.StatusAcceptedRisk && st != tracker.StatusFalsePositive) {
			out = append(out, st)
		}
	}
	return out
}
