package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/apptest"
)

// The acceptances page lists pending requests with who, why and until
// when; the requester's own approval is refused with a message; another
// admin's approval (a button) approves it and the item is accepted.
func TestAcceptancesPageApproves(t *testing.T) {
	e := apptest.New(t, apptest.Options{UI: true})
	var target, it struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	e.Must(201, "POST", "/api/v1/targets", map[string]any{"name": "web"}, &target)
	e.Must(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{"kind": "vulnerability", "title": "Weak TLS ciphers", "severity": "low"}, &it)
	var acc struct {
		ID string `json:"id"`
	}
	until := time.Now().Add(60 * 24 * time.Hour).UTC()
	e.Must(201, "POST", "/api/v1/items/"+it.ID+"/acceptances", map[string]any{"reason": "clients need RC4 until March", "expires_at": until}, &acc)
	var u struct {
		ID string `json:"id"`
	}
	e.Must(201, "POST", "/api/v1/users", map[string]any{"email": "root@example.test", "name": "Root", "role": "admin"}, &u)
	var tok struct {
		Token string `json:"token"`
	}
	e.Must(201, "POST", "/api/v1/users/"+u.ID+"/tokens", map[string]any{"name": "ui"}, &tok)

	session := func(token string) (get func(string) string, post func(string, url.Values) string) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		get = func(path string) string {
			resp, err := c.Get(e.API.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			return string(raw)
		}
		post = func(path string, form url.Values) string {
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
		post("/signin", url.Values{"csrf_token": {csrfRE.FindStringSubmatch(get("/signin"))[1]}, "token": {token}})
		return get, post
	}

	get, post := session(apptest.Token)
	page := get("/acceptances")
	for _, want := range []string{"Weak TLS ciphers", "clients need RC4 until March", until.Format("2006-01-02"), `id="acceptance-` + acc.ID + `"`, "Approve"} {
		if !strings.Contains(page, want) {
			t.Errorf("the pending list lacks %q", want)
		}
	}
	tok1 := csrfRE.FindStringSubmatch(page)[1]
	page = post("/acceptances/"+acc.ID+"/approve", url.Values{"csrf_token": {tok1}, "state": {"pending"}})
	if !strings.Contains(page, "Not approved") || !strings.Contains(page, "another admin") {
		t.Errorf("self-approval: no refusal on the page: %.400s", page)
	}

	get, post = session(tok.Token)
	tok2 := csrfRE.FindStringSubmatch(get("/acceptances"))[1]
	page = post("/acceptances/"+acc.ID+"/approve", url.Values{"csrf_token": {tok2}, "state": {"approved"}})
	if !strings.Contains(page, "Acceptance approved") || !strings.Contains(page, "root@example.test") {
		t.Errorf("approval by another admin: %.400s", page)
	}
	if e.Must(200, "GET", "/api/v1/items/"+it.ID, nil, &it); it.Status != "accepted_risk" {
		t.Errorf("after the approval the item is %s", it.Status)
	}
}
