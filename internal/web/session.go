package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vulnsync/vulnsync/internal/people"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// CookieName is the session cookie. Its value is a random session id; all
// session state stays on the server.
const CookieName = "vulnsync_session"

// CSRFField is the hidden form field carrying the session's synchronizer
// token; htmx requests may send it as the X-CSRF-Token header instead.
const CSRFField = "csrf_token"

// anonTTL bounds sessions that only exist to protect the sign-in form.
const anonTTL = time.Hour

// session is one browser's state held in this process: an anonymous
// session (the sign-in form's synchronizer token), or the passing UI state
// of a signed-in session (flashes, a secret to reveal once), keyed by the
// stored session's id. Who is signed in is never held here: it is read
// from the store (people.SessionFor) on every request, so a restart or
// another replica keeps people signed in, and a sign-out, a deactivation
// or a revoked token ends a session everywhere at once.
type session struct {
	id      string
	csrf    string
	actor   *service.Actor // always nil: signed-in sessions live in the store
	created time.Time
	seen    time.Time
	flashes []flash
	// reveal holds webhook secrets to show once, by connection id.
	reveal map[string]string
	// uiOnly marks the UI state of a stored session: never a session a
	// cookie can present.
	uiOnly bool
}

// sessionView is the immutable part of a session a request works with.
type sessionView struct {
	ID    string
	CSRF  string
	Actor *service.Actor
}

// sessions keeps sessions in memory, bounded in number and time.
type sessions struct {
	mu    sync.Mutex
	m     map[string]*session
	clock func() time.Time
	idle  time.Duration
	max   time.Duration
	limit int
}

func newSessions(clock func() time.Time, idle, max time.Duration, limit int) *sessions {
	return &sessions{m: map[string]*session{}, clock: clock, idle: idle, max: max, limit: limit}
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessions) expired(ss *session, now time.Time) bool {
	if ss.uiOnly {
		return now.Sub(ss.seen) >= s.idle
	}
	return now.Sub(ss.created) >= anonTTL
}

// create stores a new session (signed in when actor is set) and returns it.
func (s *sessions) create(actor *service.Actor) sessionView {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	if len(s.m) >= s.limit {
		s.evictLocked(now)
	}
	ss := &session{id: randomToken(), csrf: randomToken(), actor: actor, created: now, seen: now}
	s.m[ss.id] = ss
	return view(ss)
}

// evictLocked makes room: expired sessions go first, then the oldest
// anonymous one, then the least recently used.
func (s *sessions) evictLocked(now time.Time) {
	var oldestAnon, lru *session
	for id, ss := range s.m {
		if s.expired(ss, now) {
			delete(s.m, id)
			continue
		}
		if ss.actor == nil && (oldestAnon == nil || ss.created.Before(oldestAnon.created)) {
			oldestAnon = ss
		}
		if lru == nil || ss.seen.Before(lru.seen) {
			lru = ss
		}
	}
	if len(s.m) < s.limit {
		return
	}
	if oldestAnon != nil {
		delete(s.m, oldestAnon.id)
	} else if lru != nil {
		delete(s.m, lru.id)
	}
}

func view(ss *session) sessionView {
	return sessionView{ID: ss.id, CSRF: ss.csrf, Actor: ss.actor}
}

// get returns the live session with that id and marks it used.
func (s *sessions) get(id string) (sessionView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[id]
	if !ok || ss.uiOnly {
		return sessionView{}, false
	}
	now := s.clock()
	if s.expired(ss, now) {
		delete(s.m, id)
		return sessionView{}, false
	}
	ss.seen = now
	return view(ss), true
}

func (s *sessions) delete(id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// state returns the in-memory state of session id, creating the UI state
// of a stored session on first use.
func (s *sessions) state(id string) *session {
	ss, ok := s.m[id]
	if !ok {
		now := s.clock()
		if len(s.m) >= s.limit {
			s.evictLocked(now)
		}
		ss = &session{id: id, uiOnly: true, created: now, seen: now}
		s.m[id] = ss
	}
	ss.seen = s.clock()
	return ss
}

func (s *sessions) addFlash(id, kind, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.state(id); len(ss.flashes) < 20 {
		ss.flashes = append(ss.flashes, flash{Kind: kind, Text: text})
	}
}

func (s *sessions) popFlashes(id string) []flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[id]
	if !ok {
		return nil
	}
	out := ss.flashes
	ss.flashes = nil
	return out
}

