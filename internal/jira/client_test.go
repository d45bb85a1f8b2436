package jira

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const myselfCloud = `{"accountId":"5b10a2844c20165700ede21g","displayName":"Admin","emailAddress":"admin@example.test","active":true}`

func TestNewClientRejectsBadConfig(t *testing.T) {
	good := BasicAuth{Email: "a@example.test", APIToken: "t"}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no base URL", Config{Auth: good}},
		{"not http", Config{BaseURL: "ftp://jira.example.test", Auth: good}},
		{"credentials in URL", Config{BaseURL: "https://u:p@jira.example.test", Auth: good}},
		{"query in URL", Config{BaseURL: "https://jira.example.test?x=1", Auth: good}},
		{"no auth", Config{BaseURL: "https://jira.example.test"}},
		{"basic without token", Config{BaseURL: "https://jira.example.test", Auth: BasicAuth{Email: "a@example.test"}}},
		{"bearer without token", Config{BaseURL: "https://jira.example.test", Auth: BearerAuth{}}},
		{"unknown deployment", Config{BaseURL: "https://jira.example.test", Auth: good, Deployment: "server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.cfg)
			if !errors.Is(err, ErrInvalidArgument) || c != nil {
				t.Errorf("NewClient: got (%v, %v), want (nil, ErrInvalidArgument)", c, err)
			}
		})
	}
}

func TestAuthHeadersAndRedaction(t *testing.T) {
	tests := []struct {
		name       string
		deployment Deployment
		auth       Auth
		wantHeader string
		secret     string
	}{
		{"cloud basic", Cloud, BasicAuth{Email: "admin@example.test", APIToken: "s3cret-api-token"},
			"Basic " + base64.StdEncoding.EncodeToString([]byte("admin@example.test:s3cret-api-token")), "s3cret-api-token"},
		{"datacenter bearer", DataCenter, BearerAuth{Token: "s3cret-pat"}, "Bearer s3cret-pat", "s3cret-pat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeJira(t)
			f.reply("GET /rest/api/{v}/myself", 200, myselfCloud)
			logs := &logBuffer{}
			c := f.client(tt.deployment, func(cfg *Config) {
				cfg.Auth = tt.auth
				cfg.Logger = debugLogger(logs)
			})
			if _, err := c.Myself(context.Background()); err != nil {
				t.Fatalf("Myself: %v", err)
			}
			reqs := f.requests("GET /rest/api/")
			if len(reqs) != 1 {
				t.Fatalf("requests: got %d, want 1", len(reqs))
			}
			if got := reqs[0].Header.Get("Authorization"); got != tt.wantHeader {
				t.Errorf("Authorization: got %q, want %q", got, tt.wantHeader)
			}
			out := logs.String()
			if !strings.Contains(out, `"Authorization":"REDACTED"`) {
				t.Errorf("debug log does not show the redacted Authorization header: %s", out)
			}
			encoded := strings.TrimPrefix(tt.wantHeader, "Basic ")
			for _, s := range []string{tt.secret, encoded} {
				if strings.Contains(out, s) {
					t.Errorf("log contains a credential %q: %s", s, out)
				}
			}
			if s := fmt.Sprintf("%v %+v", tt.auth, Config{Auth: tt.auth}); strings.Contains(s, tt.secret) {
				t.Errorf("printing the auth shows the secret: %s", s)
			}
		})
	}
}

