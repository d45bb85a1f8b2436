package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// The target page's item list (issue 15): text search, a sort by any
// column, findings nested under their vulnerability, page numbers with a
// total, bulk edit and CSV export of the current filter.

// listPageSize is the number of top-level rows of a list page.
const listPageSize = 50

// nestedFindings is how many findings a vulnerability shows in the list;
// its own page lists them all.
const nestedFindings = 5

// listQuery is the list's state as the URL carries it.
type listQuery struct {
	Kind     string
	Severity string
	Status   string
	Overdue  bool
	Q        string
	Sort     string // "" or a store.ItemSort
	Desc     bool
	Cursor   string
	Page     int // the number of the page the cursor leads to
}

// filtered reports whether anything narrows the list.
func (q listQuery) filtered() bool {
	return q.Kind != "" || q.Severity != "" || q.Status != "" || q.Overdue || strings.TrimSpace(q.Q) != ""
}

// nested reports whether findings are listed under their vulnerability:
// when browsing. A search or a filter lists every item it matches as a
// row, findings included, so that none hides under a parent that does not
// match.
func (q listQuery) nested() bool { return !q.filtered() }

// values encodes q, without its cursor and page when first.
func (q listQuery) values(first bool) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("kind", q.Kind)
	set("severity", q.Severity)
	set("status", q.Status)
	if q.Overdue {
		v.Set("overdue", "true")
	}
	set("q", q.Q)
	set("sort", q.Sort)
	if q.Desc {
		v.Set("order", "desc")
	}
	if !first {
		set("cursor", q.Cursor)
		if q.Page > 1 {
			v.Set("page", strconv.Itoa(q.Page))
		}
	}
	return v
}

// parseListQuery reads the list's state from a URL, refusing what the
// list cannot show.
func parseListQuery(v url.Values) (listQuery, error) {
	q := listQuery{Kind: v.Get("kind"), Severity: v.Get("severity"), Status: v.Get("status"), Overdue: v.Get("overdue") == "true",
		Q: v.Get("q"), Sort: v.Get("sort"), Desc: v.Get("order") == "desc", Cursor: v.Get("cursor"), Page: 1}
	p := tracker.Problems{}
	if q.Severity != "" && !tracker.Severity(q.Severity).Valid() {
		p.Add("severity", "unknown severity %q", q.Severity)
	}
	if q.Status != "" && !tracker.Status(q.Status).Valid() {
		p.Add("status", "unknown status %q", q.Status)
	}
	if !store.ItemSort(q.Sort).Valid() {
		p.Add("sort", "unknown sort %q", q.Sort)
	}
	if o := v.Get("order"); o != "" && o != "asc" && o != "desc" {
		p.Add("order", "must be asc or desc")
	}
	if len(q.Cursor) > 2000 {
		p.Add("cursor", "too long")
	}
	if len(q.Q) > store.MaxSearchLen {
		p.Add("q", "the search must be at most %d characters", store.MaxSearchLen)
	}
	if s := v.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			p.Add("page", "must be a page number")
		}
		q.Page = max(n, 1)
	}
	if q.Cursor == "" {
		q.Page = 1
	}
	return q, p.Err(tracker.EInvalid, "invalid filter")
}

// filter is the store filter of q for a target.
func (u *ui) filter(targetID string, q listQuery) store.ItemFilter {
	f := store.ItemFilter{TargetID: targetID, Kind: q.Kind, Severity: tracker.Severity(q.Severity), Status: tracker.Status(q.Status),
		Search: q.Q, Sort: store.ItemSort(q.Sort), Desc: q.Desc, Cursor: q.Cursor, Limit: listPageSize, TopLevel: q.nested()}
	if q.Overdue {
		f.OverdueOn = u.svc.Now().Format(time.DateOnly)
	}
	return f
}

// listRow is a row of the list with, for a vulnerability, its first
// findings.
type listRow struct {
	Row          itemRow
	Findings     []itemRow
	MoreFindings bool
}

// sortHeader is a sortable column header: its link sorts by the column,
// the other way round when the list is already sorted by it.
type sortHeader struct {
	Label string
	URL   string
	Sort  string // "ascending", "descending" or "" (aria-sort)
}

// listView is what the template shows of the list.
type listView struct {
	Query    listQuery
	Rows     []listRow
	Nested   bool
	Headers  []sortHeader
	Total    string // "1,234" or "1,000+"
	Pages    string // "25" or "20+"
	PageNo   int
	FirstURL string
	PrevURL  string
	NextURL  string
	CSVURL   string
	BackURL  string // this page, for the bulk edit to return to
	Users    []tracker.User
	// CanEdit: the person may bulk-edit (analysts and admins); viewers
	// get no checkboxes.
	CanEdit bool
}

