package jirasim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// This file serves the simulator's pages: a project's issue list
// (/projects/{key}) and an issue (/browse/{key}, Jira's own issue URL) where
// a person transitions, comments and edits fields from a browser, so the
// demo can be driven like Jira. Every page reads and every form writes
// through the simulator's own REST operations as the seed user "dev": a
// change made here is the same change, with the same webhook, counters and
// injected faults, as the demo's printed curl lines make. The pages have no
// sign-in, like the rest of the simulator, which is a local test tool; a
// form posted from another origin is refused.

// isPagePath reports whether a path is one of the pages; others go to the
// REST API.
func isPagePath(p string) bool {
	return p == "/" || strings.HasPrefix(p, "/browse/") || strings.HasPrefix(p, "/projects/")
}

// servePages routes the page requests.
func (s *Simulator) servePages(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && !sameOrigin(r) {
		http.Error(w, "cross-origin form posts are refused", http.StatusForbidden)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.URL.Path == "/" && r.Method == http.MethodGet:
		http.Redirect(w, r, "/projects/"+ProjectKey, http.StatusSeeOther)
	case parts[0] == "projects" && len(parts) == 2 && r.Method == http.MethodGet:
		s.projectPage(w, r, parts[1])
	case parts[0] == "browse" && len(parts) == 2 && r.Method == http.MethodGet:
		s.issuePage(w, r, parts[1], "", http.StatusOK)
	case parts[0] == "browse" && len(parts) == 3 && r.Method == http.MethodPost:
		s.issueAction(w, r, parts[1], parts[2])
	default:
		http.NotFound(w, r)
	}
}

// sameOrigin reports whether a form post comes from the simulator's own
// pages (browsers send Origin on POST; tools that send none are let in).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return r.Header.Get("Sec-Fetch-Site") == "" || r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// pageRecorder keeps the answer of an internal REST call.
type pageRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (p *pageRecorder) Header() http.Header { return p.header }
func (p *pageRecorder) WriteHeader(code int) {
	if p.code == 0 {
		p.code = code
	}
}
func (p *pageRecorder) Write(b []byte) (int, error) {
	if p.code == 0 {
		p.code = http.StatusOK
	}
	return p.body.Write(b)
}

// asDev calls one of the simulator's REST operations as the user dev (REST
// v2, whose texts are wiki strings on Cloud and Data Center alike) and
// decodes the answer into out. A refusal comes back as an error carrying
// Jira's own messages.
func (s *Simulator) asDev(r *http.Request, method, path string, body, out any) error {
	var rd bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&rd).Encode(body); err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), method, path, &rd)
	if err != nil {
		return fmt.Errorf("build %s %s: %w", method, path, err)
	}
	req.Host, req.RemoteAddr = r.Host, r.RemoteAddr
	req.Header.Set("Content-Type", "application/json")
	s.mu.RLock()
	for _, u := range s.users {
		if u.Name == DevUsername {
			if s.dc {
				req.Header.Set("Authorization", "Bearer "+u.PAT)
			} else {
				req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Email+":"+u.APIToken)))
			}
		}
	}
	s.mu.RUnlock()
	rec := &pageRecorder{header: http.Header{}}
	s.ServeHTTP(rec, req)
	if rec.code >= 300 {
		var e struct {
			Messages []string          `json:"errorMessages"`
			Errors   map[string]string `json:"errors"`
		}
		_ = json.Unmarshal(rec.body.Bytes(), &e)
		msgs := append([]string{}, e.Messages...)
		keys := make([]string, 0, len(e.Errors))
		for k := range e.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			msgs = append(msgs, k+": "+e.Errors[k])
		}
		if len(msgs) == 0 {
			msgs = []string{strings.TrimSpace(rec.body.String())}
		}
		return fmt.Errorf("%s %s: %d %s", method, path, rec.code, strings.Join(msgs, "; "))
	}
	if out != nil && rec.body.Len() > 0 {
		if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
			return fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return nil
}

type pageName struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Key   string `json:"key"`
}

type pageUser struct {
	DisplayName string `json:"displayName"`
}

// pageIssue is the part of an issue (REST v2) the pages show.
type pageIssue struct {
	Key    string `json:"key"`
	Fields struct {
		Summary     string     `json:"summary"`
		Description string     `json:"description"`
		Status      pageName   `json:"status"`
		Priority    *pageName  `json:"priority"`
		IssueType   pageName   `json:"issuetype"`
		Parent      *pageName  `json:"parent"`
		Resolution  *pageName  `json:"resolution"`
		Labels      []string   `json:"labels"`
		CVSS        *float64   `json:"customfield_10050"`
		AssetID     string     `json:"customfield_10051"`
		Component   *pageName  `json:"customfield_10052"`
		Updated     string     `json:"updated"`
		Subtasks    []pageName `json:"subtasks"`
		Comment     struct {
			Comments []struct {
				Author  pageUser `json:"author"`
				Body    string   `json:"body"`
				Created string   `json:"created"`
				// Visibility is set on a restricted comment.
				Visibility *struct {
					Type  string `json:"type"`
					Value string `json:"value"`
				} `json:"visibility"`
			} `json:"comments"`
		} `json:"comment"`
		Attachment []struct {
			Filename string `json:"filename"`
			Size     int64  `json:"size"`
		} `json:"attachment"`
	} `json:"fields"`
}

