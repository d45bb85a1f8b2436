package web

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFoldErrorKeepsPeoplesWordsInTheHeadline(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want foldedError
	}{
		{`could not reach Jira's serverInfo: detect deployment: jira: GET /rest/api/2/serverInfo after 5 attempts: Get "http://127.0.0.1:1/rest/api/2/serverInfo": dial tcp 127.0.0.1:1: connect: connection refused`,
			foldedError{Head: "could not reach Jira's serverInfo", Detail: `could not reach Jira's serverInfo: detect deployment: jira: GET /rest/api/2/serverInfo after 5 attempts: Get "http://127.0.0.1:1/rest/api/2/serverInfo": dial tcp 127.0.0.1:1: connect: connection refused`}},
		{"Registering the webhook in Jira failed: Jira forbade the service account to register the webhook (403): the account lacks permission",
			foldedError{Head: "Registering the webhook in Jira failed: Jira forbade the service account to register the webhook (403): the account lacks permission"}},
		{`invalid mapping: field "customfield_10052" is required on Bug`, foldedError{Head: `invalid mapping: field "customfield_10052" is required on Bug`}},
		{"malformed mapping document: unexpected end of JSON input", foldedError{Head: "malformed mapping document", Detail: "malformed mapping document: unexpected end of JSON input"}},
		{"no such page: /x", foldedError{Head: "no such page: /x"}},
		{"", foldedError{}},
	} {
		if diff := cmp.Diff(tc.want, foldError(tc.msg)); diff != "" {
			t.Errorf("foldError(%q) (-want +got):\n%s", tc.msg, diff)
		}
	}
}

// Replacing the credentials with ones Jira refuses keeps the email typed
// (not the stored one), never the secret, and says why in words.
func TestReplaceCredentialsKeepsWhatWasTyped(t *testing.T) {
	e := newEnv(t, envOptions{jira: true})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/integrations")
	conn := b.connect(tok)
	a := b.post(conn+"/credentials", url.Values{"csrf_token": {tok}, "auth_type": {"basic"}, "email": {"typed@example.test"}, "secret": {"wrong-token-typed"}})
	if a.status < 400 || a.status >= 500 {
		t.Fatalf("refused credentials: status %d", a.status)
	}
	if !strings.Contains(a.body, `id="credentials-error"`) || !strings.Contains(a.body, `value="typed@example.test"`) {
		t.Errorf("the page does not say why or lost the typed email: %.3000s", a.body)
	}
	if strings.Contains(a.body, "wrong-token-typed") {
		t.Errorf("the page shows the typed secret again")
	}
}

// The connection page lists webhook deliveries by result, zeros for the
// two that always matter, and says when no delivery was rejected.
func TestConnectionPageShowsWebhookHealth(t *testing.T) {
	e := newEnv(t, envOptions{jira: true})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/integrations")
	page := b.get(b.connect(tok)).body
	for _, want := range []string{`id="webhook-health"`, `<tr data-result="accepted"><td>Accepted</td><td class="num">0</td></tr>`,
		`data-result="unauthorized"`, "No delivery was rejected.", "none yet", `id="rotate-secret-confirm"`} {
		if !strings.Contains(page, want) {
			t.Errorf("connection page lacks %q", want)
		}
	}
}
