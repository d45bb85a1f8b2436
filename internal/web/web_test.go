package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/jiraconn"
	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/people"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/store/sqldb"
	"github.com/vulnsync/vulnsync/internal/tracker"
	"github.com/vulnsync/vulnsync/internal/vault"
)

const adminToken = "web-test-admin-token-0123456789"

// fakeClock is a settable clock for session expiry.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is a UI over a real SQLite store (and, when asked, a Jira
// simulator), served by httptest.
type env struct {
	t       testing.TB
	svc     *service.Service
	integ   *integration.Service
	srv     *httptest.Server
	clock   *fakeClock
	simURL  string
	people  *people.Service
	ui      *ui
	events  []store.SyncEvent
	retried []int64
	// lastWebhook is what the connection health reports as the last
	// webhook received, for every connection.
	lastWebhook time.Time
}

type envOptions struct {
	jira       bool
	secure     bool
	maxUpload  int64
	maxSession int
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqldb.Open(ctx, "", dir, nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, clock: &fakeClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}}
	e.svc = service.New(service.Config{Store: st, MaxAttachmentBytes: o.maxUpload, Clock: e.clock.Now})
	e.people = people.New(people.Config{Store: st, Clock: e.clock.Now})
	if _, err := e.people.BootstrapAdminToken(ctx, adminToken); err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewUnstartedServer(nil)
	cfg := Config{Tracker: e.svc, People: e.people, Clock: e.clock.Now, SecureCookies: o.secure, MaxSessions: o.maxSession,
		SyncEvents: func(ctx context.Context, integrationID, itemID string) ([]store.SyncEvent, error) {
			var out []store.SyncEvent
			for _, ev := range e.events {
				if ev.IntegrationID == integrationID && (itemID == "" || ev.ItemID == itemID) {
					out = append(out, ev)
				}
			}
			return out, nil
		},
		RetryJob: func(ctx context.Context, jobID int64) error {
			e.retried = append(e.retried, jobID)
			return nil
		},
		ConnectionHealth: func(ctx context.Context, connectionID string) (store.ConnectionHealth, error) {
			return store.ConnectionHealth{ConnectionID: connectionID, LastWebhookAt: e.lastWebhook}, nil
		},
		WebhookHealth: func(ctx context.Context, connectionID string) (h store.WebhookHealth, err error) {
			err = st.View(ctx, func(tx store.Tx) error {
				h, err = tx.WebhookHealth(ctx, connectionID)
				return err
			})
			return h, err
		},
	}
	if o.jira {
		_, e.simURL = jirasim.StartTest(t, jirasim.Config{Deployment: jirasim.Cloud, ManualWebhooks: true})
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		v, err := vault.New(key)
		if err != nil {
			t.Fatal(err)
		}
		conns := jiraconn.New(jiraconn.Config{Store: st, Vault: v})
		e.integ = integration.New(integration.Config{Tracker: e.svc, Connections: conns, PublicURL: "http://" + e.srv.Listener.Addr().String()})
		cfg.Integrations = e.integ
	}
	e.ui = newUI(cfg)
	e.srv.Config.Handler = e.ui.secureHeaders(e.ui.mux)
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

// browser is a cookie-keeping client that does not follow redirects, so
// tests see every answer.
type browser struct {
	t   testing.TB
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, jar: jar, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type answer struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) answer {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: string(raw), header: resp.Header}
}

func (b *browser) get(path string) answer {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.e.srv.URL+path, nil)
	return b.do(req)
}

// post sends a url-encoded form; header pairs are added as given.
func (b *browser) post(path string, form url.Values, header ...string) answer {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf reads the synchronizer token from a page the browser is shown.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	a := b.get(path)
	m := csrfRE.FindStringSubmatch(a.body)
	if m == nil {
		b.t.Fatalf("GET %s: no csrf token in page (status %d)", path, a.status)
	}
	return m[1]
}