func TestDeploymentDetection(t *testing.T) {
	tests := []struct {
		deploymentType string
		want           Deployment
		wantPrefix     string
	}{
		{"Cloud", Cloud, "/rest/api/3/"},
		{"Server", DataCenter, "/rest/api/2/"},
		{"DataCenter", DataCenter, "/rest/api/2/"},
	}
	for _, tt := range tests {
		t.Run(tt.deploymentType, func(t *testing.T) {
			f := newFakeJira(t)
			f.reply("GET /rest/api/2/serverInfo", 200, fmt.Sprintf(
				`{"baseUrl":"http://jira","version":"10.3.1","versionNumbers":[10,3,1],"deploymentType":%q,"buildNumber":10030001,"serverTime":"2019-01-07T16:55:51.184-0330","serverTitle":"Jira"}`,
				tt.deploymentType))
			f.reply("GET /rest/api/{v}/myself", 200, myselfCloud)
			c := f.client("")
			for range 2 {
				if _, err := c.Myself(context.Background()); err != nil {
					t.Fatalf("Myself: %v", err)
				}
			}
			got, err := c.Deployment(context.Background())
			if err != nil || got != tt.want {
				t.Errorf("Deployment: got (%q, %v), want %q", got, err, tt.want)
			}
			if n := len(f.requests("GET /rest/api/2/serverInfo")); n != 1 {
				t.Errorf("serverInfo requests: got %d, want 1 (detected once)", n)
			}
			if n := len(f.requests("GET " + tt.wantPrefix + "myself")); n != 2 {
				t.Errorf("myself requests under %s: got %d, want 2", tt.wantPrefix, n)
			}
		})
	}
}

func TestConfiguredDeploymentSkipsDetection(t *testing.T) {
	f := newFakeJira(t)
	f.reply("GET /rest/api/2/myself", 200, `{"name":"admin","key":"JIRAUSER10000","displayName":"Admin","emailAddress":"admin@example.test","active":true}`)
	c := f.client(DataCenter)
	u, err := c.Myself(context.Background())
	if err != nil {
		t.Fatalf("Myself: %v", err)
	}
	if diff := cmp.Diff(User{Name: "admin", Key: "JIRAUSER10000", DisplayName: "Admin", EmailAddress: "admin@example.test", Active: true}, *u); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
	if n := len(f.requests("GET /rest/api/2/serverInfo")); n != 0 {
		t.Errorf("serverInfo requests: got %d, want 0", n)
	}
}

func TestErrorResponses(t *testing.T) {
	f := newFakeJira(t)
	f.reply("POST /rest/api/3/issue", 400, `{"errorMessages":["Issue type is required."],"errors":{"summary":"You must specify a summary of the issue.","customfield_10052":"Component is required."}}`)
	f.reply("GET /rest/api/3/issue/SEC-404", 404, `{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}`)
	c := f.client(Cloud)
	ctx := context.Background()

	_, err := c.CreateIssue(ctx, IssueCreate{ProjectKey: "SEC", IssueTypeName: "Bug", Summary: "x"})
	er := mustAs[*ErrorResponse](t, err)
	want := &ErrorResponse{StatusCode: 400, Method: "POST", Path: "/rest/api/3/issue",
		ErrorMessages: []string{"Issue type is required."},
		Errors:        map[string]string{"summary": "You must specify a summary of the issue.", "customfield_10052": "Component is required."}}
	if diff := cmp.Diff(want, er); diff != "" {
		t.Errorf("error response (-want +got):\n%s", diff)
	}
	for _, s := range []string{"400", "Issue type is required.", "customfield_10052: Component is required.", "create issue in SEC"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if IsNotFound(err) || IsRateLimited(err) || IsUnknownOutcome(err) {
		t.Errorf("400: IsNotFound/IsRateLimited/IsUnknownOutcome should all be false for %v", err)
	}

	_, err = c.GetIssue(ctx, "SEC-404", GetIssueOptions{})
	if !IsNotFound(err) {
		t.Errorf("IsNotFound(%v): got false, want true", err)
	}
	if n := len(f.requests("GET /rest/api/3/issue/SEC-404")); n != 1 {
		t.Errorf("404 retried: got %d requests, want 1", n)
	}
}

func TestNothingSentBeforeRetryAfter(t *testing.T) {
	f := newFakeJira(t)
	var calls atomic.Int32
	f.handle("GET /rest/api/3/myself", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "5")
			w.Header().Set("RateLimit-Reason", "jira-burst-based")
			w.Header().Set("X-RateLimit-Reset", "2025-03-01T12:00Z")
			writeJSON(w, 429, `{"errorMessages":["Rate limit exceeded."],"errors":{}}`)
			return
		}
		writeJSON(w, 200, myselfCloud)
	})
	f.reply("GET /rest/api/3/priority", 200, `[{"id":"1","name":"Highest"}]`)
	noRetry := f.client(Cloud, func(cfg *Config) { cfg.MaxRetries = -1 })
	ctx := context.Background()
	t0 := f.clock.Now()

	_, err := noRetry.Myself(ctx)
	rl := mustAs[*RateLimitError](t, err)
	if rl.RetryAfter != 5*time.Second || rl.Reason != "jira-burst-based" || !IsRateLimited(err) {
		t.Errorf("rate limit error: got %+v, want RetryAfter 5s, reason jira-burst-based", rl)
	}
	if want := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC); !rl.Reset.Equal(want) {
		t.Errorf("Reset: got %v, want %v", rl.Reset, want)
	}

	// A different endpoint, after the 429: it must wait too.
	if _, err := noRetry.Priorities(ctx); err != nil {
		t.Fatalf("Priorities: %v", err)
	}
	if got := f.requests("GET /rest/api/3/priority")[0].At; got.Before(t0.Add(5 * time.Second)) {
		t.Errorf("request after a 429 sent at +%v, before Retry-After (5s)", got.Sub(t0))
	}
}

