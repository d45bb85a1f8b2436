package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/jirasync"
)

type countingReceiver struct{ n atomic.Int32 }

func (c *countingReceiver) Receive(context.Context, jirasync.Delivery) (jirasync.Receipt, error) {
	c.n.Add(1)
	return jirasync.Receipt{}, nil
}

// slowBody opens a delivery whose body never finishes arriving: the
// headers promise 100 bytes, one is sent.
func slowBody(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST /webhooks/jira/conn-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	return c, bufio.NewReader(c)
}

// Slow webhook bodies neither hold connections for ever (their read is
// cut off with a 400) nor pile up: past the cap, a delivery is answered
// 503 with Retry-After at once (Jira retries it) without being read.
func TestSlowWebhookBodiesAreBounded(t *testing.T) {
	rc := &countingReceiver{}
	s := newServer(Config{Webhooks: rc, MaxWebhookBodies: 2, WebhookReadTimeout: 300 * time.Millisecond})
	srv := httptest.NewServer(s.mux)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	c1, r1 := slowBody(t, addr)
	defer c1.Close()
	c2, r2 := slowBody(t, addr)
	defer c2.Close()
	// Wait until the server holds both slots (it reads the slow requests'
	// headers asynchronously): the state itself is watched, not a clock.
	deadline := time.Now().Add(5 * time.Second)
	for len(s.hookSlots) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the slow deliveries never took their slots")
		}
		runtime.Gosched()
	}
	third, err := http.Post(srv.URL+"/webhooks/jira/conn-1", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	third.Body.Close()
	if third.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("with both slots held by slow bodies: %d, want 503", third.StatusCode)
	}
	if third.Header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	for i, r := range []*bufio.Reader{r1, r2} {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("slow body %d: %v", i, err)
		}
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("slow body %d: status %d, want 400 after the read deadline", i, resp.StatusCode)
		}
	}
	received := rc.n.Load()
	resp, err := http.Post(srv.URL+"/webhooks/jira/conn-1", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || rc.n.Load() != received+1 {
		t.Errorf("after the slow bodies were cut off: status %d, received %d → %d", resp.StatusCode, received, rc.n.Load())
	}
}