// pageTransition is a transition the issue can take, with whether its
// screen asks for a resolution.
type pageTransition struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	To     pageName `json:"to"`
	Fields map[string]struct {
		Required      bool       `json:"required"`
		AllowedValues []pageName `json:"allowedValues"`
	} `json:"fields"`
}

// NeedsResolution reports whether the transition's screen requires one.
func (t pageTransition) NeedsResolution() bool { return t.Fields["resolution"].Required }

// Resolutions lists the resolutions the screen offers.
func (t pageTransition) Resolutions() []pageName { return t.Fields["resolution"].AllowedValues }

type issuePageData struct {
	Issue       pageIssue
	Transitions []pageTransition
	Priorities  []pageName
	Components  []string
	Labels      string
	CVSS        string
	Error       string
	Deployment  string
	Projects    []string // the keys of the other projects (move targets)
}

func (s *Simulator) deploymentName() string {
	if s.dc {
		return "Data Center"
	}
	return "Cloud"
}

func (s *Simulator) projectPage(w http.ResponseWriter, r *http.Request, key string) {
	var page struct {
		Issues []pageIssue `json:"issues"`
	}
	q := url.Values{"jql": {fmt.Sprintf("project = %q ORDER BY key ASC", key)}, "fields": {"summary,status,priority,issuetype,parent,updated"}, "maxResults": {"100"}}
	path := "/rest/api/2/search/jql?"
	if s.dc {
		path = "/rest/api/2/search?"
	}
	err := s.asDev(r, http.MethodGet, path+q.Encode(), nil, &page)
	data := map[string]any{"Key": key, "Issues": page.Issues, "Deployment": s.deploymentName()}
	status := http.StatusOK
	if err != nil {
		data["Error"], status = err.Error(), http.StatusNotFound
	}
	renderPage(w, status, "project", data)
}

func (s *Simulator) issuePage(w http.ResponseWriter, r *http.Request, key, problem string, status int) {
	d := issuePageData{Error: problem, Deployment: s.deploymentName()}
	if err := s.asDev(r, http.MethodGet, "/rest/api/2/issue/"+url.PathEscape(key), nil, &d.Issue); err != nil {
		renderPage(w, http.StatusNotFound, "issue", issuePageData{Error: err.Error(), Deployment: d.Deployment})
		return
	}
	var ts struct {
		Transitions []pageTransition `json:"transitions"`
	}
	if err := s.asDev(r, http.MethodGet, "/rest/api/2/issue/"+url.PathEscape(key)+"/transitions?expand=transitions.fields", nil, &ts); err != nil && d.Error == "" {
		d.Error = err.Error()
	}
	d.Transitions = ts.Transitions
	if err := s.asDev(r, http.MethodGet, "/rest/api/2/priority", nil, &d.Priorities); err != nil && d.Error == "" {
		d.Error = err.Error()
	}
	for _, o := range fieldByID["customfield_10052"].Options {
		d.Components = append(d.Components, o.Value)
	}
	for _, p := range allProjects {
		if !strings.HasPrefix(d.Issue.Key, p.Key+"-") {
			d.Projects = append(d.Projects, p.Key)
		}
	}
	d.Labels = strings.Join(d.Issue.Fields.Labels, " ")
	if c := d.Issue.Fields.CVSS; c != nil {
		d.CVSS = strconv.FormatFloat(*c, 'f', -1, 64)
	}
	renderPage(w, status, "issue", d)
}

