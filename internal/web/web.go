// Package web is vulnsync's browser UI: server-rendered pages, embedded in
// the binary, through which a security lead follows the admin flow of
// PRODUCT.md §2 (connect Jira, integrate targets, configure the mapping and
// the webhook, watch the sync) and works with targets and items.
//
// Pages are html/template (which escapes every user-supplied value) with a
// little htmx for inline interactions; nothing loads from another origin.
// People sign in with an API token and get a server-side session; every
// state-changing request is checked against cross-origin use and against the
// session's synchronizer token, so a forged form changes nothing.
package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/people"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// SyncEventsFunc lists the recorded sync actions of an integration (of one
// item when itemID is set). The sync engine provides it; the UI only shows.
type SyncEventsFunc func(ctx context.Context, integrationID, itemID string) ([]store.SyncEvent, error)

// RetryJobFunc retries failed sync work by hand (G12). The sync engine
// provides it.
type RetryJobFunc func(ctx context.Context, jobID int64) error

// Config wires the UI to the rest of the process. Only Tracker is required:
// without Integrations the Jira pages say the integration is not configured,
// and nil functions hide what they would have shown.
type Config struct {
	Tracker *service.Service
	// People resolves sessions (kept in the store) and signs people in
	// and out.
	People       *people.Service
	Integrations *integration.Service
	Logger       *slog.Logger
	// Links resolves the Jira issue linked to items (the same lookup the API
	// uses); nil shows no Jira keys.
	Links func(ctx context.Context, itemIDs []string) (map[string]tracker.JiraRef, error)
	// SyncEvents feeds the sync log of items and integrations; nil hides it.
	SyncEvents SyncEventsFunc
	// SyncEventPage reads one page of an integration's sync log, filtered
	// (the API's events); nil shows the newest events without filters or
	// pages.
	SyncEventPage func(ctx context.Context, f store.SyncEventFilter) (store.SyncEventPage, error)
	// ConnectionHealth reads a Jira connection's health (its last webhook
	// received) for the dashboard; nil shows the last webhook as unknown.
	ConnectionHealth func(ctx context.Context, connectionID string) (store.ConnectionHealth, error)
	// WebhookHealth reads a connection's webhook deliveries by result and
	// its newest rejections for the connection page; nil hides the panel.
	WebhookHealth func(ctx context.Context, connectionID string) (store.WebhookHealth, error)
	// RetryJob backs the retry buttons of failed sync work; nil hides them.
	RetryJob RetryJobFunc
	// Backfill starts a backfill of an integration (it returns how many
	// items were queued); nil hides the button.
	Backfill func(ctx context.Context, integrationID string) (int, error)
	// SecureCookies marks the session cookie Secure even on plain-HTTP
	// requests (set it behind a TLS-terminating proxy). Requests that arrive
	// over TLS always get Secure cookies.
	SecureCookies bool
	// Clock drives session expiry; tests inject their own. Default time.Now.
	Clock func() time.Time
	// SessionIdle ends a signed-in session unused for this long (default
	// 8 h); SessionMax ends any session this long after sign-in (default
	// 24 h). MaxSessions bounds the sessions kept in memory (default 10,000).
	SessionIdle time.Duration
	SessionMax  time.Duration
	MaxSessions int
	// LinkIssue links an item to an existing Jira issue by key and
	// UnlinkIssue unlinks it (the sync engine's); nil hides the controls.
	LinkIssue   func(ctx context.Context, itemID, issueKey string) error
	UnlinkIssue func(ctx context.Context, itemID string) error
	// Preview answers what the Jira issue of an item would be, writing
	// nothing; nil hides the link.
	Preview func(ctx context.Context, itemID string) (any, error)
	// OIDC, when set, offers single sign-on on the sign-in page.
	OIDC *people.OIDC
	// MaxFormBytes bounds url-encoded form bodies (default 1 MiB); uploads
	// are bounded by the tracker's attachment limit.
	MaxFormBytes int64
}

// ui is the UI handler.
type ui struct {
	cfg      Config
	svc      *service.Service
	people   *people.Service
	integ    *integration.Service
	log      *slog.Logger
	sessions *sessions
	pages    map[string]*template.Template
	base     *template.Template // layout and partials
	assets   map[string]string  // file name → cache-busting version
	mux      *http.ServeMux
	patterns []string // as registered, for the role table test
	xorigin  *http.CrossOriginProtection
}