// loadList reads a page of the list of a target.
func (u *ui) loadList(r *http.Request, sv *sessionView, targetID string, q listQuery) (listView, error) {
	ctx := r.Context()
	base := "/targets/" + url.PathEscape(targetID)
	lv := listView{Query: q, Nested: q.nested(), PageNo: q.Page, CanEdit: canWrite(sv)}
	page, err := u.svc.ListItems(ctx, u.filter(targetID, q))
	if err != nil {
		return lv, err
	}
	rows := u.rows(r, page.Items)
	for _, row := range rows {
		row.Select = lv.CanEdit
		lr := listRow{Row: row}
		if lv.Nested && row.Kind == tracker.KindVulnerability {
			kids, err := u.svc.ListItems(ctx, store.ItemFilter{TargetID: targetID, ParentID: row.ID, Sort: store.ItemSort(q.Sort), Desc: q.Desc, Limit: nestedFindings})
			if err != nil {
				return lv, err
			}
			lr.Findings, lr.MoreFindings = u.rows(r, kids.Items), kids.NextCursor != ""
			for i := range lr.Findings {
				lr.Findings[i].Select = lv.CanEdit
			}
		}
		lv.Rows = append(lv.Rows, lr)
	}
	if !lv.Nested {
		parents := map[string]string{}
		for i := range lv.Rows {
			pid := lv.Rows[i].Row.ParentID
			if pid == "" {
				continue
			}
			if _, ok := parents[pid]; !ok {
				if p, err := u.svc.GetItem(ctx, pid); err == nil {
					parents[pid] = p.Title
				} else {
					parents[pid] = ""
				}
			}
			lv.Rows[i].Row.ParentTitle = parents[pid]
		}
	}
	// The total: the counters when nothing narrows the list, otherwise a
	// count that stops past store.MaxItemCount.
	total, capped := 0, false
	if !q.filtered() {
		counts, err := u.svc.TargetItemCounts(ctx, targetID)
		if err != nil {
			return lv, err
		}
		for _, c := range counts {
			if !lv.Nested || c.Kind != tracker.KindFinding {
				total += c.Count
			}
		}
	} else {
		f := u.filter(targetID, q)
		if total, err = u.svc.CountItems(ctx, f, store.MaxItemCount); err != nil {
			return lv, err
		}
		if total > store.MaxItemCount {
			total, capped = store.MaxItemCount, true
		}
	}
	pages := max((total+listPageSize-1)/listPageSize, 1)
	lv.Total, lv.Pages = thousands(total), strconv.Itoa(pages)
	if capped {
		lv.Total += "+"
		lv.Pages += "+"
	}
	link := func(v url.Values) string {
		if len(v) == 0 {
			return base
		}
		return base + "?" + v.Encode()
	}
	if q.Cursor != "" {
		lv.FirstURL = link(q.values(true))
	}
	if page.PrevCursor != "" && q.Page > 1 {
		prev := q
		prev.Cursor, prev.Page = page.PrevCursor, q.Page-1
		if prev.Page == 1 {
			prev.Cursor = ""
		}
		lv.PrevURL = link(prev.values(false))
	}
	if page.NextCursor != "" {
		next := q
		next.Cursor, next.Page = page.NextCursor, q.Page+1
		lv.NextURL = link(next.values(false))
	}
	lv.BackURL = link(q.values(false))
	lv.CSVURL = base + "/items.csv"
	if v := q.values(true); len(v) > 0 {
		lv.CSVURL += "?" + v.Encode()
	}
	for _, h := range []struct {
		label string
		sort  store.ItemSort
	}{{"Title", store.SortTitle}, {"Kind", store.SortKind}, {"Severity", store.SortSeverity}, {"Status", store.SortStatus}, {"Updated", store.SortUpdated}, {"Assignee", store.SortAssignee}} {
		hq := q
		hq.Sort, hq.Desc = string(h.sort), false
		sh := sortHeader{Label: h.label}
		if q.Sort == string(h.sort) {
			sh.Sort = "ascending"
			if q.Desc {
				sh.Sort = "descending"
			}
			hq.Desc = !q.Desc
		}
		sh.URL = link(hq.values(true))
		lv.Headers = append(lv.Headers, sh)
	}
	if lv.Users, err = u.svc.AssignableUsers(ctx); err != nil {
		return lv, err
	}
	return lv, nil
}

// canWrite reports whether the session's person may change items.
func canWrite(sv *sessionView) bool {
	return sv != nil && sv.Actor != nil && sv.Actor.Role.Allows(tracker.PermWrite)
}

// thousands writes n with comma separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// --- Bulk edit -------------------------------------------------------------------

