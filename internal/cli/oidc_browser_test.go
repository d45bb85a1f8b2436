package cli

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"
)

// Single sign-on in real Chromium, against mockoidc as the identity
// provider (in-process, authorization code flow with PKCE): the first
// sign-in creates the user with the default role; a group claim maps to
// analyst; sign-out ends the session; a session survives a restart of
// vulnsync (sessions are in the store).
func TestSingleSignOnInTheBrowser(t *testing.T) {
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Shutdown()
	cfg := idp.Config()
	dir := t.TempDir()
	env := map[string]string{"VULNSYNC_OIDC_CLIENT_SECRET": cfg.ClientSecret}
	args := []string{"--oidc-issuer", cfg.Issuer, "--oidc-client-id", cfg.ClientID, "--oidc-group-roles", "appsec=analyst"}
	a := startServe(t, dir, env, args...)
	b, ctx := newTab(t, a.baseURL)

	signInSSO := func(who string) {
		t.Helper()
		if got := b.open(ctx, "/signin"); got != http.StatusOK {
			t.Fatalf("sign-in page: %d", got)
		}
		if got := b.submit(ctx, "single sign-on as "+who, "#signin-oidc"); got != http.StatusOK {
			t.Fatalf("single sign-on as %s: status %d", who, got)
		}
		if loc := b.location(ctx); loc != "/dashboard" {
			t.Fatalf("after single sign-on as %s: at %q, want /dashboard", who, loc)
		}
	}
	role := func() string {
		t.Helper()
		b.open(ctx, "/account")
		return strings.TrimSpace(b.text(ctx, ".page-head .pill"))
	}

	idp.QueueUser(&mockoidc.MockUser{Subject: "alice-1", Email: "alice@example.test", EmailVerified: true, PreferredUsername: "Alice Smith"})
	signInSSO("alice")
	if got := role(); got != "viewer" {
		t.Errorf("first sign-in: role %q, want the default viewer", got)
	}
	var users struct {
		Users []struct{ Email, Name, Role string } `json:"users"`
	}
	a.mustDo(200, "GET", "/api/v1/users", nil, &users)
	if len(users.Users) != 1 || users.Users[0].Email != "alice@example.test" || users.Users[0].Name != "Alice Smith" {
		t.Fatalf("users after the first sign-in: %+v", users.Users)
	}
	b.do(ctx, "sign out", chromedp.Click(chromedp.CSS(`form[action="/signout"] button`), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS("#signin-oidc")))
	if got := b.open(ctx, "/account"); got != http.StatusOK || !strings.HasPrefix(b.location(ctx), "/signin") {
		t.Fatalf("after sign-out: %d at %s, want the sign-in page", got, b.location(ctx))
	}

	idp.QueueUser(&mockoidc.MockUser{Subject: "bob-1", Email: "bob@example.test", EmailVerified: true, PreferredUsername: "Bob", Groups: []string{"appsec"}})
	signInSSO("bob")
	if got := role(); got != "analyst" {
		t.Errorf("a member of appsec: role %q, want analyst", got)
	}

	// Restart vulnsync on the same data: the browser is still signed in
	// as Bob (cookies go to the host whatever the port).
	a.stop()
	restarted := startServe(t, dir, env, args...)
	b.base = restarted.baseURL
	if got := b.open(ctx, "/account"); got != http.StatusOK || b.location(ctx) != "/account" {
		t.Fatalf("after a restart: %d at %s, want the account page", got, b.location(ctx))
	}
	if who := b.text(ctx, "dl.details dd"); who != "Bob" {
		t.Errorf("after a restart signed in as %q, want Bob", who)
	}
}