func TestRetryAfterRetriesAndPerIssueLimit(t *testing.T) {
	f := newFakeJira(t)
	var gets, puts atomic.Int32
	f.handle("GET /rest/api/3/myself", func(w http.ResponseWriter, r *http.Request) {
		if gets.Add(1) == 1 {
			w.Header().Set("Retry-After", "7")
			writeJSON(w, 429, `{"errorMessages":["Too many requests"]}`)
			return
		}
		writeJSON(w, 200, myselfCloud)
	})
	f.handle("PUT /rest/api/3/issue/{key}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("key") == "SEC-1" && puts.Add(1) == 1 {
			w.Header().Set("Retry-After", "3")
			w.Header().Set("RateLimit-Reason", "jira-per-issue-on-write")
			writeJSON(w, 429, `{"errorMessages":["Too many writes to this issue"]}`)
			return
		}
		w.WriteHeader(204)
	})
	f.reply("GET /rest/api/3/issue/SEC-1", 200, `{"id":"10001","key":"SEC-1","fields":{"summary":"x"}}`)
	c := f.client(Cloud)
	ctx := context.Background()

	t0 := f.clock.Now()
	resp, err := c.Myself(ctx)
	if err != nil || resp.DisplayName != "Admin" {
		t.Fatalf("Myself: got (%v, %v), want the user after one retry", resp, err)
	}
	got := f.requests("GET /rest/api/3/myself")
	if len(got) != 2 {
		t.Fatalf("myself requests: got %d, want 2", len(got))
	}
	if d := got[1].At.Sub(t0); d < 7*time.Second {
		t.Errorf("retry sent at +%v, before Retry-After 7s", d)
	}

	// jira-per-issue-on-write holds writes to that issue only.
	noRetry := f.client(Cloud, func(cfg *Config) { cfg.MaxRetries = -1 })
	t1 := f.clock.Now()
	if err := noRetry.EditIssue(ctx, "SEC-1", map[string]any{"summary": "a"}, nil); !IsRateLimited(err) {
		t.Fatalf("EditIssue SEC-1: got %v, want a rate limit error", err)
	}
	if err := noRetry.EditIssue(ctx, "SEC-2", map[string]any{"summary": "b"}, nil); err != nil {
		t.Fatalf("EditIssue SEC-2: %v", err)
	}
	if _, err := noRetry.GetIssue(ctx, "SEC-1", GetIssueOptions{}); err != nil {
		t.Fatalf("GetIssue SEC-1: %v", err)
	}
	if at := f.requests("PUT /rest/api/3/issue/SEC-2")[0].At; !at.Equal(t1) {
		t.Errorf("write to another issue waited %v; a per-issue limit must not hold it", at.Sub(t1))
	}
	if at := f.requests("GET /rest/api/3/issue/SEC-1")[0].At; !at.Equal(t1) {
		t.Errorf("read of the limited issue waited %v; only writes are limited", at.Sub(t1))
	}
	if err := noRetry.EditIssue(ctx, "SEC-1", map[string]any{"summary": "c"}, nil); err != nil {
		t.Fatalf("EditIssue SEC-1 again: %v", err)
	}
	writes := f.requests("PUT /rest/api/3/issue/SEC-1")
	if d := writes[len(writes)-1].At.Sub(t1); d < 3*time.Second {
		t.Errorf("second write to SEC-1 sent at +%v, before its Retry-After 3s", d)
	}
}

