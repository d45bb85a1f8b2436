package web

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/vulnsync/vulnsync/internal/people"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// oidcCookie keeps a single sign-on in progress (state, nonce, PKCE
// verifier, where to go after) between the redirect to the identity
// provider and its callback. It is the browser's own: tampering with it
// only breaks that browser's sign-in, since the state must match the
// callback's and the verifier the code.
const oidcCookie = "vulnsync_oidc"

type oidcPending struct {
	people.Start
	Next string `json:"next"`
}

// handleOIDCStart sends the browser to the identity provider.
func (u *ui) handleOIDCStart(w http.ResponseWriter, r *http.Request) {
	if u.cfg.OIDC == nil {
		u.renderError(w, r, nil, tracker.Errorf(tracker.ENotFound, "single sign-on is not configured"))
		return
	}
	to, st, err := u.cfg.OIDC.AuthURL(r.Context())
	if err != nil {
		u.renderError(w, r, nil, err)
		return
	}
	raw, _ := json.Marshal(oidcPending{Start: st, Next: localPath(r.URL.Query().Get("next"))})
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: base64.RawURLEncoding.EncodeToString(raw), Path: "/signin/oidc",
		MaxAge: int((10 * time.Minute).Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: u.secureCookie(r)})
	http.Redirect(w, r, to, http.StatusFound)
}

// handleOIDCCallback finishes the sign-in the identity provider vouched
// for and starts a session (in the store).
func (u *ui) handleOIDCCallback(w http.ResponseWriter, r *http.Request) {
	if u.cfg.OIDC == nil {
		u.renderError(w, r, nil, tracker.Errorf(tracker.ENotFound, "single sign-on is not configured"))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/signin/oidc", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: u.secureCookie(r)})
	fail := func(err error) {
		u.render(w, r, nil, http.StatusUnauthorized, "signin", "Sign in", "", signInData{Error: "Single sign-on failed: " + u.explain(r, err).Message, OIDC: true})
	}
	c, err := r.Cookie(oidcCookie)
	var p oidcPending
	if err == nil {
		raw, derr := base64.RawURLEncoding.DecodeString(c.Value)
		err = derr
		if err == nil {
			err = json.Unmarshal(raw, &p)
		}
	}
	q := r.URL.Query()
	switch {
	case err != nil || p.State == "":
		fail(tracker.Errorf(tracker.EUnauthorized, "this sign-in was not started here or took too long; start again"))
		return
	case q.Get("error") != "":
		fail(tracker.Errorf(tracker.EUnauthorized, "the identity provider said %s", q.Get("error")))
		return
	case q.Get("state") != p.State:
		fail(tracker.Errorf(tracker.EUnauthorized, "the sign-in's state does not match; start again"))
		return
	}
	ctx := people.ContextWithRemote(r.Context(), r.RemoteAddr)
	id, err := u.cfg.OIDC.Exchange(ctx, q.Get("code"), p.Start)
	if err != nil {
		fail(err)
		return
	}
	_, cookie, err := u.people.SignInOIDC(ctx, u.cfg.OIDC, id)
	if err != nil {
		fail(err)
		return
	}
	if old := u.currentSession(r); old != nil && old.Actor == nil {
		u.sessions.delete(old.ID)
	}
	u.setCookie(w, r, cookie)
	next := p.Next
	if next == "" {
		next = homePath
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