// homePath is where a signed-in person lands (from / and after sign-in
// without a page to return to): the dashboard, the page a security lead
// opens every morning.
const homePath = "/dashboard"

// New returns the handler serving the UI: / (to /dashboard or /signin),
// /signin, /signout, /dashboard, /targets/..., /items/..., /attachments/...,
// /integrations/... and /static/.... Mount it on "/" of the process mux.
func New(cfg Config) http.Handler {
	u := newUI(cfg)
	return u.secureHeaders(u.mux)
}

// newUI builds the UI's parts and routes.
func newUI(cfg Config) *ui {
	if cfg.Tracker == nil || cfg.People == nil {
		panic("web.New: Config.Tracker and Config.People are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 8 * time.Hour
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 24 * time.Hour
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 10000
	}
	if cfg.MaxFormBytes <= 0 {
		cfg.MaxFormBytes = 1 << 20
	}
	u := &ui{
		cfg: cfg, svc: cfg.Tracker, people: cfg.People, integ: cfg.Integrations, log: cfg.Logger,
		sessions: newSessions(cfg.Clock, cfg.SessionIdle, cfg.SessionMax, cfg.MaxSessions),
		mux:      http.NewServeMux(),
		xorigin:  http.NewCrossOriginProtection(),
	}
	u.assets = assetVersions()
	u.base, u.pages = u.parseTemplates()
	u.routes()
	return u
}

// assetVersions hashes each static file so pages can link them with a
// version that changes with their content (long caching, no stale CSS).
func assetVersions() map[string]string {
	out := map[string]string{}
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:4])
		return nil
	})
	return out
}

func (u *ui) parseTemplates() (*template.Template, map[string]*template.Template) {
	funcs := template.FuncMap{
		"asset": func(name string) string {
			return "/static/" + name + "?v=" + u.assets[name]
		},
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"bytes": humanBytes,
		"pct": func(done, total int) int {
			if total <= 0 {
				return 0
			}
			return done * 100 / total
		},
		"value":    displayValue,
		"sentence": sentence,
		"domid":    domID,
		"markdown": renderMarkdown,
		"label":    label,
		"fold":     foldError,
	}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/live.html"))
	pages := map[string]*template.Template{}
	entries, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		panic(fmt.Sprintf("web: read templates: %v", err))
	}
	for _, e := range entries {
		name := e.Name()
		if name == "layout.html" || name == "partials.html" || name == "live.html" {
			continue
		}
		pages[strings.TrimSuffix(name, ".html")] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name))
	}
	return base, pages
}

// routes lists every page of the UI in one place.
// patternMux records the patterns registered on the UI's mux, so tests
// can hold every page to the role table.
type patternMux struct {
	*http.ServeMux
	patterns *[]string
}

