package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
)

// The item page of an item awaiting retest offers the retest form; a
// passed verdict with evidence resolves the item and comments it; a
// verdict without evidence is refused with a message and changes nothing.
func TestItemPageRecordsARetest(t *testing.T) {
	e := apptest.New(t, apptest.Options{UI: true})
	var target, it struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	e.Must(201, "POST", "/api/v1/targets", map[string]any{"name": "web"}, &target)
	e.Must(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{"kind": "vulnerability", "title": "Open redirect", "severity": "medium"}, &it)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) string {
		resp, err := c.Get(e.API.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return string(raw)
	}
	post := func(path string, form url.Values) string {
		req, _ := http.NewRequest("POST", e.API.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", e.API.URL)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return string(raw)
	}
	post("/signin", url.Values{"csrf_token": {csrfRE.FindStringSubmatch(get("/signin"))[1]}, "token": {apptest.Token}})

	if page := get("/items/" + it.ID); strings.Contains(page, `id="retest"`) {
		t.Error("an open item's page offers a retest")
	}
	e.Must(200, "PATCH", "/api/v1/items/"+it.ID, map[string]any{"status": "fixed"}, nil)
	page := get("/items/" + it.ID)
	if !strings.Contains(page, `id="retest"`) {
		t.Fatal("a fixed item's page offers no retest")
	}
	tok := csrfRE.FindStringSubmatch(page)[1]

	page = post("/items/"+it.ID+"/retest", url.Values{"csrf_token": {tok}, "result": {"pass"}, "evidence": {" "}})
	if !strings.Contains(page, "Retest not recorded") || !strings.Contains(page, "evidence") {
		t.Errorf("a verdict without evidence: no message on the page: %.300s", page)
	}
	if e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &it); it.Status != "fixed" {
		t.Fatalf("a refused verdict changed the status to %s", it.Status)
	}

	page = post("/items/"+it.ID+"/retest", url.Values{"csrf_token": {tok}, "result": {"pass"}, "evidence": {"redirects only to our own hosts now"}})
	if !strings.Contains(page, "Retest passed") || !strings.Contains(page, "redirects only to our own hosts now") {
		t.Errorf("after a passed verdict the page shows no flash or no evidence comment: %.300s", page)
	}
	if e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &it); it.Status != "resolved" {
		t.Errorf("after a passed verdict the item is %s, want resolved", it.Status)
	}
}