func (b *browser) signIn() {
	b.t.Helper()
	tok := b.csrf("/signin")
	a := b.post("/signin", url.Values{"csrf_token": {tok}, "token": {adminToken}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/dashboard" {
		b.t.Fatalf("sign in: got %d to %q, want 303 to /dashboard; body %s", a.status, a.header.Get("Location"), a.body)
	}
}

func (b *browser) cookie() *http.Cookie {
	u, _ := url.Parse(b.e.srv.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == CookieName {
			return c
		}
	}
	return nil
}

func setCookieNamed(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestSignInAndOut(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()

	if a := b.get("/targets"); a.status != http.StatusSeeOther || a.header.Get("Location") != "/signin?next=%2Ftargets" {
		t.Fatalf("signed out GET /targets: got %d to %q, want 303 to /signin?next=%%2Ftargets", a.status, a.header.Get("Location"))
	}
	if a := b.get("/"); a.header.Get("Location") != "/signin" {
		t.Fatalf("signed out GET /: got Location %q, want /signin", a.header.Get("Location"))
	}

	page := b.get("/signin")
	anon := setCookieNamed(page.header, CookieName)
	if anon == nil {
		t.Fatalf("sign-in page set no session cookie")
	}
	tok := csrfRE.FindStringSubmatch(page.body)[1]

	wrong := b.post("/signin", url.Values{"csrf_token": {tok}, "token": {"not-a-token-at-all"}})
	if wrong.status != http.StatusUnauthorized || !strings.Contains(wrong.body, "That token is not valid") {
		t.Fatalf("wrong token: got %d, want 401 with an explanation; body %s", wrong.status, wrong.body)
	}
	if a := b.get("/targets"); a.status != http.StatusSeeOther {
		t.Fatalf("after a failed sign-in GET /targets: got %d, want 303 to sign in", a.status)
	}

	ok := b.post("/signin", url.Values{"csrf_token": {tok}, "token": {adminToken}, "next": {"/targets?x=1"}})
	if ok.status != http.StatusSeeOther || ok.header.Get("Location") != "/targets?x=1" {
		t.Fatalf("sign in: got %d to %q, want 303 to /targets?x=1", ok.status, ok.header.Get("Location"))
	}
	signed := setCookieNamed(ok.header, CookieName)
	if signed == nil || signed.Value == anon.Value {
		t.Fatalf("sign in must issue a new session id: anonymous %v, signed in %v", anon, signed)
	}
	if a := b.get("/targets"); a.status != http.StatusOK || !strings.Contains(a.body, "<title>Targets · vulnsync</title>") {
		t.Fatalf("signed in GET /targets: got %d, want 200 with the Targets page", a.status)
	}
	// The pre-sign-in session id is dead: a planted id gives nothing.
	planted := e.browser()
	u, _ := url.Parse(e.srv.URL)
	planted.jar.SetCookies(u, []*http.Cookie{{Name: CookieName, Value: anon.Value}})
	if a := planted.get("/targets"); a.status != http.StatusSeeOther {
		t.Fatalf("anonymous session id after sign-in: got %d, want a redirect to sign in", a.status)
	}

	out := b.post("/signout", url.Values{"csrf_token": {b.csrf("/targets")}})
	if out.status != http.StatusSeeOther || out.header.Get("Location") != "/signin" {
		t.Fatalf("sign out: got %d to %q, want 303 to /signin", out.status, out.header.Get("Location"))
	}
	if c := setCookieNamed(out.header, CookieName); c == nil || c.MaxAge >= 0 {
		t.Fatalf("sign out must clear the cookie: got %v", c)
	}
	// Replaying the old cookie does not work: the session is gone on the server.
	replay := e.browser()
	replay.jar.SetCookies(u, []*http.Cookie{{Name: CookieName, Value: signed.Value}})
	if a := replay.get("/targets"); a.status != http.StatusSeeOther {
		t.Fatalf("old session cookie after sign-out: got %d, want a redirect to sign in", a.status)
	}
}

func TestSignInRefusesOffsiteRedirects(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "/signout"} {
		b := e.browser()
		tok := b.csrf("/signin")
		a := b.post("/signin", url.Values{"csrf_token": {tok}, "token": {adminToken}, "next": {next}})
		if got := a.header.Get("Location"); a.status != http.StatusSeeOther || got != homePath {
			t.Errorf("next=%q: got %d to %q, want 303 to %s", next, a.status, got, homePath)
		}
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	cases := []struct {
		name       string
		secure     bool
		header     []string
		wantSecure bool
	}{
		{"plain http", false, nil, false},
		{"configured secure", true, nil, true},
		{"behind a TLS proxy", false, []string{"X-Forwarded-Proto", "https"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{secure: tc.secure})
			b := e.browser()
			req, _ := http.NewRequest("GET", e.srv.URL+"/signin", nil)
			for i := 0; i+1 < len(tc.header); i += 2 {
				req.Header.Set(tc.header[i], tc.header[i+1])
			}
			a := b.do(req)
			c := setCookieNamed(a.header, CookieName)
			if c == nil {
				t.Fatal("no session cookie")
			}
			got := struct {
				HttpOnly, Secure bool
				SameSite         http.SameSite
				Path             string
				Len              int
			}{c.HttpOnly, c.Secure, c.SameSite, c.Path, len(c.Value)}
			want := got
			want.HttpOnly, want.Secure, want.SameSite, want.Path, want.Len = true, tc.wantSecure, http.SameSiteLaxMode, "/", 43
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cookie attributes (-want +got):\n%s", diff)
			}
		})
	}
	// A request that arrives over TLS gets a Secure cookie whatever the config.
	e0 := newEnv(t, envOptions{})
	u := New(Config{Tracker: e0.svc, People: e0.people})
	rec := httptest.NewRecorder()
	u.ServeHTTP(rec, httptest.NewRequest("GET", "https://vulnsync.example/signin", nil))
	if c := setCookieNamed(rec.Header(), CookieName); c == nil || !c.Secure {
		t.Errorf("cookie over TLS: got %v, want Secure", c)
	}
}