func TestRateLimitWithoutRetryAfterUsesReset(t *testing.T) {
	f := newFakeJira(t)
	var n atomic.Int32
	f.handle("GET /rest/api/3/myself", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("X-RateLimit-Reset", "2025-03-01T12:01Z") // the fake clock starts at 12:00
			writeJSON(w, 429, "")
			return
		}
		writeJSON(w, 200, myselfCloud)
	})
	c := f.client(Cloud, func(cfg *Config) { cfg.Timeout = 5 * time.Minute })
	t0 := f.clock.Now()
	if _, err := c.Myself(context.Background()); err != nil {
		t.Fatalf("Myself: %v", err)
	}
	if d := f.requests("GET /rest/api/3/myself")[1].At.Sub(t0); d < time.Minute {
		t.Errorf("retry at +%v, before X-RateLimit-Reset (+1m)", d)
	}
}

func TestRetryAfterBeyondDeadlineFailsFast(t *testing.T) {
	f := newFakeJira(t)
	f.handle("GET /rest/api/3/myself", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.Header().Set("RateLimit-Reason", "jira-quota-tenant-based")
		writeJSON(w, 429, `{"errorMessages":["quota"]}`)
	})
	c := f.client(Cloud)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Myself(ctx)
	rl := mustAs[*RateLimitError](t, err)
	if rl.RetryAfter != 120*time.Second || rl.Reason != "jira-quota-tenant-based" {
		t.Errorf("rate limit: got %+v, want 120s jira-quota-tenant-based", rl)
	}
	if n := len(f.requests("GET /rest/api/3/myself")); n != 1 {
		t.Errorf("requests: got %d, want 1 (no retry that would pass the deadline)", n)
	}
	for _, d := range f.clock.Sleeps() {
		if d >= 120*time.Second {
			t.Errorf("slept %v although the deadline is 5s away", d)
		}
	}
	// And the next call on the connection fails fast the same way, sending nothing.
	_, err = c.Myself(ctx)
	if !IsRateLimited(err) {
		t.Errorf("next call: got %v, want a rate limit error", err)
	}
	if n := len(f.requests("GET /rest/api/3/myself")); n != 1 {
		t.Errorf("requests after the second call: got %d, want still 1", n)
	}
}

func TestRetry5xxWithBackoff(t *testing.T) {
	f := newFakeJira(t)
	var n atomic.Int32
	f.handle("GET /rest/api/3/myself", func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			writeJSON(w, 503, `{"errorMessages":["unavailable"]}`)
		case 2:
			writeJSON(w, 502, "")
		default:
			writeJSON(w, 200, myselfCloud)
		}
	})
	f.handle("GET /rest/api/3/priority", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 500, `{"errorMessages":["boom"]}`)
	})
	c := f.client(Cloud, func(cfg *Config) {
		cfg.BackoffBase = 100 * time.Millisecond
		cfg.MaxRetries = 3
	})
	if _, err := c.Myself(context.Background()); err != nil {
		t.Fatalf("Myself: %v", err)
	}
	// Jitter returns its maximum in these tests: the exponential caps.
	if diff := cmp.Diff([]time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, f.clock.Sleeps()); diff != "" {
		t.Errorf("backoff sleeps (-want +got):\n%s", diff)
	}

	_, err := c.Priorities(context.Background())
	if er := mustAs[*ErrorResponse](t, err); er.StatusCode != 500 {
		t.Errorf("status: got %d, want 500", er.StatusCode)
	}
	if got := len(f.requests("GET /rest/api/3/priority")); got != 4 {
		t.Errorf("attempts: got %d, want 4 (1 + MaxRetries)", got)
	}
}