// issueAction performs a form's action through the REST API, then shows
// the issue again (303 on success; the page with Jira's refusal otherwise).
func (s *Simulator) issueAction(w http.ResponseWriter, r *http.Request, key, action string) {
	if err := r.ParseForm(); err != nil {
		s.issuePage(w, r, key, "read the form: "+err.Error(), http.StatusBadRequest)
		return
	}
	base := "/rest/api/2/issue/" + url.PathEscape(key)
	var err error
	switch action {
	case "transition":
		body := map[string]any{"transition": map[string]any{"id": r.PostForm.Get("transition")}}
		if res := r.PostForm.Get("resolution"); res != "" {
			body["fields"] = map[string]any{"resolution": map[string]any{"name": res}}
		}
		err = s.asDev(r, http.MethodPost, base+"/transitions", body, nil)
	case "comment":
		text := strings.TrimSpace(r.PostForm.Get("body"))
		if text == "" {
			s.issuePage(w, r, key, "Write a comment first.", http.StatusBadRequest)
			return
		}
		body := map[string]any{"body": text}
		if role := r.PostForm.Get("visibility"); role != "" {
			body["visibility"] = map[string]any{"type": "role", "value": role}
		}
		err = s.asDev(r, http.MethodPost, base+"/comment", body, nil)
	case "move":
		res, code, msg := s.moveIssue(s.baseURL(r), key, r.PostForm.Get("project"), s.userNamed(DevUsername))
		if code != http.StatusOK {
			s.issuePage(w, r, key, msg, code)
			return
		}
		key = res.Key
	case "edit":
		var cur pageIssue
		if err = s.asDev(r, http.MethodGet, base, nil, &cur); err == nil {
			var fields map[string]any
			fields, err = editedFields(cur, r.PostForm)
			if err == nil && len(fields) > 0 {
				err = s.asDev(r, http.MethodPut, base, map[string]any{"fields": fields}, nil)
			}
		}
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.issuePage(w, r, key, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, "/browse/"+url.PathEscape(key), http.StatusSeeOther)
}

// editedFields is the edit a form asks for: only the fields whose value
// differs from the issue's, so an unchanged field makes no change (and no
// changelog entry).
func editedFields(cur pageIssue, form url.Values) (map[string]any, error) {
	f := cur.Fields
	out := map[string]any{}
	if v := strings.TrimSpace(form.Get("summary")); v != "" && v != f.Summary {
		out["summary"] = v
	}
	if v := form.Get("priority"); v != "" && (f.Priority == nil || v != f.Priority.Name) {
		out["priority"] = map[string]any{"name": v}
	}
	labels := strings.Fields(form.Get("labels"))
	if strings.Join(labels, " ") != strings.Join(f.Labels, " ") {
		out["labels"] = append([]string{}, labels...)
	}
	switch v := strings.TrimSpace(form.Get("customfield_10050")); {
	case v == "" && f.CVSS != nil:
		out["customfield_10050"] = nil
	case v != "":
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("CVSS Score: %q is not a number", v)
		}
		if f.CVSS == nil || *f.CVSS != n {
			out["customfield_10050"] = n
		}
	}
	if v := strings.TrimSpace(form.Get("customfield_10051")); v != f.AssetID {
		out["customfield_10051"] = v
	}
	if v := form.Get("customfield_10052"); v != "" && (f.Component == nil || v != f.Component.Value) {
		out["customfield_10052"] = map[string]any{"value": v}
	}
	return out, nil
}