// setReveal keeps a secret to show once on the next view of its connection.
func (s *sessions) setReveal(id, connID, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.state(id)
	if ss.reveal == nil {
		ss.reveal = map[string]string{}
	}
	ss.reveal[connID] = secret
}

func (s *sessions) popReveal(id, connID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[id]
	if !ok {
		return ""
	}
	v := ss.reveal[connID]
	delete(ss.reveal, connID)
	return v
}

// --- Middleware ----------------------------------------------------------------

func (u *ui) secureCookie(r *http.Request) bool {
	return u.cfg.SecureCookies || r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (u *ui) setCookie(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: u.secureCookie(r)})
}

func (u *ui) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: u.secureCookie(r)})
}

// currentSession returns the request's live session, or nil: a signed-in
// session from the store, else an anonymous one of this process.
func (u *ui) currentSession(r *http.Request) *sessionView {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return nil
	}
	if sess, err := u.people.SessionFor(r.Context(), c.Value); err == nil {
		a := sess.Actor
		return &sessionView{ID: sess.ID, CSRF: sess.CSRF, Actor: &a}
	} else if tracker.KindOf(err) != tracker.EUnauthorized {
		u.log.Error("read session", "err", err)
	}
	sv, ok := u.sessions.get(c.Value)
	if !ok {
		return nil
	}
	return &sv
}

// errForbidden is shown when a state-changing request fails the CSRF checks.
var errForbidden = tracker.Errorf(tracker.EForbidden, "this form was not sent from a vulnsync page of this session (it may have expired): reload the page and try again")

// checkPost guards every state-changing request: cross-origin browser
// requests are refused (Sec-Fetch-Site / Origin), the body is bounded and
// parsed, and the session's synchronizer token must come with it.
func (u *ui) checkPost(w http.ResponseWriter, r *http.Request, sv *sessionView) error {
	if err := u.xorigin.Check(r); err != nil {
		return errForbidden
	}
	// Refuse a foreign Origin outright, even where Sec-Fetch-Site said
	// same-origin. A proxy that rewrites Host is expected to pass the
	// original in X-Forwarded-Host (a cross-site form cannot set headers).
	if o := r.Header.Get("Origin"); o != "" {
		ou, err := url.Parse(o)
		fwd := r.Header.Get("X-Forwarded-Host")
		if err != nil || ou.Host == "" || !(strings.EqualFold(ou.Host, r.Host) || (fwd != "" && strings.EqualFold(ou.Host, fwd))) {
			return errForbidden
		}
	}
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "multipart/form-data") {
		r.Body = http.MaxBytesReader(w, r.Body, u.svc.MaxAttachmentBytes()+64<<10)
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return tracker.Errorf(tracker.ETooLarge, "the upload is larger than the limit of %s", humanBytes(u.svc.MaxAttachmentBytes()))
			}
			return tracker.Errorf(tracker.EInvalid, "malformed upload: %v", err)
		}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, u.cfg.MaxFormBytes)
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return tracker.Errorf(tracker.ETooLarge, "the form is larger than the limit of %s", humanBytes(u.cfg.MaxFormBytes))
			}
			return tracker.Errorf(tracker.EInvalid, "malformed form: %v", err)
		}
	}
	if sv == nil {
		return errForbidden
	}
	got := r.PostFormValue(CSRFField)
	if got == "" {
		got = r.Header.Get("X-CSRF-Token")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(sv.CSRF)) != 1 {
		return errForbidden
	}
	return nil
}

// anon serves the sign-in pages: they get a session (anonymous until sign-in)
// so the sign-in form has a synchronizer token too.
func (u *ui) anon(h func(http.ResponseWriter, *http.Request, *sessionView)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sv := u.currentSession(r)
		if r.Method == http.MethodPost {
			if err := u.checkPost(w, r, sv); err != nil {
				u.renderError(w, r, sv, err)
				return
			}
		} else if sv == nil {
			nsv := u.sessions.create(nil)
			u.setCookie(w, r, nsv.ID)
			sv = &nsv
		}
		h(w, r, sv)
	})
}

