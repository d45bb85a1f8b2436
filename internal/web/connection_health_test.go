package web

import (
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