func (m patternMux) Handle(pattern string, h http.Handler) {
	*m.patterns = append(*m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m patternMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

func (u *ui) routes() {
	m := patternMux{ServeMux: u.mux, patterns: &u.patterns}
	// Public.
	m.Handle("GET /static/", u.staticHandler())
	m.HandleFunc("GET /{$}", u.handleRoot)
	m.Handle("GET /signin", u.anon(u.handleSignInPage))
	m.Handle("POST /signin", u.anon(u.handleSignIn))
	m.HandleFunc("GET /signin/oidc", u.handleOIDCStart)
	m.HandleFunc("GET /signin/oidc/callback", u.handleOIDCCallback)
	// Signed in.
	// Each page needs a permission of the role (tracker.Role.Allows), as
	// the API's routes do: viewers read, analysts also write findings,
	// admins also run the Jira setup.
	type page = func(http.ResponseWriter, *http.Request, *sessionView)
	a := func(h page) http.Handler { return u.authed(tracker.PermRead, h) }
	wr := func(h page) http.Handler { return u.authed(tracker.PermWrite, h) }
	ad := func(h page) http.Handler { return u.authed(tracker.PermAdmin, h) }
	m.Handle("POST /signout", a(u.handleSignOut))
	m.Handle("POST /signout/everywhere", a(u.handleSignOutEverywhere))

	m.Handle("GET /dashboard", a(u.handleDashboard))
	m.Handle("GET /targets", a(u.handleTargets))
	m.Handle("POST /targets", wr(u.handleCreateTarget))
	m.Handle("GET /targets/{id}", a(u.handleTarget))
	m.Handle("POST /targets/{id}/items", wr(u.handleCreateItem))
	m.Handle("POST /targets/{id}/imports", wr(u.handleImport))
	m.Handle("POST /targets/{id}/items/bulk", wr(u.handleBulkEdit))
	m.Handle("GET /targets/{id}/items.csv", a(u.handleExportCSV))
	m.Handle("GET /items/{id}", a(u.handleItem))
	m.Handle("POST /items/{id}", wr(u.handleUpdateItem))
	m.Handle("POST /items/{id}/comments", wr(u.handleAddComment))
	m.Handle("POST /items/{id}/attachments", wr(u.handleUpload))
	m.Handle("GET /items/{id}/delete", wr(u.handleDeletePage))
	m.Handle("POST /items/{id}/delete", wr(u.handleDeleteItem))
	m.Handle("GET /items/{id}/jira-preview", a(u.handlePreview))
	m.Handle("POST /items/{id}/jira-link", ad(u.handleLinkIssue))
	m.Handle("POST /items/{id}/jira-unlink", ad(u.handleUnlinkIssue))
	m.Handle("POST /items/{id}/retest", wr(u.handleRetest))
	m.Handle("GET /acceptances", a(u.handleAcceptances))
	m.Handle("POST /acceptances/{id}/approve", ad(u.decideAcceptance(u.svc.ApproveAcceptance, "approved")))
	m.Handle("POST /acceptances/{id}/reject", ad(u.decideAcceptance(u.svc.RejectAcceptance, "rejected")))
	m.Handle("POST /acceptances/{id}/revoke", ad(u.decideAcceptance(u.svc.RevokeAcceptance, "revoked")))
	m.Handle("POST /acceptances", wr(u.handleRequestAcceptance))
	m.Handle("GET /attachments/{id}", a(u.handleDownload))

	m.Handle("GET /account", a(u.handleAccount))
	m.Handle("POST /account/tokens", a(u.handleCreateMyToken))
	m.Handle("POST /tokens/{id}/revoke", a(u.handleRevokeToken))
	m.Handle("GET /users", ad(u.handleUsers))
	m.Handle("POST /users", ad(u.handleCreateUser))
	m.Handle("POST /users/{id}", ad(u.handleUpdateUser))
	m.Handle("POST /users/{id}/tokens", ad(u.handleCreateUserToken))
	m.Handle("GET /audit", ad(u.handleAudit))

	m.Handle("GET /integrations", ad(u.handleIntegrations))
	m.Handle("GET /integrations/jira/connect", ad(u.handleConnectPage))
	m.Handle("POST /integrations/jira/connect", ad(u.handleConnect))
	m.Handle("GET /integrations/jira/projects", ad(u.handleProjectOptions))
	m.Handle("GET /integrations/jira/{conn}", ad(u.handleConnection))
	m.Handle("POST /integrations/jira/{conn}/test", ad(u.handleTestConnection))
	m.Handle("POST /integrations/jira/{conn}/webhook-secret", ad(u.handleWebhookSecret))
	m.Handle("POST /integrations/jira/{conn}/credentials", ad(u.handleCredentials))
	m.Handle("POST /integrations/jira/{conn}/webhook", ad(u.handleRegisterWebhook))
	m.Handle("GET /integrations/targets", ad(u.handleSyncSetup))
	m.Handle("POST /integrations/targets", ad(u.handleIntegrate))
	m.Handle("GET /integrations/targets/{id}/configure", ad(u.handleConfigure))
	m.Handle("POST /integrations/targets/{id}/configure", ad(u.handleSaveMapping))
	m.Handle("POST /integrations/targets/{id}/remove", ad(u.handleRemoveIntegration))
	m.Handle("GET /integrations/targets/{id}/activity", a(u.handleActivity))
	m.Handle("GET /integrations/targets/{id}/log", a(u.handleSyncLogLive))
	m.Handle("GET /integrations/targets/{id}/people", ad(u.handlePeople))
	m.Handle("POST /integrations/targets/{id}/jobs/{job}/retry", ad(u.handleRetryJob))
	m.Handle("POST /integrations/targets/{id}/backfill", ad(u.handleBackfill))
	m.Handle("POST /integrations/targets/{id}/pause", ad(u.handlePause))
	m.Handle("POST /integrations/targets/{id}/resume", ad(u.handleResume))
	// Live fragments (live.go), read like the pages that include them.
	m.Handle("GET /integrations/targets/{id}/live", a(u.handleIntegrationLive))
	m.Handle("GET /items/{id}/live", a(u.handleItemLive))

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		u.renderError(w, r, nil, tracker.Errorf(tracker.ENotFound, "no such page: %s", r.URL.Path))
	})
}

