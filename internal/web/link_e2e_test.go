package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
)

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// On the item page an admin previews the Jira issue (nothing is written),
// unlinks the item (the issue stays) and links it again by key, with the
// real sync engine behind the UI.
func TestItemPagePreviewsUnlinksAndLinks(t *testing.T) {
	e := apptest.New(t, apptest.Options{UI: true})
	s := e.Setup("web")
	var it struct {
		ID   string `json:"id"`
		Jira *struct {
			Key string `json:"key"`
		} `json:"jira"`
	}
	e.Must(201, "POST", "/api/v1/targets/"+s.TargetID+"/items", map[string]any{"kind": "vulnerability", "title": "Open redirect", "severity": "medium"}, &it)
	e.Sync()
	e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &it)
	if it.Jira == nil {
		t.Fatal("no issue after the sync")
	}
	key := it.Jira.Key

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, string) {
		resp, err := c.Get(e.API.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	post := func(path string, form url.Values) int {
		req, _ := http.NewRequest("POST", e.API.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", e.API.URL)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	_, page := get("/signin")
	if st := post("/signin", url.Values{"csrf_token": {csrfRE.FindStringSubmatch(page)[1]}, "token": {apptest.Token}}); st != http.StatusSeeOther {
		t.Fatalf("sign in: %d", st)
	}

	writes := func() int64 {
		var n int64
		for ep, ec := range e.Sim.Counters().Endpoints {
			if !strings.HasPrefix(ep, "GET ") && !strings.Contains(ep, "/search") {
				n += ec.Requests
			}
		}
		return n
	}
	before := writes()
	st, page := get("/items/" + it.ID + "/jira-preview")
	if st != http.StatusOK || !strings.Contains(page, `id="preview-json"`) || !strings.Contains(page, "Open redirect") {
		t.Fatalf("preview page: %d %.400s", st, page)
	}
	if after := writes(); after != before {
		t.Errorf("the preview wrote to Jira: %d writes before, %d after", before, after)
	}

	_, page = get("/items/" + it.ID)
	tok := csrfRE.FindStringSubmatch(page)[1]
	if st := post("/items/"+it.ID+"/jira-unlink", url.Values{"csrf_token": {tok}}); st != http.StatusSeeOther {
		t.Fatalf("unlink: %d", st)
	}
	e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &it)
	if it.Jira != nil {
		t.Fatalf("still linked after unlink: %+v", it.Jira)
	}
	if st := post("/items/"+it.ID+"/jira-link", url.Values{"csrf_token": {tok}, "issue_key": {strings.ToLower(key)}}); st != http.StatusSeeOther {
		t.Fatalf("link: %d", st)
	}
	e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &it)
	if it.Jira == nil || it.Jira.Key != key {
		t.Fatalf("after linking %s again: %+v", key, it.Jira)
	}
}