// authed serves pages for signed-in people whose role holds perm (the one
// rule, people.Authorize, as for the API): others are sent to sign in
// (plain GETs come back afterwards) or shown a 403 page, and every POST
// passes checkPost. The actor and the client address go into the
// request's context for the audit log.
func (u *ui) authed(perm tracker.Permission, h func(http.ResponseWriter, *http.Request, *sessionView)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(people.ContextWithRemote(r.Context(), r.RemoteAddr))
		sv := u.currentSession(r)
		if sv == nil || sv.Actor == nil {
			if r.Method != http.MethodGet {
				u.renderError(w, r, nil, tracker.Errorf(tracker.EForbidden, "your session has ended: sign in again"))
				return
			}
			to := "/signin?next=" + url.QueryEscape(r.URL.RequestURI())
			if r.Header.Get("HX-Request") == "true" {
				w.Header().Set("HX-Redirect", to)
				w.WriteHeader(http.StatusNoContent)
				return
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		if err := people.Authorize(*sv.Actor, perm); err != nil {
			u.renderError(w, r, sv, err)
			return
		}
		r = r.WithContext(service.ContextWithActor(r.Context(), *sv.Actor))
		if r.Method == http.MethodPost {
			if err := u.checkPost(w, r, sv); err != nil {
				u.renderError(w, r, sv, err)
				return
			}
			if r.MultipartForm != nil {
				defer func() { _ = r.MultipartForm.RemoveAll() }()
			}
		}
		h(w, r, sv)
	})
}

// localPath accepts only a path on this site as a redirect target, so
// sign-in cannot be used to send people elsewhere.
func localPath(p string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || len(p) > 2000 {
		return ""
	}
	v, err := url.Parse(p)
	if err != nil || v.Scheme != "" || v.Host != "" || strings.HasPrefix(v.Path, "/signin") || strings.HasPrefix(v.Path, "/signout") {
		return ""
	}
	return p
}

type signInData struct {
	Next  string
	Error string
	// OIDC offers single sign-on.
	OIDC bool
}

func (u *ui) handleSignInPage(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	next := localPath(r.URL.Query().Get("next"))
	if sv.Actor != nil {
		if next == "" {
			next = homePath
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	u.render(w, r, sv, http.StatusOK, "signin", "Sign in", "", signInData{Next: next, OIDC: u.cfg.OIDC != nil})
}

// handleSignIn checks the API token and replaces the anonymous session with
// a new signed-in one (a fresh id, so a planted session id is worthless).
func (u *ui) handleSignIn(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := localPath(r.PostFormValue("next"))
	if len(token) > 512 {
		token = ""
	}
	ctx := people.ContextWithRemote(r.Context(), r.RemoteAddr)
	sess, cookie, err := u.people.SignInWithToken(ctx, token)
	if err != nil {
		status, msg := http.StatusUnauthorized, "That token is not valid. Use an API token (the admin token printed on first start, or VULNSYNC_ADMIN_TOKEN)."
		if tracker.KindOf(err) != tracker.EUnauthorized {
			p := u.explain(r, err)
			status, msg = p.Status, p.Message
		}
		u.render(w, r, sv, status, "signin", "Sign in", "", signInData{Next: next, Error: msg, OIDC: u.cfg.OIDC != nil})
		return
	}
	u.sessions.delete(sv.ID)
	u.setCookie(w, r, cookie)
	if _, err := u.people.ExpireSessions(ctx); err != nil {
		u.log.Warn("expire sessions", "err", err)
	}
	_ = sess
	if next == "" {
		next = homePath
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (u *ui) handleSignOut(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if err := u.people.SignOut(r.Context(), people.Session{ID: sv.ID, Actor: *sv.Actor}); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	u.sessions.delete(sv.ID)
	u.clearCookie(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// handleSignOutEverywhere ends every session of the signed-in person, on
// every browser and replica.
func (u *ui) handleSignOutEverywhere(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if _, err := u.people.SignOutEverywhere(r.Context(), people.Session{ID: sv.ID, Actor: *sv.Actor}); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	u.sessions.delete(sv.ID)
	u.clearCookie(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// actorOf is the actor changes made through the UI are recorded under.
func actorOf(sv *sessionView) service.Actor {
	if sv == nil || sv.Actor == nil {
		return service.Actor{}
	}
	return *sv.Actor
}

// requireAdmin refuses the Jira setup to non-admin actors.
func requireAdmin(sv *sessionView) error {
	if sv.Actor == nil {
		return tracker.Errorf(tracker.EForbidden, "only admins can manage the Jira integration")
	}
	return people.Authorize(*sv.Actor, tracker.PermAdmin)
}
