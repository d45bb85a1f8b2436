package jiraspec

import (
	"net/http"
	"testing"
)

// BenchmarkValidateRequest measures what the validator adds to every
// request the simulator serves or the client sends.
func BenchmarkValidateRequest(b *testing.B) {
	s := Load(b)
	req := newReq("POST", "/rest/api/3/issue", "application/json")
	body := []byte(`{"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Bug"},"summary":"XSS","labels":["a","b"],"description":{"type":"doc","version":1,"content":[]}}}`)
	for b.Loop() {
		if err := s.ValidateRequest(req, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateResponse measures validating Atlassian's serverInfo
// example answer.
func BenchmarkValidateResponse(b *testing.B) {
	s := Load(b)
	item := s.p.doc.Paths.Value("/rest/api/3/serverInfo")
	body := []byte(item.Get.Responses.Value("200").Value.Content.Get("application/json").Example.(string))
	req := newReq("GET", "/rest/api/3/serverInfo", "")
	h := http.Header{"Content-Type": []string{"application/json"}}
	for b.Loop() {
		if err := s.ValidateResponse(req, 200, h, body); err != nil {
			b.Fatal(err)
		}
	}
}
