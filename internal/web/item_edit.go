package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Editing an item in the browser (issue 15): every attribute and every
// typed field of the catalog (built-in and custom) has an input matching
// its type. The form only turns what was typed into a tracker.Patch; the
// service validates it exactly as it validates the API's (the catalog's
// field rules, the CVSS vector, the assignee), and a refused form comes
// back with what was typed and each error next to its field.

// editField is one typed field of the edit form.
type editField struct {
	Name    string
	Label   string
	Type    tracker.FieldType
	Input   string // "text", "number", "date", "url", "email", "select", "multiselect", "textarea", "assignee"
	Value   string
	Values  map[string]bool // multiselect
	Options []string
	Min     string
	Max     string
	Hint    string
	Error   string
	// Unknown: an assignee who is not an active vulnsync user (set from
	// Jira, or deactivated since), kept as a choice so saving keeps it.
	Unknown bool
}

// editForm is the item's edit form, as the item is or as it was typed.
type editForm struct {
	Title       string
	Description string
	Severity    string
	Status      string
	Statuses    []tracker.Status // those the item's kind allows
	Fields      []editField
	Users       []tracker.User
	Errors      map[string]string
	Message     string
}

// fieldLabels names the built-in fields for people.
var fieldLabels = map[string]string{
	"cvss_score": "CVSS score", "cvss_vector": "CVSS vector", "cwe": "CWE", "asset_id": "Asset",
	"assignee_email": "Assignee", "due_date": "Due date", "references": "References", "labels": "Labels",
	"location": "Location", "remediation": "Remediation",
}

func fieldLabel(name string) string {
	if l, ok := fieldLabels[name]; ok {
		return l
	}
	return enumLabel(name)
}

// orderedFields lists the catalog's fields: the built-in ones in their
// usual order, then the custom ones by name.
func orderedFields(cat tracker.Catalog) []tracker.FieldDef {
	var out []tracker.FieldDef
	for _, f := range tracker.BuiltInFields() {
		if d, ok := cat.Fields[f.Name]; ok {
			out = append(out, d)
		}
	}
	var custom []tracker.FieldDef
	for _, d := range cat.Fields {
		if !d.BuiltIn {
			custom = append(custom, d)
		}
	}
	slices.SortFunc(custom, func(a, b tracker.FieldDef) int { return strings.Compare(a.Name, b.Name) })
	return append(out, custom...)
}

// fieldText shows a stored value in its input.
func fieldText(d tracker.FieldDef, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, fmt.Sprint(e))
		}
		sep := " "
		if d.Type == tracker.TypeURLList {
			sep = "\n"
		}
		return strings.Join(parts, sep)
	case []string:
		sep := " "
		if d.Type == tracker.TypeURLList {
			sep = "\n"
		}
		return strings.Join(x, sep)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// newEditForm is the form of an item as stored.
func newEditForm(cat tracker.Catalog, it tracker.Item) editForm {
	f := editForm{Title: it.Title, Description: it.Description, Severity: string(it.Severity), Status: string(it.Status)}
	for _, d := range orderedFields(cat) {
		ef := editField{Name: d.Name, Label: fieldLabel(d.Name), Type: d.Type, Options: d.Options, Value: fieldText(d, it.Fields[d.Name])}
		switch d.Type {
		case tracker.TypeNumber:
			ef.Input = "number"
			if d.Min != nil {
				ef.Min = strconv.FormatFloat(*d.Min, 'f', -1, 64)
			}
			if d.Max != nil {
				ef.Max = strconv.FormatFloat(*d.Max, 'f', -1, 64)
			}
		case tracker.TypeDate:
			ef.Input = "date"
		case tracker.TypeURL:
			ef.Input = "url"
		case tracker.TypeEmail:
			ef.Input = "email"
		case tracker.TypeSelect:
			ef.Input = "select"
		case tracker.TypeMultiSelect:
			ef.Input = "multiselect"
			ef.Values = map[string]bool{}
			switch vs := it.Fields[d.Name].(type) {
			case []any:
				for _, s := range vs {
					ef.Values[fmt.Sprint(s)] = true
				}
			case []string:
				for _, s := range vs {
					ef.Values[s] = true
				}
			}
		case tracker.TypeURLList:
			ef.Input, ef.Hint = "textarea", "one URL per line"
		case tracker.TypeLabels:
			ef.Input, ef.Hint = "text", "separated by spaces"
		default:
			ef.Input = "text"
		}
		switch d.Name {
		case service.AssigneeField:
			ef.Input = "assignee"
		case "remediation":
			ef.Input = "textarea"
		case "cvss_vector":
			ef.Hint = "e.g. CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H; sets the score when the score is left as it was"
		}
		f.Fields = append(f.Fields, ef)
	}
	return f
}