func TestSessionsExpire(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	e.clock.Advance(7 * time.Hour)
	if a := b.get("/targets"); a.status != http.StatusOK {
		t.Fatalf("after 7 h of idleness: got %d, want 200", a.status)
	}
	e.clock.Advance(8 * time.Hour)
	if a := b.get("/targets"); a.status != http.StatusSeeOther {
		t.Fatalf("after 8 h of idleness: got %d, want a redirect to sign in", a.status)
	}
	b.signIn()
	for i := 0; i < 4; i++ { // used every 7 h, it still ends 24 h after sign-in
		e.clock.Advance(7 * time.Hour)
		a := b.get("/targets")
		if want := map[bool]int{true: http.StatusOK, false: http.StatusSeeOther}[i < 3]; a.status != want {
			t.Fatalf("%d h after sign-in: got %d, want %d", 7*(i+1), a.status, want)
		}
	}
}

func TestSessionStoreIsBounded(t *testing.T) {
	e := newEnv(t, envOptions{maxSession: 3})
	b := e.browser()
	b.signIn()
	for i := 0; i < 10; i++ { // anonymous visitors come and go
		e.browser().get("/signin")
	}
	if a := b.get("/targets"); a.status != http.StatusOK {
		t.Fatalf("signed-in session after 10 anonymous visits with room for 3: got %d, want 200 (anonymous ones go first)", a.status)
	}
}