func renderPage(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

var pageTemplates = template.Must(template.New("pages").Parse(`
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.}} — Jira simulator</title>
<style>body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#172b4d}header{background:#0747a6;color:#fff;padding:.6rem 1.2rem}
header a{color:#fff}main{padding:1rem 1.2rem;max-width:60rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #dfe1e6;padding:.35rem;text-align:left}
.status{background:#dfe1e6;border-radius:3px;padding:0 .4rem;font-size:.8rem;text-transform:uppercase;font-weight:600}
.error{background:#ffebe6;border:1px solid #de350b;padding:.5rem;margin:.5rem 0}section{margin:1.2rem 0}label{display:block;margin:.3rem 0}
pre{white-space:pre-wrap;background:#f4f5f7;padding:.5rem}.comment{border-left:3px solid #dfe1e6;padding-left:.6rem;margin:.6rem 0}.muted{color:#6b778c}</style></head>
<body><header><strong>Jira simulator</strong> ({{template "who"}}) · <a href="/projects/SEC">Project SEC</a></header><main>{{end}}
{{define "who"}}you act as dev@example.test{{end}}
{{define "foot"}}</main></body></html>{{end}}

{{define "project"}}{{template "head" .Key}}
<h1>Project {{.Key}}</h1><p class="muted">Jira {{.Deployment}} simulator.</p>
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<table><thead><tr><th>Key</th><th>Type</th><th>Summary</th><th>Status</th><th>Priority</th></tr></thead><tbody>
{{range .Issues}}<tr><td><a href="/browse/{{.Key}}">{{.Key}}</a></td><td>{{.Fields.IssueType.Name}}{{with .Fields.Parent}} of <a href="/browse/{{.Key}}">{{.Key}}</a>{{end}}</td>
<td>{{.Fields.Summary}}</td><td><span class="status">{{.Fields.Status.Name}}</span></td><td>{{with .Fields.Priority}}{{.Name}}{{end}}</td></tr>
{{else}}<tr><td colspan="5" class="muted">No issues yet.</td></tr>{{end}}</tbody></table>
{{template "foot"}}{{end}}

{{define "issue"}}{{template "head" .Issue.Key}}
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{with .Issue}}{{if .Key}}
<p class="muted"><a href="/projects/SEC">SEC</a>{{with .Fields.Parent}} / <a href="/browse/{{.Key}}">{{.Key}}</a>{{end}} / {{.Key}} · {{.Fields.IssueType.Name}}</p>
<h1 id="summary">{{.Fields.Summary}}</h1>
<p>Status: <span class="status" id="status">{{.Fields.Status.Name}}</span>{{with .Fields.Resolution}} · Resolution: {{.Name}}{{end}}
{{with .Fields.Priority}} · Priority: <span id="priority">{{.Name}}</span>{{end}}</p>
<section><h2>Description</h2>{{if .Fields.Description}}<pre>{{.Fields.Description}}</pre>{{else}}<p class="muted">None.</p>{{end}}</section>
<section><h2>Details</h2><table>
<tr><th>Labels</th><td id="labels">{{range .Fields.Labels}}{{.}} {{end}}</td></tr>
<tr><th>CVSS Score</th><td id="cvss">{{with .Fields.CVSS}}{{.}}{{end}}</td></tr>
<tr><th>Asset ID</th><td>{{.Fields.AssetID}}</td></tr>
<tr><th>Component</th><td>{{with .Fields.Component}}{{.Value}}{{end}}</td></tr>
<tr><th>Attachments</th><td>{{range .Fields.Attachment}}{{.Filename}} ({{.Size}} bytes) {{else}}<span class="muted">none</span>{{end}}</td></tr>
<tr><th>Sub-tasks</th><td>{{range .Fields.Subtasks}}<a href="/browse/{{.Key}}">{{.Key}}</a> {{else}}<span class="muted">none</span>{{end}}</td></tr>
</table></section>
{{end}}{{end}}
{{if .Issue.Key}}
<section><h2>Workflow</h2>
{{range .Transitions}}<form method="post" action="/browse/{{$.Issue.Key}}/transition" style="display:inline-block;margin-right:.6rem">
<input type="hidden" name="transition" value="{{.ID}}">
{{if .NeedsResolution}}<select name="resolution" aria-label="Resolution for {{.Name}}">{{range .Resolutions}}<option>{{.Name}}</option>{{end}}</select>{{end}}
<button type="submit" name="go" value="{{.Name}}">{{.Name}}</button></form>
{{else}}<p class="muted">No transition is available.</p>{{end}}
</section>
<section><h2>Edit</h2><form method="post" action="/browse/{{.Issue.Key}}/edit">
<label>Summary <input name="summary" size="60" value="{{.Issue.Fields.Summary}}"></label>
<label>Priority <select name="priority">{{range .Priorities}}<option{{if $.Issue.Fields.Priority}}{{if eq .Name $.Issue.Fields.Priority.Name}} selected{{end}}{{end}}>{{.Name}}</option>{{end}}</select></label>
<label>Labels (space-separated) <input name="labels" size="40" value="{{.Labels}}"></label>
<label>CVSS Score <input name="customfield_10050" value="{{.CVSS}}" inputmode="decimal"></label>
<label>Asset ID <input name="customfield_10051" value="{{.Issue.Fields.AssetID}}"></label>
<label>Component <select name="customfield_10052"><option value="">(none)</option>{{range .Components}}<option{{if $.Issue.Fields.Component}}{{if eq . $.Issue.Fields.Component.Value}} selected{{end}}{{end}}>{{.}}</option>{{end}}</select></label>
<button type="submit">Save</button></form></section>
<section><h2>Comments</h2>
{{range .Issue.Fields.Comment.Comments}}<div class="comment"><strong>{{.Author.DisplayName}}</strong> <span class="muted">{{.Created}}</span>{{with .Visibility}} <span class="status">restricted to {{.Value}}</span>{{end}}<pre>{{.Body}}</pre></div>
{{else}}<p class="muted">No comments yet.</p>{{end}}
<form method="post" action="/browse/{{.Issue.Key}}/comment"><label>Add a comment <textarea name="body" rows="3" cols="60"></textarea></label>
<label>Viewable by <select name="visibility"><option value="">All users</option><option>Administrators</option><option>Developers</option></select></label><button type="submit">Comment</button></form>
</section>
<section><h2>Move</h2><form method="post" action="/browse/{{.Issue.Key}}/move"><label>To project <select name="project">{{range .Projects}}<option>{{.}}</option>{{end}}</select></label><button type="submit">Move</button></form></section>
{{end}}
{{template "foot"}}{{end}}
`))