// patchFromForm turns the posted edit form into a patch of it, and the
// form as typed (to show again if refused). Only the inputs the form had
// are read: a form naming no typed field (an older page, a script)
// changes only what it sends.
func patchFromForm(r *http.Request, cat tracker.Catalog, it tracker.Item, form editForm) (tracker.Patch, editForm) {
	var p tracker.Patch
	pf := r.PostForm
	// Only what differs from the item goes into the patch, so that an
	// untouched form is "nothing changed".
	if vs, ok := pf["title"]; ok {
		form.Title = vs[0]
		if strings.TrimSpace(vs[0]) != it.Title {
			p.Title = &vs[0]
		}
	}
	if vs, ok := pf["description"]; ok {
		// Browsers send a textarea's lines with CRLF: the same text is
		// no change.
		d := strings.ReplaceAll(vs[0], "\r\n", "\n")
		form.Description = d
		if d != strings.ReplaceAll(it.Description, "\r\n", "\n") {
			p.Description = &d
		}
	}
	if v := pf.Get("severity"); v != "" {
		s := tracker.Severity(v)
		form.Severity = v
		if s != it.Severity {
			p.Severity = &s
		}
	}
	if v := pf.Get("status"); v != "" {
		s := tracker.Status(v)
		form.Status = v
		if s != it.Status {
			p.Status = &s
		}
	}
	present := map[string]bool{}
	for _, n := range pf["field"] {
		present[n] = true
	}
	for i := range form.Fields {
		ef := &form.Fields[i]
		d, ok := cat.Fields[ef.Name]
		if !ok || !present[ef.Name] {
			continue
		}
		var v any
		switch d.Type {
		case tracker.TypeMultiSelect:
			vals := pf["fields."+ef.Name]
			ef.Values = map[string]bool{}
			list := make([]any, 0, len(vals))
			for _, s := range vals {
				ef.Values[s] = true
				list = append(list, s)
			}
			if len(list) > 0 {
				v = list
			}
		default:
			typed := strings.ReplaceAll(pf.Get("fields."+ef.Name), "\r\n", "\n")
			ef.Value = typed
			raw := strings.TrimSpace(typed)
			if old, had := it.Fields[ef.Name]; had && raw == strings.TrimSpace(fieldText(d, old)) {
				continue // as it was, give or take spaces around it
			}
			switch {
			case raw == "":
			case d.Type == tracker.TypeNumber:
				if n, err := strconv.ParseFloat(raw, 64); err == nil {
					v = n
				} else {
					v = raw // the catalog says "must be a number"
				}
			case d.Type == tracker.TypeURLList || d.Type == tracker.TypeLabels:
				list := []any{}
				for _, s := range strings.Fields(raw) {
					list = append(list, s)
				}
				v = list
			default:
				v = raw
			}
		}
		old, had := it.Fields[ef.Name]
		switch {
		case v == nil && !had:
			continue
		case v != nil && had && tracker.Equal(old, v):
			continue
		}
		if p.Fields == nil {
			p.Fields = map[string]any{}
		}
		p.Fields[ef.Name] = v
	}
	// (A changed vector with the score as it was: the score is not in the
	// patch, so the service scores the vector.)
	return p, form
}