// listTargets reads the targets straight from the service.
func (e *env) targetNames() []string {
	e.t.Helper()
	ts, err := e.svc.ListTargets(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func TestCSRFRefusesForgedPosts(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/targets")
	other := e.browser()
	other.signIn()
	otherTok := other.csrf("/targets")

	cases := []struct {
		name   string
		form   url.Values
		header []string
	}{
		{"no token", url.Values{"name": {"forged"}}, nil},
		{"empty token", url.Values{"name": {"forged"}, "csrf_token": {""}}, nil},
		{"another session's token", url.Values{"name": {"forged"}, "csrf_token": {otherTok}}, nil},
		{"token with a cross-origin Origin", url.Values{"name": {"forged"}, "csrf_token": {tok}}, []string{"Origin", "https://evil.example"}},
		{"token with a null Origin", url.Values{"name": {"forged"}, "csrf_token": {tok}}, []string{"Origin", "null"}},
		{"token from a cross-site fetch", url.Values{"name": {"forged"}, "csrf_token": {tok}}, []string{"Sec-Fetch-Site", "cross-site"}},
		{"token from a same-site fetch", url.Values{"name": {"forged"}, "csrf_token": {tok}}, []string{"Sec-Fetch-Site", "same-site"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := b.post("/targets", tc.form, tc.header...)
			if a.status != http.StatusForbidden || !strings.Contains(a.body, "reload the page") {
				t.Errorf("got %d, want 403 with an explanation; body %.300s", a.status, a.body)
			}
			if got := e.targetNames(); len(got) != 0 {
				t.Errorf("a refused form created targets: %v", got)
			}
		})
	}
	// Sign-in and sign-out are protected too.
	anon := e.browser()
	anon.get("/signin")
	if a := anon.post("/signin", url.Values{"token": {adminToken}}); a.status != http.StatusForbidden {
		t.Errorf("sign-in without token: got %d, want 403", a.status)
	}
	if a := b.post("/signout", url.Values{}); a.status != http.StatusForbidden {
		t.Errorf("sign-out without token: got %d, want 403", a.status)
	}
	if a := b.get("/targets"); a.status != http.StatusOK {
		t.Errorf("a forged sign-out ended the session: GET /targets got %d", a.status)
	}

	// The same form from this session's page, same origin, goes through;
	// the token may also come as the htmx header.
	if a := b.post("/targets", url.Values{"name": {"genuine"}, "csrf_token": {tok}}, "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin"); a.status != http.StatusSeeOther {
		t.Fatalf("genuine form: got %d, want 303; body %.300s", a.status, a.body)
	}
	if a := b.post("/targets", url.Values{"name": {"via-header"}}, "X-CSRF-Token", tok); a.status != http.StatusSeeOther {
		t.Fatalf("token in X-CSRF-Token: got %d, want 303", a.status)
	}
	// Behind a proxy that rewrites Host, the original host comes in
	// X-Forwarded-Host and the page's own Origin matches it (a browser
	// that sends Sec-Fetch-Site; older ones need the proxy to keep Host).
	if a := b.post("/targets", url.Values{"name": {"behind-proxy"}, "csrf_token": {tok}}, "Origin", "https://vulnsync.example", "X-Forwarded-Host", "vulnsync.example", "Sec-Fetch-Site", "same-origin"); a.status != http.StatusSeeOther {
		t.Fatalf("same origin through a proxy: got %d, want 303", a.status)
	}
	if diff := cmp.Diff([]string{"behind-proxy", "genuine", "via-header"}, e.targetNames()); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
}

func TestUserDataIsEscaped(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	const evil = `<script>alert(1)</script>`
	const evilAttr = `"><img src=x onerror=alert(2)>`
	tg, err := e.svc.CreateTarget(ctx, tracker.Target{Name: evil, Description: evilAttr})
	if err != nil {
		t.Fatal(err)
	}
	it, err := e.svc.CreateItem(ctx, service.System, tg.ID, tracker.NewItem{Kind: "vulnerability", Title: evil, Severity: "high",
		Description: evilAttr, Fields: map[string]any{"cwe": evil, "labels": []string{"x"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddComment(ctx, service.Actor{Name: evilAttr, Origin: tracker.OriginVulnsync}, it.ID, evil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddAttachment(ctx, service.System, it.ID, evilAttr+".txt", "text/html", []byte(evil)); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn()
	for _, path := range []string{"/targets", "/targets/" + tg.ID, "/items/" + it.ID} {
		a := b.get(path)
		if a.status != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, a.status)
		}
		for _, raw := range []string{"<script>alert", "<img src=x", `"><img`} {
			if strings.Contains(a.body, raw) {
				t.Errorf("GET %s: page contains unescaped %q", path, raw)
			}
		}
		if !strings.Contains(a.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("GET %s: the title is not shown as escaped text", path)
		}
		if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: CSP %q does not restrict scripts", path, csp)
		}
	}
	// Attachments are downloads, never rendered as HTML in our origin.
	atts, _ := e.svc.Attachments(ctx, it.ID)
	a := b.get("/attachments/" + atts[0].ID)
	if a.body != evil || !strings.HasPrefix(a.header.Get("Content-Disposition"), "attachment") || a.header.Get("Content-Security-Policy") != "sandbox" {
		t.Errorf("attachment download: body %q, disposition %q, CSP %q", a.body, a.header.Get("Content-Disposition"), a.header.Get("Content-Security-Policy"))
	}
}

func TestTrackerPages(t *testing.T) {
	e := newEnv(t, envOptions{maxUpload: 1024})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/targets")

	if a := b.post("/targets", url.Values{"csrf_token": {tok}, "name": {""}, "url": {"ftp://x"}}); a.status != http.StatusBadRequest ||
		!strings.Contains(a.body, "must not be empty") || !strings.Contains(a.body, "must be an absolute http or https URL") {
		t.Fatalf("invalid target: got %d; body %.500s", a.status, a.body)
	}
	a := b.post("/targets", url.Values{"csrf_token": {tok}, "name": {"payments"}, "url": {"https://pay.example"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("create target: got %d", a.status)
	}
	tpath := a.header.Get("Location")
	if a := b.post("/targets", url.Values{"csrf_token": {tok}, "name": {"payments"}}); a.status != http.StatusConflict {
		t.Fatalf("duplicate target: got %d, want 409", a.status)
	}

	a = b.post(tpath+"/items", url.Values{"csrf_token": {tok}, "kind": {"vulnerability"}, "title": {"SQLi"}, "severity": {"critical"}, "status": {"open"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("create item: got %d; body %.500s", a.status, a.body)
	}
	ipath := a.header.Get("Location")
	vid := strings.TrimPrefix(ipath, "/items/")
	if a := b.post(tpath+"/items", url.Values{"csrf_token": {tok}, "kind": {"finding"}, "title": {"on staging"}, "severity": {"high"}, "status": {"open"}}); a.status != http.StatusBadRequest || !strings.Contains(a.body, "parent") {
		t.Fatalf("finding without parent: got %d", a.status)
	}
	if a := b.get(tpath + "?parent=" + vid); !strings.Contains(a.body, `<option value="finding" selected>`) || !strings.Contains(a.body, `<option value="`+vid+`" selected>`) {
		t.Errorf("\"Add a finding\" does not preselect the kind and the parent")
	}
	if a := b.post(tpath+"/items", url.Values{"csrf_token": {tok}, "kind": {"finding"}, "title": {"on staging"}, "severity": {"low"}, "status": {"open"}, "parent_id": {vid}}); a.status != http.StatusSeeOther {
		t.Fatalf("finding: got %d", a.status)
	}
	b.post(tpath+"/items", url.Values{"csrf_token": {tok}, "kind": {"risk"}, "title": {"Old TLS"}, "severity": {"low"}, "status": {"accepted_risk"}})

	list := func(q string) []string {
		a := b.get(tpath + q)
		if a.status != http.StatusOK {
			t.Fatalf("GET %s%s: %d", tpath, q, a.status)
		}
		var out []string
		for _, m := range regexp.MustCompile(`class="item-title" href="[^"]+">([^<]+)<`).FindAllStringSubmatch(a.body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	for q, want := range map[string][]string{
		"":                                {"SQLi", "on staging", "Old TLS"},
		"?kind=finding":                   {"on staging"},
		"?severity=low":                   {"on staging", "Old TLS"},
		"?status=accepted_risk&kind=risk": {"Old TLS"},
		"?status=open&severity=critical":  {"SQLi"},
	} {
		if diff := cmp.Diff(want, list(q)); diff != "" {
			t.Errorf("filter %q (-want +got):\n%s", q, diff)
		}
	}
	if a := b.get(tpath + "?severity=urgent"); a.status != http.StatusBadRequest {
		t.Errorf("unknown severity filter: got %d, want 400", a.status)
	}

	if a := b.post(ipath+"/comments", url.Values{"csrf_token": {tok}, "body": {"Reproduced with sqlmap."}}); a.status != http.StatusSeeOther {
		t.Fatalf("comment: got %d", a.status)
	}
	if a := b.post(ipath+"/comments", url.Values{"csrf_token": {tok}, "body": {"   "}}); a.status != http.StatusBadRequest || !strings.Contains(a.body, "must not be empty") {
		t.Fatalf("empty comment: got %d", a.status)
	}
	if a := b.post(ipath, url.Values{"csrf_token": {tok}, "status": {"in_progress"}, "severity": {"high"}}); a.status != http.StatusSeeOther {
		t.Fatalf("update: got %d", a.status)
	}
	if a := b.post(ipath, url.Values{"csrf_token": {tok}, "status": {"done"}}); a.status != http.StatusBadRequest {
		t.Fatalf("update to an unknown status: got %d, want 400", a.status)
	}

	upload := func(name string, content []byte) answer {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("csrf_token", tok)
		fw, _ := mw.CreateFormFile("file", name)
		_, _ = fw.Write(content)
		_ = mw.Close()
		req, _ := http.NewRequest("POST", e.srv.URL+ipath+"/attachments", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return b.do(req)
	}
	if a := upload("poc.txt", []byte("GET /search?q='")); a.status != http.StatusSeeOther {
		t.Fatalf("upload: got %d; body %.300s", a.status, a.body)
	}
	if a := upload("big.bin", bytes.Repeat([]byte("A"), 2048)); a.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversize upload: got %d, want 413", a.status)
	}

	page := b.get(ipath)
	for _, want := range []string{"Reproduced with sqlmap.", "poc.txt", "on staging", "in_progress", `badge-vulnsync`, "status", "Findings"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("item page lacks %q", want)
		}
	}
	atts, _ := e.svc.Attachments(context.Background(), vid)
	if len(atts) != 1 || atts[0].Filename != "poc.txt" {
		t.Errorf("attachments after one good and one oversize upload: %+v", atts)
	}
	it, _ := e.svc.GetItem(context.Background(), vid)
	if it.Status != tracker.StatusInProgress || it.Severity != tracker.SeverityHigh {
		t.Errorf("item after update: status %s severity %s", it.Status, it.Severity)
	}
	hist, _ := e.svc.History(context.Background(), vid)
	if !strings.Contains(page.body, "by "+hist[len(hist)-1].Actor) {
		t.Errorf("item page does not show who changed it (%q)", hist[len(hist)-1].Actor)
	}
}

func TestStaticAndErrors(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	for path, ct := range map[string]string{"/static/htmx.min.js": "text/javascript", "/static/style.css": "text/css", "/static/app.js": "text/javascript"} {
		a := b.get(path)
		if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), ct) || len(a.body) < 100 {
			t.Errorf("GET %s: status %d type %q size %d", path, a.status, a.header.Get("Content-Type"), len(a.body))
		}
	}
	if a := b.get("/static/"); a.status != http.StatusNotFound {
		t.Errorf("static directory listing: got %d, want 404", a.status)
	}
	b.signIn()
	if a := b.get("/items/nope"); a.status != http.StatusNotFound {
		t.Errorf("unknown item: got %d, want 404", a.status)
	}
	if a := b.get("/no/such/page"); a.status != http.StatusNotFound || !strings.Contains(a.body, "No such page") {
		t.Errorf("unknown page: got %d", a.status)
	}
	if a := b.get("/integrations"); a.status != http.StatusServiceUnavailable {
		t.Errorf("integrations without the service: got %d, want 503", a.status)
	}
	big := url.Values{"csrf_token": {b.csrf("/targets")}, "name": {strings.Repeat("x", 2<<20)}}
	if a := b.post("/targets", big); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB form: got %d, want 413", a.status)
	}
}

// BenchmarkPages measures rendering the busiest pages: a target with 50
// items (with their Jira links) and an item with comments and history.
func BenchmarkPages(b *testing.B) {
	e := newEnv(b, envOptions{})
	ctx := context.Background()
	tg, err := e.svc.CreateTarget(ctx, tracker.Target{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	var last tracker.Item
	for i := 0; i < 50; i++ {
		if last, err = e.svc.CreateItem(ctx, service.System, tg.ID, tracker.NewItem{Kind: "vulnerability", Title: "vuln", Severity: "high"}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		if _, err := e.svc.AddComment(ctx, service.System, last.ID, "a comment with **markdown**"); err != nil {
			b.Fatal(err)
		}
	}
	br := e.browser()
	br.signIn()
	for name, path := range map[string]string{"target-50-items": "/targets/" + tg.ID, "item-20-comments": "/items/" + last.ID} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if a := br.get(path); a.status != http.StatusOK {
					b.Fatalf("GET %s: %d", path, a.status)
				}
			}
		})
	}
}