func (u *ui) staticHandler() http.Handler {
	files := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || path.Ext(r.URL.Path) == "" {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=300")
		}
		files.ServeHTTP(w, r)
	})
}

// secureHeaders sets the headers every answer carries: a strict content
// security policy (scripts and styles only from this origin, no framing),
// no sniffing, and no caching of pages that show private data.
func (u *ui) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

func (u *ui) handleRoot(w http.ResponseWriter, r *http.Request) {
	if sv := u.currentSession(r); sv != nil && sv.Actor != nil {
		http.Redirect(w, r, homePath, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// --- Rendering ---------------------------------------------------------------

// flash is a one-time notice shown on the next page a person sees.
type flash struct {
	Kind string // "ok" or "error"
	Text string
}

// page is what every template receives.
type page struct {
	Title string
	Nav   string
	Actor *service.Actor
	CSRF  string
	Flash []flash
	Data  any
}

func (u *ui) render(w http.ResponseWriter, r *http.Request, sv *sessionView, status int, name, title, nav string, data any) {
	t, ok := u.pages[name]
	if !ok {
		u.log.ErrorContext(r.Context(), "missing page template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p := page{Title: title, Nav: nav, Data: data}
	if sv != nil {
		p.Actor, p.CSRF = sv.Actor, sv.CSRF
		p.Flash = u.sessions.popFlashes(sv.ID)
	}
	u.execute(w, r, status, t, "layout", p)
}

// renderPartial renders one named template of a page without the layout
// (answers to htmx requests).
func (u *ui) renderPartial(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	u.execute(w, r, status, u.base, name, data)
}

func (u *ui) execute(w http.ResponseWriter, r *http.Request, status int, t *template.Template, name string, data any) {
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		u.log.ErrorContext(r.Context(), "render page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// problem is an error as a page shows it: status, message and, for
// validation failures, one problem per field.
type problem struct {
	Status  int
	Message string
	Fields  map[string]string
}

// explain turns err into what a person may see. Internal errors are logged
// and shown without detail.
func (u *ui) explain(r *http.Request, err error) problem {
	var e *tracker.Error
	if !errors.As(err, &e) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			e = tracker.Errorf(tracker.ETooLarge, "the form is larger than the limit of %s", humanBytes(mbe.Limit))
		} else {
			e = &tracker.Error{Kind: tracker.EInternal, Message: "internal error"}
		}
	}
	status := e.Kind.HTTPStatus()
	if status >= 500 {
		u.log.ErrorContext(r.Context(), "ui request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		if e.Kind == tracker.EInternal {
			return problem{Status: status, Message: "Something went wrong on our side; the error was logged."}
		}
	}
	return problem{Status: status, Message: e.Message, Fields: e.Fields}
}

// renderError shows an error page for err.
func (u *ui) renderError(w http.ResponseWriter, r *http.Request, sv *sessionView, err error) {
	p := u.explain(r, err)
	if r.Header.Get("HX-Request") == "true" {
		u.renderPartial(w, r, p.Status, "error-inline", p)
		return
	}
	u.render(w, r, sv, p.Status, "error", http.StatusText(p.Status), "", p)
}

// seeOther answers a successful form post: a redirect for plain forms, and
// the same through HX-Redirect for htmx requests.
func seeOther(w http.ResponseWriter, r *http.Request, to string) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// domID turns a form key (which may hold a Jira status name with spaces
// and quotes) into a valid HTML id.
func domID(key string) string {
	b := []byte(key)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}