func TestBackoffIsJittered(t *testing.T) {
	f := newFakeJira(t)
	f.reply("GET /rest/api/3/myself", 503, "")
	var asked []time.Duration
	c := f.client(Cloud, func(cfg *Config) {
		cfg.BackoffBase = time.Second
		cfg.BackoffMax = 3 * time.Second
		cfg.MaxRetries = 4
		cfg.Jitter = func(max time.Duration) time.Duration { asked = append(asked, max); return max / 2 }
	})
	_, _ = c.Myself(context.Background())
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}, asked); diff != "" {
		t.Errorf("jitter ranges (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Duration{500 * time.Millisecond, time.Second, 1500 * time.Millisecond, 1500 * time.Millisecond}, f.clock.Sleeps()); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

// hangFirst makes the first request hang until the client gives up on it.
func hangFirst(n *atomic.Int32, then http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			<-r.Context().Done()
			return
		}
		then(w, r)
	}
}

func TestRetryAfterAttemptTimeout(t *testing.T) {
	f := newFakeJira(t)
	var n atomic.Int32
	f.handle("GET /rest/api/3/myself", hangFirst(&n, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, myselfCloud) }))
	c := f.client(Cloud, func(cfg *Config) { cfg.AttemptTimeout = 50 * time.Millisecond })
	if _, err := c.Myself(context.Background()); err != nil {
		t.Fatalf("Myself: %v", err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("attempts: got %d, want 2", got)
	}
}

func TestRetryAfterBrokenConnection(t *testing.T) {
	f := newFakeJira(t)
	var n atomic.Int32
	f.handle("GET /rest/api/3/myself", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			conn.Close()
			return
		}
		writeJSON(w, 200, myselfCloud)
	})
	c := f.client(Cloud)
	if _, err := c.Myself(context.Background()); err != nil {
		t.Fatalf("Myself: %v", err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("attempts: got %d, want 2", got)
	}
}

func TestCreateIsNotRetriedBlindly(t *testing.T) {
	create := IssueCreate{ProjectKey: "SEC", IssueTypeName: "Bug", Summary: "SQL injection"}
	created := `{"id":"10001","key":"SEC-1","self":"http://jira/rest/api/3/issue/10001"}`
	tests := []struct {
		name        string
		handler     func(n *atomic.Int32) http.HandlerFunc
		wantUnknown bool
		wantErr     bool
		wantCalls   int32
		check       func(t *testing.T, err error)
	}{
		{
			name: "503", wantUnknown: true, wantErr: true, wantCalls: 1,
			handler: func(n *atomic.Int32) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { n.Add(1); writeJSON(w, 503, "") }
			},
			check: func(t *testing.T, err error) {
				if er := mustAs[*ErrorResponse](t, err); er.StatusCode != 503 {
					t.Errorf("wrapped status: got %d, want 503", er.StatusCode)
				}
			},
		},
		{
			name: "timeout", wantUnknown: true, wantErr: true, wantCalls: 1,
			handler: func(n *atomic.Int32) http.HandlerFunc {
				return hangFirst(n, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 201, created) })
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("error %v: want it to wrap context.DeadlineExceeded", err)
				}
			},
		},
		{
			name: "broken connection", wantUnknown: true, wantErr: true, wantCalls: 1,
			handler: func(n *atomic.Int32) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					n.Add(1)
					conn, _, _ := w.(http.Hijacker).Hijack()
					conn.Close()
				}
			},
		},
		{
			name: "400 is a definite failure", wantErr: true, wantCalls: 1,
			handler: func(n *atomic.Int32) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					n.Add(1)
					writeJSON(w, 400, `{"errorMessages":[],"errors":{"summary":"too long"}}`)
				}
			},
		},
		{
			name: "429 is retried", wantCalls: 2,
			handler: func(n *atomic.Int32) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					if n.Add(1) == 1 {
						w.Header().Set("Retry-After", "1")
						writeJSON(w, 429, "")
						return
					}
					writeJSON(w, 201, created)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeJira(t)
			var n atomic.Int32
			f.handle("POST /rest/api/3/issue", tt.handler(&n))
			c := f.client(Cloud, func(cfg *Config) { cfg.AttemptTimeout = 50 * time.Millisecond })
			got, err := c.CreateIssue(context.Background(), create)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CreateIssue: got (%v, %v), want error %v", got, err, tt.wantErr)
			}
			if IsUnknownOutcome(err) != tt.wantUnknown {
				t.Errorf("IsUnknownOutcome(%v): got %v, want %v", err, !tt.wantUnknown, tt.wantUnknown)
			}
			if n.Load() != tt.wantCalls {
				t.Errorf("create requests: got %d, want %d", n.Load(), tt.wantCalls)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			if !tt.wantErr && got.Key != "SEC-1" {
				t.Errorf("created key: got %q, want SEC-1", got.Key)
			}
		})
	}
}