// handleUpdateItem applies the edit form.
func (u *ui) handleUpdateItem(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	ctx := r.Context()
	it, err := u.svc.GetItem(ctx, r.PathValue("id"))
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	cat, err := u.svc.Catalog(ctx)
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	patch, form := patchFromForm(r, cat, it, newEditForm(cat, it))
	if patch.Empty() {
		if len(r.PostForm["field"]) > 0 || r.PostForm.Has("title") || r.PostForm.Has("status") || r.PostForm.Has("severity") {
			u.sessions.addFlash(sv.ID, "ok", "Nothing changed.")
			seeOther(w, r, "/items/"+url.PathEscape(it.ID))
			return
		}
		form.Message = "Choose a status or a severity."
		u.itemPage(w, r, sv, http.StatusBadRequest, itemData{Edit: &form, Message: form.Message, ErrorSection: "update"})
		return
	}
	if _, err := u.svc.UpdateItem(ctx, actorOf(sv), it.ID, patch); err != nil {
		p := u.explain(r, err)
		if p.Status == http.StatusNotFound {
			u.renderError(w, r, sv, err)
			return
		}
		form.Errors, form.Message = p.Fields, p.Message
		for i := range form.Fields {
			form.Fields[i].Error = p.Fields["fields."+form.Fields[i].Name]
		}
		u.itemPage(w, r, sv, p.Status, itemData{Edit: &form, Errors: p.Fields, Message: p.Message, ErrorSection: "update"})
		return
	}
	u.sessions.addFlash(sv.ID, "ok", "Item updated.")
	seeOther(w, r, "/items/"+url.PathEscape(it.ID))
}

// --- Delete, with a confirmation page ------------------------------------------------

type deleteData struct {
	Item     tracker.Item
	Target   tracker.Target
	Findings int  // findings deleted with a vulnerability
	More     bool // more than Findings
}

// handleDeletePage asks to confirm a delete (a page, so that it works
// without JavaScript), saying what goes with the item.
func (u *ui) handleDeletePage(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	ctx := r.Context()
	it, err := u.svc.GetItem(ctx, r.PathValue("id"))
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	d := deleteData{Item: it}
	if d.Target, err = u.svc.GetTarget(ctx, it.TargetID); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	if it.Kind == tracker.KindVulnerability {
		n, err := u.svc.CountItems(ctx, store.ItemFilter{TargetID: it.TargetID, ParentID: it.ID}, store.MaxItemCount)
		if err != nil {
			u.renderError(w, r, sv, err)
			return
		}
		d.Findings, d.More = min(n, store.MaxItemCount), n > store.MaxItemCount
	}
	u.render(w, r, sv, http.StatusOK, "delete", "Delete "+it.Title, "targets", d)
}

// handleDeleteItem deletes the item (and a vulnerability's findings).
func (u *ui) handleDeleteItem(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	ctx := r.Context()
	it, err := u.svc.GetItem(ctx, r.PathValue("id"))
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		seeOther(w, r, "/items/"+url.PathEscape(it.ID)+"/delete")
		return
	}
	if err := u.svc.DeleteItem(ctx, actorOf(sv), it.ID); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	u.sessions.addFlash(sv.ID, "ok", fmt.Sprintf("%s %q deleted.", kindLabel(it.Kind), it.Title))
	seeOther(w, r, "/targets/"+url.PathEscape(it.TargetID))
}

// --- History -------------------------------------------------------------------------

// historyRow is a history entry as shown: long or multi-line text as a
// line diff, anything else as old → new.
type historyRow struct {
	tracker.HistoryEntry
	Label    string
	OldShown string
	NewShown string
	Diff     []diffLine
}

// longText is text shown as a diff rather than inline.
func longText(s string) bool { return strings.Contains(s, "\n") || len(s) > 120 }

func historyRows(hs []tracker.HistoryEntry) []historyRow {
	out := make([]historyRow, len(hs))
	for i, h := range hs {
		out[i] = historyRow{HistoryEntry: h, Label: fieldLabel(h.Field), OldShown: displayValue(h.Old), NewShown: displayValue(h.New)}
		if h.Field == "status" || h.Field == "severity" || h.Field == "kind" {
			for _, v := range []*string{&out[i].OldShown, &out[i].NewShown} {
				if *v != "—" {
					*v = enumLabel(*v)
				}
			}
		}
		old, new := textOf(h.Old), textOf(h.New)
		if longText(old) || longText(new) {
			out[i].Diff = lineDiff(old, new)
		}
	}
	return out
}

// textOf decodes a history value that is a JSON string.
func textOf(v string) string {
	var s string
	if strings.HasPrefix(v, `"`) && json.Unmarshal([]byte(v), &s) == nil {
		return s
	}
	return v
}

// kindDef reads the definition of a kind (the statuses it allows).
func (u *ui) kindDef(ctx context.Context, kind string) (tracker.KindDef, bool) {
	cat, err := u.svc.Catalog(ctx)
	if err != nil {
		return tracker.KindDef{}, false
	}
	k, ok := cat.Kinds[kind]
	return k, ok
}
