package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/people"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// --- My account: tokens, sign out everywhere ------------------------------------

type accountData struct {
	Me       people.Me
	Tokens   []people.TokenView
	NewToken string // the secret of a token just created, shown once
	Error    string
}

func (u *ui) handleAccount(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	u.accountPage(w, r, sv, http.StatusOK, accountData{NewToken: u.sessions.popReveal(sv.ID, "token")})
}

func (u *ui) accountPage(w http.ResponseWriter, r *http.Request, sv *sessionView, status int, d accountData) {
	d.Me = people.WhoAmI(*sv.Actor)
	if d.Me.UserID != "" {
		ts, err := u.people.Tokens(r.Context(), *sv.Actor, d.Me.UserID)
		if err != nil {
			u.renderError(w, r, sv, err)
			return
		}
		d.Tokens = ts
	}
	u.render(w, r, sv, status, "account", "My account", "account", d)
}

func (u *ui) handleCreateMyToken(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	in := people.NewToken{Name: strings.TrimSpace(r.PostFormValue("name"))}
	if v := r.PostFormValue("expires"); v != "" {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			u.accountPage(w, r, sv, http.StatusBadRequest, accountData{Error: "The expiry must be a date."})
			return
		}
		in.ExpiresAt = t
	}
	tv, err := u.people.CreateToken(r.Context(), *sv.Actor, sv.Actor.UserID, in)
	if err != nil {
		p := u.explain(r, err)
		u.accountPage(w, r, sv, p.Status, accountData{Error: joinProblem(p)})
		return
	}
	u.sessions.setReveal(sv.ID, "token", tv.Token)
	u.sessions.addFlash(sv.ID, "ok", fmt.Sprintf("Token %q created. Copy it now: it is shown only once.", tv.Name))
	seeOther(w, r, "/account")
}

func (u *ui) handleRevokeToken(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	if err := u.people.RevokeToken(r.Context(), *sv.Actor, r.PathValue("id")); err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	u.sessions.addFlash(sv.ID, "ok", "The token was revoked: it no longer works anywhere.")
	back := "/account"
	if owner := r.PostFormValue("user"); owner != "" && owner != sv.Actor.UserID {
		back = "/users#user-" + url.PathEscape(owner)
	}
	seeOther(w, r, back)
}

// --- Users (admins) -------------------------------------------------------------

type usersData struct {
	Users  []tracker.User
	Roles  []tracker.Role
	Self   string
	Form   people.NewUser
	Errors map[string]string
	Error  string
}

func (u *ui) handleUsers(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	u.usersPage(w, r, sv, http.StatusOK, usersData{})
}

func (u *ui) usersPage(w http.ResponseWriter, r *http.Request, sv *sessionView, status int, d usersData) {
	us, err := u.people.Users(r.Context(), *sv.Actor)
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	d.Users, d.Roles, d.Self = us, tracker.Roles, sv.Actor.UserID
	if d.Form.Role == "" {
		d.Form.Role = tracker.RoleViewer
	}
	u.render(w, r, sv, status, "users", "Users", "users", d)
}

func (u *ui) handleCreateUser(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	in := people.NewUser{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Role: tracker.Role(r.PostFormValue("role"))}
	us, err := u.people.CreateUser(r.Context(), *sv.Actor, in)
	if err != nil {
		p := u.explain(r, err)
		u.usersPage(w, r, sv, p.Status, usersData{Form: in, Errors: p.Fields, Error: p.Message})
		return
	}
	u.sessions.addFlash(sv.ID, "ok", fmt.Sprintf("%s can now sign in as %s: give them a token (below) or let them use single sign-on.", us.Email, us.Role))
	seeOther(w, r, "/users#user-"+url.PathEscape(us.ID))
}

func (u *ui) handleUpdateUser(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	var p people.UserPatch
	if v := r.PostFormValue("role"); v != "" {
		role := tracker.Role(v)
		p.Role = &role
	}
	switch r.PostFormValue("active") {
	case "true":
		t := true
		p.Active = &t
	case "false":
		f := false
		p.Active = &f
	}
	us, err := u.people.UpdateUser(r.Context(), *sv.Actor, r.PathValue("id"), p)
	if err != nil {
		pr := u.explain(r, err)
		if pr.Status == http.StatusNotFound {
			u.renderError(w, r, sv, err)
			return
		}
		u.usersPage(w, r, sv, pr.Status, usersData{Error: joinProblem(pr)})
		return
	}
	u.sessions.addFlash(sv.ID, "ok", fmt.Sprintf("%s: %s, %s.", us.Email, us.Role, map[bool]string{true: "active", false: "deactivated (signed out everywhere)"}[us.Active]))
	seeOther(w, r, "/users#user-"+url.PathEscape(us.ID))
}

func (u *ui) handleCreateUserToken(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	id := r.PathValue("id")
	tv, err := u.people.CreateToken(r.Context(), *sv.Actor, id, people.NewToken{Name: strings.TrimSpace(r.PostFormValue("name"))})
	if err != nil {
		pr := u.explain(r, err)
		u.usersPage(w, r, sv, pr.Status, usersData{Error: joinProblem(pr)})
		return
	}
	u.sessions.addFlash(sv.ID, "ok", fmt.Sprintf("Token %q for this user: %s — copy it now and hand it over safely; it is shown only once.", tv.Name, tv.Token))
	seeOther(w, r, "/users#user-"+url.PathEscape(id))
}

// --- Audit log (admins) ---------------------------------------------------------

type auditData struct {
	Entries []store.AuditEntry
	Action  string
	Next    string
}

func (u *ui) handleAudit(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	q := r.URL.Query()
	f := store.AuditFilter{Action: strings.TrimSpace(q.Get("action")), Cursor: q.Get("cursor"), Limit: 100}
	page, err := u.people.Audit(r.Context(), *sv.Actor, f)
	if err != nil {
		u.renderError(w, r, sv, err)
		return
	}
	d := auditData{Entries: page.Entries, Action: f.Action}
	if page.NextCursor != "" {
		d.Next = "/audit?" + url.Values{"action": {f.Action}, "cursor": {page.NextCursor}}.Encode()
	}
	u.render(w, r, sv, http.StatusOK, "audit", "Audit log", "audit", d)
}
