package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// A JSON value of the wrong type is named in JSON's words (string,
// number, boolean, object, array), never by the Go type it decodes into
// ("tracker.RetestResult"), which means nothing to a caller and shows the
// server's internals.
func TestDecodeNamesJSONTypes(t *testing.T) {
	type body struct {
		Result tracker.RetestResult `json:"result"`
		Status tracker.Status       `json:"status"`
		Flag   bool                 `json:"flag"`
		Count  int                  `json:"count"`
		Tags   []string             `json:"tags"`
		Fields map[string]any       `json:"fields"`
	}
	s := &server{maxJSON: 1 << 20}
	for _, tc := range []struct {
		in   string
		want *tracker.Error
	}{
		{`{"result": true}`, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid JSON body", Fields: map[string]string{"result": "must be string, not boolean"}}},
		{`{"status": 3}`, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid JSON body", Fields: map[string]string{"status": "must be string, not number"}}},
		{`{"flag": "yes"}`, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid JSON body", Fields: map[string]string{"flag": "must be boolean, not string"}}},
		{`{"count": "1"}`, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid JSON body", Fields: map[string]string{"count": "must be number, not string"}}},
		{`{"tags": "a"}`, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid JSON body", Fields: map[string]string{"tags": "must be array, not string"}}},
		{`{"fields": []}`, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid JSON body", Fields: map[string]string{"fields": "must be object, not array"}}},
		{`[]`, &tracker.Error{Kind: tracker.EInvalid, Message: "JSON body must be object, not array"}},
		{`"x"`, &tracker.Error{Kind: tracker.EInvalid, Message: "JSON body must be object, not string"}},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.in))
		var v body
		err := s.decode(httptest.NewRecorder(), r, &v)
		got, _ := err.(*tracker.Error)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("decode %s: (-want +got)\n%s", tc.in, diff)
		}
	}
}
