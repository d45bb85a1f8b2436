package people_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/apptest"
	"github.com/vulnsync/vulnsync/internal/store/storetest"
)

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// Two replicas on one PostgreSQL database: a session started through one
// is honoured by the other, and signing out through the other ends it on
// both.
func TestPostgresSessionIsSharedByReplicas(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	dir := t.TempDir()
	a := apptest.New(t, apptest.Options{DB: dsn, DataDir: dir, UI: true})
	b := apptest.New(t, apptest.Options{DB: dsn, DataDir: dir, UI: true, Sim: a.Sim, SimURL: a.SimURL})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(base, path string) (int, string) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	post := func(base, path string, form url.Values) int {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	_, page := get(a.API.URL, "/signin")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no sign-in form on replica A")
	}
	if st := post(a.API.URL, "/signin", url.Values{"csrf_token": {m[1]}, "token": {apptest.Token}}); st != http.StatusSeeOther {
		t.Fatalf("sign in through replica A: %d", st)
	}
	// Both replicas listen on 127.0.0.1, so the browser sends the same
	// cookie to both (cookies ignore the port).
	st, page := get(b.API.URL, "/targets")
	if st != http.StatusOK {
		t.Fatalf("the session started on A, on replica B: %d, want 200", st)
	}
	m = csrfRE.FindStringSubmatch(page)
	u, _ := url.Parse(a.API.URL)
	cookies := jar.Cookies(u)
	if st := post(b.API.URL, "/signout", url.Values{"csrf_token": {m[1]}}); st != http.StatusSeeOther {
		t.Fatalf("sign out through replica B: %d", st)
	}
	// The browser dropped the cookie; replay it to show the session
	// itself is gone on A too.
	jar.SetCookies(u, cookies)
	if st, _ := get(a.API.URL, "/targets"); st != http.StatusSeeOther {
		t.Errorf("the old cookie on replica A after signing out through B: %d, want a redirect to sign in", st)
	}
}
