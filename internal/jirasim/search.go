package jirasim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
)

// This file serves issue search: Cloud's /search/jql (nextPageToken
// paging, ids only unless fields are asked for, bounded JQL only), the
// retired Cloud /search (410) and Data Center's /search (startAt paging).

// boundedJQL runs JQL for the enhanced search and the count, which refuse
// an unbounded query as Cloud does; false means the answer (400) is sent.
// The caller holds s.mu.
func (s *Simulator) boundedJQL(rq *request, jql string) ([]*issue, bool) {
	parsed, found, err := s.runJQL(jql, rq.user, rq.now)
	if err != nil {
		rq.fail(http.StatusBadRequest, err.Error())
		return nil, false
	}
	if parsed.where == nil {
		rq.fail(http.StatusBadRequest, msgUnbounded)
		return nil, false
	}
	return found, true
}

const msgUnbounded = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."

const msgSearchGone = "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"

// searchParams are the inputs shared by the GET and POST forms.
type searchParams struct {
	JQL           string          `json:"jql"`
	NextPageToken string          `json:"nextPageToken"`
	StartAt       *int            `json:"startAt"`
	MaxResults    *int            `json:"maxResults"`
	Fields        []string        `json:"fields"`
	Expand        json.RawMessage `json:"expand"`
	Properties    []string        `json:"properties"`
	// ReconcileIssues are ids search must show even when search lags
	// (Cloud /search/jql, at most 50).
	ReconcileIssues []int64 `json:"reconcileIssues"`
}

// readSearch reads search parameters from the query (GET) or body (POST);
// it answers errors itself.
func readSearch(rq *request) (searchParams, bool) {
	var p searchParams
	if rq.r.Method == http.MethodPost {
		if !rq.decode(&p) {
			return p, false
		}
		return p, true
	}
	q := rq.r.URL.Query()
	p.JQL = q.Get("jql")
	p.NextPageToken = q.Get("nextPageToken")
	for _, name := range []string{"startAt", "maxResults"} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				rq.fail(http.StatusBadRequest, "The '"+name+"' parameter must be a non-negative integer.")
				return p, false
			}
			if name == "startAt" {
				p.StartAt = &n
			} else {
				p.MaxResults = &n
			}
		}
	}
	p.Fields = q["fields"]
	if e := q["expand"]; len(e) > 0 {
		b, _ := json.Marshal(strings.Join(e, ","))
		p.Expand = b
	}
	p.Properties = rq.queryList("properties")
	for _, v := range rq.queryList("reconcileIssues") {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			rq.fail(http.StatusBadRequest, "The 'reconcileIssues' parameter must list issue ids.")
			return p, false
		}
		p.ReconcileIssues = append(p.ReconcileIssues, n)
	}
	return p, true
}

// expandList reads "expand", which POST bodies give as a string and some
// clients as an array.
func (p searchParams) expandList() []string {
	if len(p.Expand) == 0 {
		return nil
	}
	var s string
	if json.Unmarshal(p.Expand, &s) == nil {
		return []string{s}
	}
	var list []string
	_ = json.Unmarshal(p.Expand, &list)
	return list
}

// pageToken is an opaque cursor bound to the query it was issued for.
func pageToken(jql string, offset int) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(jql))
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset) + ":" + strconv.FormatUint(uint64(h.Sum32()), 36)))
}

var errBadToken = errors.New("bad page token")

func readPageToken(jql, tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, errBadToken
	}
	off, sum, ok := strings.Cut(string(raw), ":")
	n, err := strconv.Atoi(off)
	if !ok || err != nil || n < 0 {
		return 0, errBadToken
	}
	if pageToken(jql, n) != tok || sum == "" {
		return 0, errBadToken
	}
	return n, nil
}

func (s *Simulator) searchJQL(rq *request) {
	p, ok := readSearch(rq)
	if !ok {
		return
	}
	sel := parseFieldSelection(p.Fields, "")
	maxResults := 50
	if p.MaxResults != nil {
		maxResults = *p.MaxResults
	}
	limit := 5000
	if !sel.empty() {
		limit = 100
	}
	if maxResults > limit {
		maxResults = limit
	}
	if maxResults == 0 {
		maxResults = 50
	}
	offset, err := readPageToken(p.JQL, p.NextPageToken)
	if err != nil {
		rq.fail(http.StatusBadRequest, "The provided next page token is invalid or expired.")
		return
	}
	o := issueOptions{fields: sel, changelog: hasExpand(p.expandList(), "changelog"), props: p.Properties}
	s.mu.RLock()
	defer s.mu.RUnlock()
	found, ok := s.boundedJQL(rq, p.JQL)
	if !ok {
		return
	}
	if len(p.ReconcileIssues) > 50 {
		rq.fail(http.StatusBadRequest, "The number of issues to reconcile exceeds the limit of 50.")
		return
	}
	reconcile := map[int64]bool{}
	for _, id := range p.ReconcileIssues {
		reconcile[id] = true
	}
	found = s.visible(found, rq.now, reconcile)
	pageIssues := page(found, offset, maxResults)
	out := make([]any, 0, len(pageIssues))
	for _, is := range pageIssues {
		if sel.empty() && !o.changelog && len(o.props) == 0 {
			out = append(out, map[string]any{"id": strconv.FormatInt(is.ID, 10)})
			continue
		}
		out = append(out, rq.view.issue(is, o))
	}
	resp := map[string]any{"issues": out}
	if offset+len(pageIssues) < len(found) {
		resp["nextPageToken"] = pageToken(p.JQL, offset+len(pageIssues))
		resp["isLast"] = false
	} else {
		resp["isLast"] = true
	}
	rq.json(http.StatusOK, resp)
}

// searchOld is /search: retired on Cloud (410), the search endpoint on Data
// Center.
func (s *Simulator) searchOld(rq *request) {
	if !s.dc {
		rq.fail(http.StatusGone, msgSearchGone)
		return
	}
	p, ok := readSearch(rq)
	if !ok {
		return
	}
	startAt := 0
	if p.StartAt != nil {
		startAt = *p.StartAt
	}
	maxResults := 50
	if p.MaxResults != nil {
		maxResults = min(*p.MaxResults, 1000)
	}
	o := issueOptions{fields: parseFieldSelection(p.Fields, "*navigable"), changelog: hasExpand(p.expandList(), "changelog"), props: p.Properties}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, found, err := s.runJQL(p.JQL, rq.user, rq.now)
	if err != nil {
		rq.fail(http.StatusBadRequest, err.Error())
		return
	}
	found = s.visible(found, rq.now, nil)
	pageIssues := page(found, startAt, maxResults)
	out := make([]any, 0, len(pageIssues))
	for _, is := range pageIssues {
		out = append(out, rq.view.issue(is, o))
	}
	rq.json(http.StatusOK, map[string]any{
		"expand":     "schema,names",
		"startAt":    startAt,
		"maxResults": maxResults,
		"total":      len(found),
		"issues":     out,
	})
}
