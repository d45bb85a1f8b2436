package jirasim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"--addr", "127.0.0.1:0", "--deployment", "datacenter", "--seed", "5"}, &out, &errs)
	}()
	urlRe := regexp.MustCompile(`listening on (http://\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	var base string
	for base == "" {
		if m := urlRe.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Run ended early: %v (stderr %s)", err, errs.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL printed; stdout %q", out.String())
		}
	}
	if !strings.Contains(out.String(), "profile dc-10") || !strings.Contains(out.String(), "/rest/jira-webhook/1.0/webhooks") {
		t.Errorf("--deployment datacenter must run the newest Data Center profile: %q", out.String())
	}
	if !strings.Contains(out.String(), "admin-pat") || !strings.Contains(out.String(), "dev-pat") {
		t.Errorf("Data Center credentials not printed: %q", out.String())
	}
	req, _ := http.NewRequest("GET", base+"/rest/api/2/myself", nil)
	req.Header.Set("Authorization", "Bearer admin-pat")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET myself: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var me map[string]any
	if err := json.Unmarshal(b, &me); err != nil || me["name"] != "admin" {
		t.Errorf("myself: %d %s", res.StatusCode, b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--deployment", "server"}, {"--nope"}, {"extra"},
		{"--profile", "dc-8"}, {"--profile", "dc-9", "--deployment", "cloud"}, {"--profile", "cloud", "--deployment", "datacenter"}} {
		var out, errs bytes.Buffer
		if err := Run(context.Background(), args, &out, &errs); err == nil {
			t.Errorf("Run %v: got nil error", args)
		}
	}
}