func TestConnectionRefusedIsNotUnknownOutcome(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	clock := newFakeClock()
	c, err := NewClient(Config{BaseURL: url, Auth: BasicAuth{Email: "a@example.test", APIToken: "t"}, Deployment: Cloud,
		Clock: clock.Now, Sleep: clock.Sleep, MaxRetries: 2})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	_, err = c.CreateIssue(context.Background(), IssueCreate{ProjectKey: "SEC", IssueTypeName: "Bug", Summary: "x"})
	if err == nil || IsUnknownOutcome(err) {
		t.Fatalf("CreateIssue against a closed port: got %v, want a plain error (nothing was sent)", err)
	}
	if got := len(clock.Sleeps()); got != 2 {
		t.Errorf("backoff sleeps: got %d, want 2 (connection refused is retried)", got)
	}
}

func TestPerIssueWritePacing(t *testing.T) {
	f := newFakeJira(t)
	f.handle("PUT /rest/api/3/issue/{key}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	c := f.client(Cloud)
	ctx := context.Background()
	t0 := f.clock.Now()
	for i := range 101 {
		if err := c.EditIssue(ctx, "SEC-1", map[string]any{"summary": fmt.Sprint(i)}, nil); err != nil {
			t.Fatalf("EditIssue %d: %v", i, err)
		}
	}
	times := make([]time.Time, 0, 101)
	for _, r := range f.requests("PUT /rest/api/3/issue/SEC-1") {
		times = append(times, r.At)
	}
	for i := range times {
		if j := i + 20; j < len(times) && times[j].Sub(times[i]) < 2*time.Second {
			t.Fatalf("writes %d and %d to one issue %v apart: more than 20 in 2s", i, j, times[j].Sub(times[i]))
		}
		if j := i + 100; j < len(times) && times[j].Sub(times[i]) < 30*time.Second {
			t.Fatalf("writes %d and %d to one issue %v apart: more than 100 in 30s", i, j, times[j].Sub(times[i]))
		}
	}
	// The limiter is exact, not merely slow: the 101st write goes at +30s.
	if d := times[100].Sub(t0); d != 30*time.Second {
		t.Errorf("101st write at +%v, want +30s", d)
	}
	// Another issue is not held back by SEC-1's budget.
	now := f.clock.Now()
	if err := c.EditIssue(ctx, "SEC-2", map[string]any{"summary": "y"}, nil); err != nil {
		t.Fatalf("EditIssue SEC-2: %v", err)
	}
	if at := f.requests("PUT /rest/api/3/issue/SEC-2")[0].At; !at.Equal(now) {
		t.Errorf("write to SEC-2 waited %v", at.Sub(now))
	}
}

func TestEndpointPacing(t *testing.T) {
	f := newFakeJira(t)
	f.reply("GET /rest/api/3/issue/{key}", 200, `{"id":"1","key":"SEC-1","fields":{}}`)
	f.reply("GET /rest/api/3/myself", 200, myselfCloud)
	limits := DefaultLimits()
	limits.ReadBurst = Window{Max: 10, Per: time.Second}
	c := f.client(Cloud, func(cfg *Config) { cfg.Limits = &limits })
	ctx := context.Background()
	t0 := f.clock.Now()
	for i := range 25 {
		if _, err := c.GetIssue(ctx, fmt.Sprintf("SEC-%d", i+1), GetIssueOptions{}); err != nil {
			t.Fatalf("GetIssue: %v", err)
		}
	}
	var offsets []time.Duration
	for _, r := range f.requests("GET /rest/api/3/issue/") {
		offsets = append(offsets, r.At.Sub(t0))
	}
	var want []time.Duration
	for i := range 25 {
		want = append(want, time.Duration(i/10)*time.Second)
	}
	if diff := cmp.Diff(want, offsets); diff != "" {
		t.Errorf("send offsets for one endpoint at 10/s (-want +got):\n%s", diff)
	}
	now := f.clock.Now()
	if _, err := c.Myself(ctx); err != nil {
		t.Fatalf("Myself: %v", err)
	}
	if at := f.requests("GET /rest/api/3/myself")[0].At; !at.Equal(now) {
		t.Errorf("another endpoint waited %v", at.Sub(now))
	}
}

func TestContextDeadlineRespected(t *testing.T) {
	f := newFakeJira(t)
	f.handle("GET /rest/api/3/myself", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	f.reply("GET /rest/api/3/priority", 200, `[]`)
	c := f.client(Cloud, func(cfg *Config) { cfg.Timeout = 100 * time.Millisecond })

	_, err := c.Myself(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hung server with a 100ms Timeout: got %v, want context.DeadlineExceeded", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Priorities(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v, want context.Canceled", err)
	}
	if n := len(f.requests("GET /rest/api/3/priority")); n != 0 {
		t.Errorf("requests sent with a cancelled context: %d", n)
	}
}

func TestMaxConcurrency(t *testing.T) {
	f := newFakeJira(t)
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	arrived := make(chan struct{}, 10)
	f.handle("GET /rest/api/3/issue/{key}", func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		arrived <- struct{}{}
		<-release
		inFlight.Add(-1)
		writeJSON(w, 200, `{"id":"1","key":"SEC-1","fields":{}}`)
	})
	c := f.client(Cloud, func(cfg *Config) { cfg.MaxConcurrency = 2 })
	errs := make(chan error, 5)
	for i := range 5 {
		go func() {
			_, err := c.GetIssue(context.Background(), fmt.Sprintf("SEC-%d", i+1), GetIssueOptions{})
			errs <- err
		}()
	}
	// Two requests reach the server; the others wait for a slot.
	<-arrived
	<-arrived
	select {
	case <-arrived:
		t.Errorf("a third request arrived while two were in flight with MaxConcurrency 2")
	case <-time.After(100 * time.Millisecond): // long enough for a leaked request to arrive
	}
	close(release)
	for range 5 {
		if err := <-errs; err != nil {
			t.Errorf("GetIssue: %v", err)
		}
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("peak requests in flight: got %d, want 2", p)
	}
}

func TestResponseTooLarge(t *testing.T) {
	f := newFakeJira(t)
	f.reply("GET /rest/api/3/field", 200, `[`+strings.Repeat(`{"id":"summary","name":"Summary","custom":false},`, 100)+`{"id":"x","name":"x","custom":false}]`)
	c := f.client(Cloud, func(cfg *Config) { cfg.MaxResponseBytes = 1024 })
	_, err := c.Fields(context.Background())
	if !IsTooLarge(err) {
		t.Errorf("Fields with a 1 KiB limit: got %v, want a TooLargeError", err)
	}
}