type bulkRow struct {
	ItemID string
	Title  string
	OK     bool
	Error  string
}

type bulkData struct {
	Target  tracker.Target
	Changes []string
	Results []bulkRow
	Failed  int
	Changed int
	BackURL string
}

// handleBulkEdit sets the status, severity and/or assignee of the
// selected items, each through the same use case as a single edit, and
// shows what happened to each.
func (u *ui) handleBulkEdit(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	ctx := r.Context()
	t, err := u.svc.GetTarget(ctx, r.PathValue("id"))
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	d := bulkData{Target: t, BackURL: "/targets/" + url.PathEscape(t.ID)}
	if back := r.PostFormValue("back"); strings.HasPrefix(back, d.BackURL) && !strings.ContainsAny(back, "\r\n\\") {
		d.BackURL = back
	}
	var patch tracker.Patch
	if v := r.PostFormValue("status"); v != "" {
		s := tracker.Status(v)
		patch.Status = &s
		d.Changes = append(d.Changes, "status → "+label(v))
	}
	if v := r.PostFormValue("severity"); v != "" {
		s := tracker.Severity(v)
		patch.Severity = &s
		d.Changes = append(d.Changes, "severity → "+label(v))
	}
	switch v := r.PostFormValue("assignee"); v {
	case "":
	case "-":
		patch.Fields = map[string]any{service.AssigneeField: nil}
		d.Changes = append(d.Changes, "unassigned")
	default:
		patch.Fields = map[string]any{service.AssigneeField: v}
		d.Changes = append(d.Changes, "assignee → "+v)
	}
	results, err := u.svc.BulkUpdateItems(ctx, actorOf(sv), t.ID, r.PostForm["item"], patch)
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	for _, res := range results {
		row := bulkRow{ItemID: res.ItemID, Title: res.Title, OK: res.Err == nil}
		if res.Err != nil {
			p := u.explain(r, res.Err)
			row.Error = p.Message
			for _, m := range p.Fields {
				row.Error += ": " + m
			}
			d.Failed++
		} else {
			d.Changed++
		}
		d.Results = append(d.Results, row)
	}
	u.render(w, r, sv, http.StatusOK, "bulk", "Bulk edit", "targets", d)
}

// --- CSV export -------------------------------------------------------------------

// csvHeader names the export's columns.
var csvHeader = []string{"id", "kind", "parent_id", "title", "severity", "status", "assignee", "due_date", "cvss_score", "cvss_vector", "cwe", "asset_id", "jira_key", "created_at", "updated_at", "description"}

// csvSafe defuses a cell a spreadsheet would run as a formula (CSV
// injection): a cell starting with = + - @ (or a tab or carriage return)
// gets a leading apostrophe.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// handleExportCSV streams every item of the current filter as CSV, a page
// at a time (findings are rows, as in a search).
func (u *ui) handleExportCSV(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	ctx := r.Context()
	id := r.PathValue("id")
	t, err := u.svc.GetTarget(ctx, id)
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	q, err := parseListQuery(r.URL.Query())
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	q.Cursor = ""
	f := u.filter(id, q)
	f.TopLevel, f.Limit = false, store.MaxPageSize
	// The first page is read before the answer starts, so that a bad
	// filter is still an error page.
	page, err := u.svc.ListItems(ctx, f)
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	name := strings.Map(func(r rune) rune {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return r
		}
		return '-'
	}, t.Name)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-items.csv"`, name))
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	flusher, _ := w.(http.Flusher)
	for {
		for _, row := range u.rows(r, page.Items) {
			it := row.Item
			str := func(k string) string {
				if v, ok := it.Fields[k]; ok {
					return displayValue(v)
				}
				return ""
			}
			jira := ""
			if row.Jira != nil {
				jira = row.Jira.Key
			}
			rec := []string{it.ID, it.Kind, it.ParentID, it.Title, string(it.Severity), string(it.Status), str("assignee_email"), str("due_date"),
				str("cvss_score"), str("cvss_vector"), str("cwe"), str("asset_id"), jira,
				it.CreatedAt.UTC().Format(time.RFC3339), it.UpdatedAt.UTC().Format(time.RFC3339), it.Description}
			for i := range rec {
				rec[i] = csvSafe(rec[i])
			}
			if err := cw.Write(rec); err != nil {
				return
			}
		}
		cw.Flush()
		if cw.Error() != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		if page.NextCursor == "" {
			return
		}
		f.Cursor = page.NextCursor
		if page, err = u.svc.ListItems(ctx, f); err != nil {
			// The answer has started: end it short and say why in the log.
			u.log.WarnContext(ctx, "export items: read a page", "target", id, "err", err)
			return
		}
	}
}
