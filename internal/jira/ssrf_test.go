package jira

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A base URL that redirects to another host is not followed (the other
// host is never called), and an answer that is not Jira's JSON error is
// not echoed into our errors: an admin's URL must not turn vulnsync into a
// proxy that reads internal services back.
func TestRedirectsElsewhereAndForeignBodiesStayOut(t *testing.T) {
	var hit atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit.Add(1)
		w.Write([]byte(`{"baseUrl":"x","version":"1","deploymentType":"Cloud","secret":"INTERNAL-METADATA"}`))
	}))
	defer internal.Close()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/rest/api/2/serverInfo":
			http.Redirect(w, r, internal.URL+"/latest/meta-data", http.StatusFound)
		case "/rest/api/3/myself":
			http.Redirect(w, r, "/rest/api/3/myself-here", http.StatusFound) // same host: followed
		case "/rest/api/3/myself-here":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("<html>upstream INTERNAL-PAGE-CONTENT</html>"))
		}
	}))
	defer front.Close()
	c, err := NewClient(Config{BaseURL: front.URL, Auth: BasicAuth{Email: "a@example.test", APIToken: "t"}, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ServerInfo(context.Background())
	if err == nil || !strings.Contains(err.Error(), "another host") {
		t.Fatalf("serverInfo redirected elsewhere: %v, want a refusal", err)
	}
	if hit.Load() != 0 {
		t.Errorf("the other host was called %d times", hit.Load())
	}
	c, err = NewClient(Config{BaseURL: front.URL, Auth: BasicAuth{Email: "a@example.test", APIToken: "t"}, MaxRetries: -1, Deployment: Cloud})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Myself(context.Background())
	if err == nil || strings.Contains(err.Error(), "INTERNAL-PAGE-CONTENT") || !strings.Contains(err.Error(), "not shown") {
		t.Fatalf("a foreign error page: %v, want it named but not echoed", err)
	}
}
