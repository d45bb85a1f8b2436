package cli

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/store/storetest"
)

// Three `vulnsync serve` processes share one PostgreSQL database behind a
// round-robin proxy that is both the API address and the webhook URL Jira
// calls. API edits and Jira edits (webhooks delivered by the simulator)
// reach all three while one of them is killed with SIGKILL and started
// again. Afterwards: no delivery the proxy answered 2xx for is lost, every
// item has exactly one Jira issue, every job finished, both sides agree,
// and the replicas that were not set up by hand ran sync work too.
func TestPostgresThreeReplicasSurviveAKill(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	started := time.Now()
	bin := buildVulnsync(t)
	t.Logf("built vulnsync in %s", time.Since(started).Round(time.Millisecond))
	built := time.Now()

	sim, simURL := jirasim.StartTest(t, jirasim.Config{Seed: 13, WebhookWorkers: 4})
	lb := &roundRobin{}
	front := httptest.NewServer(lb)
	t.Cleanup(front.Close)
	dataDir := t.TempDir() // shared: the replicas need the same secret key
	start := func(name string) *replica {
		t.Helper()
		return startReplica(t, bin, name, dsn, dataDir, front.URL)
	}
	replicas := []*replica{start("r0")} // the first creates the secret key
	replicas = append(replicas, start("r1"), start("r2"))
	lb.set(replicas)

	// Set up through the first replica only, so the Jira calls the others
	// make are their sync work.
	r0 := &replicaClient{t: t, base: replicas[0].url}
	var conn, target, in struct {
		ID string `json:"id"`
	}
	r0.must(201, "POST", "/api/v1/jira/connections", map[string]any{"name": "sim", "base_url": simURL,
		"auth": map[string]any{"type": "basic", "email": "admin@example.test", "api_token": jirasim.AdminToken}}, &conn)
	r0.must(201, "POST", "/api/v1/targets", map[string]any{"name": "fleet"}, &target)
	r0.must(201, "POST", "/api/v1/integrations", map[string]any{"connection_id": conn.ID, "target_id": target.ID, "project_key": "SEC"}, &in)
	// Statuses are compared side by side, so a Won't Do applies at once
	// (no pending acceptance holds the item back; acceptances have their
	// own tests).
	var doc map[string]any
	if err := json.Unmarshal([]byte(mapping.Example), &doc); err != nil {
		t.Fatal(err)
	}
	doc["accept_from_jira"] = mapping.AcceptFromJiraApply
	r0.must(200, "PUT", "/api/v1/integrations/"+in.ID+"/mapping", doc, nil)
	r0.must(200, "POST", "/api/v1/jira/connections/"+conn.ID+"/webhook", "{}", nil)

	api := &replicaClient{t: t, base: front.URL}
	jira := &jiraClient{base: simURL}
	w := &workload{t: t, api: api, jira: jira, targetID: target.ID}
	for i := 0; i < 12; i++ {
		w.createItem()
	}
	w.waitLinked(30 * time.Second)

	// The storm: two API editors and two Jira editors; r1 is killed after
	// the API editors' 15th step and started again (on a new port) after
	// their 30th.
	var wg sync.WaitGroup
	var steps atomic.Int64
	killAt, restartAt := make(chan struct{}), make(chan struct{})
	var once1, once2 sync.Once
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 25 {
				w.apiStep(rng)
				switch n := steps.Add(1); {
				case n == 15:
					once1.Do(func() { close(killAt) })
				case n == 30:
					once2.Do(func() { close(restartAt) })
				}
			}
		}()
	}
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 2))
			for range 20 {
				w.jiraStep(rng)
			}
		}()
	}
	<-killAt
	replicas[1].kill(t)
	t.Logf("r1 killed with SIGKILL after %d API steps", steps.Load())
	<-restartAt
	replicas[1] = start("r1-again")
	lb.set(replicas)
	t.Logf("r1 started again at %s", replicas[1].url)
	wg.Wait()

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	settled := waitSettled(t, db, sim, w, 90*time.Second)
	t.Logf("settled %s after the storm (%d API calls, %d Jira edits, %d deliveries accepted, %d refused or cut off)",
		settled.Round(time.Millisecond), w.apiCalls.Load(), w.jiraCalls.Load(), len(lb.acceptedDeliveries()), lb.failed.Load())

	// No accepted delivery lost: each is recorded and was applied (or
	// knowingly ignored), none is still queued or failed.
	status := map[string]string{}
	rows, err := db.Query(`SELECT delivery_key, status, note FROM deliveries`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var key, st, note string
		if err := rows.Scan(&key, &st, &note); err != nil {
			t.Fatal(err)
		}
		status[key] = st
		if st == "failed" || st == "queued" {
			t.Errorf("delivery %s is %s: %s", key, st, note)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, id := range lb.acceptedDeliveries() {
		if st, ok := status[id]; !ok {
			t.Errorf("delivery %s was answered 2xx but is not recorded", id)
		} else if st != "applied" && st != "ignored" {
			t.Errorf("delivery %s was answered 2xx and is %s", id, st)
		}
	}

	// Exactly one issue per item, and it is the linked one.
	bySummary := map[string][]string{}
	for _, is := range jira.searchAll(t) {
		bySummary[is.Fields.Summary] = append(bySummary[is.Fields.Summary], is.Key)
	}
	for _, it := range w.snapshot() {
		if keys := bySummary[it.title]; len(keys) != 1 || keys[0] != it.key {
			t.Errorf("item %s (%q) linked to %s: issues with its summary %v, want exactly that one", it.id, it.title, it.key, keys)
		}
	}
	if errs := w.errors(); len(errs) > 0 {
		t.Errorf("API or Jira calls failed other than by the kill: %v", errs)
	}

	// Work was spread: the replicas nobody set up by hand called Jira
	// for their sync jobs (the restarted one counts from its restart).
	for _, r := range replicas[1:] {
		if n := r.jiraRequests(t); n == 0 {
			t.Errorf("%s made no Jira request: it ran no sync work", r.name)
		} else {
			t.Logf("%s made %.0f Jira requests", r.name, n)
		}
	}
	if d := time.Since(built); d > 100*time.Second {
		t.Errorf("the kill test took %s after the build; it must stay well under 2 min", d)
	}
	t.Logf("kill test: %s after the build, %s to agreement after the storm", time.Since(built).Round(time.Millisecond), settled.Round(time.Millisecond))
}

// buildVulnsync builds the binary once for the test, with the go tool the
// test runs under (go test puts its GOROOT/bin first on PATH).
func buildVulnsync(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go tool to build vulnsync with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "vulnsync")
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/vulnsync/vulnsync/cmd/vulnsync").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// replica is one `vulnsync serve` process.
type replica struct {
	name   string
	url    string
	cmd    *exec.Cmd
	done   chan struct{}
	stderr *bytes.Buffer
	mu     *sync.Mutex
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// startReplica starts `vulnsync serve` on a free port and waits for its
// "listening" line; the process is stopped (SIGTERM) when the test ends and
// its log shown if the test failed.
func startReplica(t *testing.T, bin, name, dsn, dataDir, publicURL string) *replica {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", dsn, "--data", dataDir, "--public-url", publicURL,
		"--reconcile-interval", "2s", "--log-level", "warn", "--shutdown-timeout", "5s")
	cmd.Env = append(os.Environ(), "VULNSYNC_ADMIN_TOKEN="+testToken, "VULNSYNC_DB=", "VULNSYNC_SECRET_KEY=")
	r := &replica{name: name, cmd: cmd, done: make(chan struct{}), stderr: &bytes.Buffer{}, mu: &sync.Mutex{}}
	cmd.Stderr = lockedWriter{r.mu, r.stderr}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			r.mu.Lock()
			t.Logf("%s stderr:\n%s", name, r.stderr.String())
			r.mu.Unlock()
		}
	})
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "vulnsync listening on "); ok {
			r.url, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	if r.url == "" {
		<-r.done
		t.Fatalf("%s did not start:\n%s", name, r.stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return r
}

// kill ends the process with SIGKILL: no shutdown, leases left behind.
func (r *replica) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", r.name, err)
	}
	<-r.done
}

// stop asks the process to shut down and kills it if it does not.
func (r *replica) stop() {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// jiraRequests sums vulnsync_jira_requests_total from the replica's own
// /metrics: the Jira calls this process made.
func (r *replica) jiraRequests(t *testing.T) float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", r.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("metrics of %s: %v", r.name, err)
	}
	defer resp.Body.Close()
	sum := 0.0
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if l := lines.Text(); strings.HasPrefix(l, "vulnsync_jira_requests_total{") {
			if v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64); err == nil {
				sum += v
			}
		}
	}
	return sum
}

// roundRobin is the load balancer in front of the replicas: each request
// goes to the next one. A replica that refuses the connection (dead) is
// skipped, as a load balancer's passive health check would; a request cut
// off mid-way is answered 502, so Jira retries the delivery. It remembers
// the identifier of every delivery a replica accepted (2xx).
type roundRobin struct {
	mu       sync.Mutex
	backends []string
	next     int
	accepted []string
	failed   atomic.Int64
}

func (lb *roundRobin) set(rs []*replica) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.backends = lb.backends[:0]
	for _, r := range rs {
		lb.backends = append(lb.backends, r.url)
	}
}

func (lb *roundRobin) pick() (string, int) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.next++
	return lb.backends[lb.next%len(lb.backends)], len(lb.backends)
}

func (lb *roundRobin) acceptedDeliveries() []string {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return append([]string(nil), lb.accepted...)
}

func (lb *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var resp *http.Response
	for tries := 0; ; tries++ {
		backend, n := lb.pick()
		out, _ := http.NewRequestWithContext(r.Context(), r.Method, backend+r.URL.RequestURI(), bytes.NewReader(body))
		out.Header = r.Header.Clone()
		resp, err = http.DefaultTransport.RoundTrip(out)
		var op *net.OpError
		if err != nil && errors.As(err, &op) && op.Op == "dial" && tries < n {
			continue // nothing was sent: try the next replica
		}
		break
	}
	if err != nil {
		lb.failed.Add(1)
		http.Error(w, "replica: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
	if strings.HasPrefix(r.URL.Path, "/webhooks/") {
		if resp.StatusCode/100 == 2 {
			lb.mu.Lock()
			lb.accepted = append(lb.accepted, r.Header.Get("X-Atlassian-Webhook-Identifier"))
			lb.mu.Unlock()
		} else {
			lb.failed.Add(1)
		}
	}
}

// replicaClient calls vulnsync's API with the admin token.
type replicaClient struct {
	t    *testing.T
	base string
}

// do sends one request; err is a transport error (a replica killed while
// answering, through the proxy a 502).
func (c *replicaClient) do(method, path string, body, out any) (int, error) {
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", raw, err)
		}
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	return resp.StatusCode, nil
}

func (c *replicaClient) must(want int, method, path string, body, out any) {
	c.t.Helper()
	if got, err := c.do(method, path, body, out); got != want {
		c.t.Fatalf("%s %s: status %d, want %d: %v", method, path, got, want, err)
	}
}

// jiraClient acts in the simulator as the person "dev".
type jiraClient struct {
	base string
}

func (c *jiraClient) do(method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth("dev@example.test", "dev-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("jira %s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil && len(raw) > 0 {
		return resp.StatusCode, json.Unmarshal(raw, out)
	}
	return resp.StatusCode, nil
}

// jiraIssue is what the test reads of an issue.
type jiraIssue struct {
	Key    string `json:"key"`
	Fields struct {
		Summary  string   `json:"summary"`
		Labels   []string `json:"labels"`
		Priority struct {
			Name string `json:"name"`
		} `json:"priority"`
		Status struct {
			Name string `json:"name"`
		} `json:"status"`
		CVSS    *float64 `json:"customfield_10050"`
		Comment struct {
			Comments []struct {
				Body json.RawMessage `json:"body"`
			} `json:"comments"`
		} `json:"comment"`
	} `json:"fields"`
}

func (c *jiraClient) searchAll(t *testing.T) []jiraIssue {
	t.Helper()
	var all []jiraIssue
	token := ""
	for {
		var page struct {
			Issues        []jiraIssue `json:"issues"`
			NextPageToken string      `json:"nextPageToken"`
		}
		body := map[string]any{"jql": "project = SEC", "fields": []string{"summary", "labels"}, "maxResults": 100}
		if token != "" {
			body["nextPageToken"] = token
		}
		if _, err := c.do("POST", "/rest/api/3/search/jql", body, &page); err != nil {
			t.Fatalf("search: %v", err)
		}
		all = append(all, page.Issues...)
		if page.NextPageToken == "" {
			return all
		}
		token = page.NextPageToken
	}
}

// workItem is an item the workload made, with its issue once linked.
type workItem struct {
	id, title, key string
}

// workload makes the edits of the storm and remembers what it needs to
// check afterwards.
type workload struct {
	t        *testing.T
	api      *replicaClient
	jira     *jiraClient
	targetID string

	mu       sync.Mutex
	items    []workItem
	texts    []string // comments made on either side and accepted
	failures []string // calls that failed other than by the kill

	apiCalls, jiraCalls, created atomic.Int64
}

// note records a failed call; transport errors and 502s are the kill's
// doing (the request was cut off, or no replica answered) and are fine.
func (w *workload) note(status int, err error) bool {
	if err == nil {
		return true
	}
	if status != 0 && status != http.StatusBadGateway {
		w.mu.Lock()
		w.failures = append(w.failures, err.Error())
		w.mu.Unlock()
	}
	return false
}

func (w *workload) errors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.failures...)
}

func (w *workload) snapshot() []workItem {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]workItem(nil), w.items...)
}

func (w *workload) createItem() {
	title := fmt.Sprintf("Replica host %03d: outdated OpenSSH", w.created.Add(1))
	var it struct {
		ID string `json:"id"`
	}
	w.apiCalls.Add(1)
	st, err := w.api.do("POST", "/api/v1/targets/"+w.targetID+"/items", map[string]any{"kind": "vulnerability", "title": title, "severity": "medium",
		"fields": map[string]any{"cvss_score": 5.0, "labels": []string{"web"}}}, &it)
	if w.note(st, err) {
		w.mu.Lock()
		w.items = append(w.items, workItem{id: it.ID, title: title})
		w.mu.Unlock()
	}
}

// waitLinked waits until every item so far has its Jira issue.
func (w *workload) waitLinked(within time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(within)
	for {
		missing := 0
		w.mu.Lock()
		items := w.items
		w.mu.Unlock()
		for i := range items {
			if items[i].key != "" {
				continue
			}
			var got struct {
				Jira *struct {
					Key string `json:"key"`
				} `json:"jira"`
			}
			if _, err := w.api.do("GET", "/api/v1/items/"+items[i].id, nil, &got); err == nil && got.Jira != nil && got.Jira.Key != "" {
				w.mu.Lock()
				w.items[i].key = got.Jira.Key
				w.mu.Unlock()
			} else {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%d items have no Jira issue after %s", missing, within)
		}
		time.Sleep(100 * time.Millisecond) // polling the API, not waiting for an event
	}
}

func (w *workload) pick(rng *rand.Rand, linked bool) workItem {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		it := w.items[rng.IntN(len(w.items))]
		if !linked || it.key != "" {
			return it
		}
	}
}

var (
	killStatuses   = []string{"open", "in_progress", "resolved", "accepted_risk"}
	killSeverities = []string{"critical", "high", "medium", "low", "info"}
	killPriorities = []string{"Highest", "High", "Medium", "Low", "Lowest"}
	killLabels     = []string{"pci", "gdpr", "web", "api", "triaged"}
)

func someLabels(rng *rand.Rand) []string {
	var out []string
	for _, l := range killLabels {
		if rng.IntN(2) == 0 {
			out = append(out, l)
		}
	}
	return out
}

// apiStep is one change through vulnsync's API, at whichever replica the
// proxy picks.
func (w *workload) apiStep(rng *rand.Rand) {
	if rng.IntN(6) == 0 {
		w.createItem()
		return
	}
	it := w.pick(rng, false)
	var body map[string]any
	switch rng.IntN(4) {
	case 0:
		body = map[string]any{"status": killStatuses[rng.IntN(len(killStatuses))]}
	case 1:
		body = map[string]any{"severity": killSeverities[rng.IntN(len(killSeverities))]}
	case 2:
		body = map[string]any{"fields": map[string]any{"cvss_score": float64(rng.IntN(100)) / 10, "labels": someLabels(rng)}}
	case 3:
		text := fmt.Sprintf("api-note-%d", rng.Uint32())
		w.apiCalls.Add(1)
		if st, err := w.api.do("POST", "/api/v1/items/"+it.id+"/comments", map[string]any{"body": text}, nil); w.note(st, err) {
			w.mu.Lock()
			w.texts = append(w.texts, text)
			w.mu.Unlock()
		}
		return
	}
	w.apiCalls.Add(1)
	w.note(w.api.do("PATCH", "/api/v1/items/"+it.id, body, nil))
}

// jiraStep is one change a person makes in Jira on a linked issue; its
// webhook reaches a replica through the proxy.
func (w *workload) jiraStep(rng *rand.Rand) {
	it := w.pick(rng, true)
	path := "/rest/api/3/issue/" + it.key
	w.jiraCalls.Add(1)
	switch rng.IntN(4) {
	case 0:
		var ts struct {
			Transitions []struct{ ID string } `json:"transitions"`
		}
		if _, err := w.jira.do("GET", path+"/transitions", nil, &ts); err == nil && len(ts.Transitions) > 0 {
			tr := ts.Transitions[rng.IntN(len(ts.Transitions))]
			w.note(w.jira.do("POST", path+"/transitions", map[string]any{"transition": map[string]any{"id": tr.ID}}, nil))
		}
	case 1:
		w.note(w.jira.do("PUT", path, map[string]any{"fields": map[string]any{"priority": map[string]any{"name": killPriorities[rng.IntN(len(killPriorities))]}}}, nil))
	case 2:
		w.note(w.jira.do("PUT", path, map[string]any{"fields": map[string]any{"customfield_10050": float64(rng.IntN(100)) / 10,
			"labels": append(someLabels(rng), "vulnsync-"+it.id)}}, nil))
	case 3:
		text := fmt.Sprintf("jira-note-%d", rng.Uint32())
		doc := map[string]any{"type": "doc", "version": 1, "content": []any{map[string]any{"type": "paragraph",
			"content": []any{map[string]any{"type": "text", "text": text}}}}}
		if st, err := w.jira.do("POST", path+"/comment", map[string]any{"body": doc}, nil); w.note(st, err) {
			w.mu.Lock()
			w.texts = append(w.texts, text)
			w.mu.Unlock()
		}
	}
}

// waitSettled polls until the replicas have finished everything and both
// sides agree, and fails the test with what still differs when within
// passes. It returns how long that took.
func waitSettled(t *testing.T, db *sql.DB, sim *jirasim.Simulator, w *workload, within time.Duration) time.Duration {
	t.Helper()
	begin := time.Now()
	deadline := begin.Add(within)
	for {
		problems := unsettled(t, db, sim, w)
		if len(problems) == 0 {
			return time.Since(begin)
		}
		if time.Now().After(deadline) {
			w.explain(t, problems)
			t.Fatalf("not settled %s after the storm:\n%s", within, strings.Join(problems, "\n"))
		}
		time.Sleep(250 * time.Millisecond) // polling the database and both APIs, not waiting for an event
	}
}

// periodicJob names the jobs that requeue themselves for their next run:
// one of them pending is the schedule, not unfinished work.
var periodicJob = map[string]bool{"reconcile": true, "expire_acceptances": true}

// unsettled lists what is not finished or not equal yet.
func unsettled(t *testing.T, db *sql.DB, sim *jirasim.Simulator, w *workload) []string {
	t.Helper()
	var problems []string
	rows, err := db.Query(`SELECT kind, job_key, state, attempts, last_error FROM jobs
		WHERE state IN ('running', 'failed') OR (state = 'pending' AND kind NOT IN ('reconcile', 'expire_acceptances'))`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var kind, key, state, lastErr string
		var attempts int
		if err := rows.Scan(&kind, &key, &state, &attempts, &lastErr); err != nil {
			t.Fatal(err)
		}
		if state == "failed" {
			t.Fatalf("job %s %s failed for good after %d attempts: %s", kind, key, attempts, lastErr)
		}
		if !periodicJob[kind] {
			problems = append(problems, fmt.Sprintf("job %s %s %s (attempts %d, last error %q)", kind, key, state, attempts, lastErr))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var queued int
	if err := db.QueryRow(`SELECT count(*) FROM deliveries WHERE status = 'queued'`).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if queued > 0 {
		problems = append(problems, fmt.Sprintf("%d deliveries queued", queued))
	}
	if c := sim.Counters().Webhooks; c.Queued+c.Duplicated != c.Delivered+c.Failed+c.Dropped {
		problems = append(problems, fmt.Sprintf("simulator still sending webhooks: %+v", c))
	}
	if len(problems) > 0 {
		return problems
	}
	w.mu.Lock()
	texts := append([]string(nil), w.texts...)
	w.mu.Unlock()
	severityToPriority := map[string]string{"critical": "Highest", "high": "High", "medium": "Medium", "low": "Low", "info": "Lowest"}
	statusToJira := map[string]string{"open": "To Do", "in_progress": "In Progress", "fixed": "Done", "resolved": "Done", "accepted_risk": "Won't Do", "false_positive": "Won't Do"}
	var vsComments, jiraComments strings.Builder
	for _, it := range w.snapshot() {
		var got struct {
			Status   string         `json:"status"`
			Severity string         `json:"severity"`
			Fields   map[string]any `json:"fields"`
			Jira     *struct {
				Key string `json:"key"`
			} `json:"jira"`
		}
		if _, err := w.api.do("GET", "/api/v1/items/"+it.id, nil, &got); err != nil {
			return append(problems, fmt.Sprintf("item %s: %v", it.id, err))
		}
		if got.Jira == nil || got.Jira.Key == "" {
			problems = append(problems, fmt.Sprintf("item %s has no issue", it.id))
			continue
		}
		w.mu.Lock()
		for i := range w.items {
			if w.items[i].id == it.id {
				w.items[i].key = got.Jira.Key
			}
		}
		w.mu.Unlock()
		var is jiraIssue
		if _, err := w.jira.do("GET", "/rest/api/3/issue/"+got.Jira.Key, nil, &is); err != nil {
			return append(problems, err.Error())
		}
		if from := map[string]string{"To Do": "open", "In Progress": "in_progress", "Done": "resolved", "Won't Do": "accepted_risk"}[is.Fields.Status.Name]; statusToJira[got.Status] != is.Fields.Status.Name && from != got.Status {
			problems = append(problems, fmt.Sprintf("%s: status %s in vulnsync, %s in Jira", is.Key, got.Status, is.Fields.Status.Name))
		}
		if severityToPriority[got.Severity] != is.Fields.Priority.Name {
			problems = append(problems, fmt.Sprintf("%s: severity %s in vulnsync, priority %s in Jira", is.Key, got.Severity, is.Fields.Priority.Name))
		}
		if is.Fields.CVSS == nil || got.Fields["cvss_score"] != *is.Fields.CVSS {
			problems = append(problems, fmt.Sprintf("%s: cvss %v in vulnsync, %v in Jira", is.Key, got.Fields["cvss_score"], is.Fields.CVSS))
		}
		if a, b := plainLabels(got.Fields["labels"]), plainLabels(is.Fields.Labels); a != b {
			problems = append(problems, fmt.Sprintf("%s: labels %s in vulnsync, %s in Jira", is.Key, a, b))
		}
		for _, c := range is.Fields.Comment.Comments {
			jiraComments.Write(c.Body)
		}
		var cs struct {
			Comments []struct {
				Body string `json:"body"`
			} `json:"comments"`
		}
		if _, err := w.api.do("GET", "/api/v1/items/"+it.id+"/comments", nil, &cs); err != nil {
			return append(problems, err.Error())
		}
		for _, c := range cs.Comments {
			vsComments.WriteString(c.Body + "\n")
		}
	}
	for _, text := range texts {
		if !strings.Contains(vsComments.String(), text) || !strings.Contains(jiraComments.String(), text) {
			problems = append(problems, fmt.Sprintf("comment %q is not on both sides", text))
		}
	}
	return problems
}

// plainLabels is a label list without vulnsync's marker, sorted.
func plainLabels(v any) string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = append(out, x...)
	}
	keep := out[:0]
	for _, l := range out {
		if !strings.HasPrefix(l, "vulnsync-") {
			keep = append(keep, l)
		}
	}
	sort.Strings(keep)
	return strings.Join(keep, ",")
}

// explain logs, for each issue a problem names, Jira's changelog and the
// item's history and sync log: what a person needs to tell which side
// missed which change.
func (w *workload) explain(t *testing.T, problems []string) {
	t.Helper()
	done := map[string]bool{}
	for _, p := range problems {
		key, _, ok := strings.Cut(p, ":")
		if !ok || done[key] || !strings.HasPrefix(key, "SEC-") {
			continue
		}
		done[key] = true
		var itemID string
		for _, it := range w.snapshot() {
			if it.key == key {
				itemID = it.id
			}
		}
		var changelog, history, events json.RawMessage
		w.jira.do("GET", "/rest/api/3/issue/"+key+"/changelog?maxResults=100", nil, &changelog)
		if itemID != "" {
			w.api.do("GET", "/api/v1/items/"+itemID+"/history?limit=200", nil, &history)
			w.api.do("GET", "/api/v1/items/"+itemID+"/events?limit=200", nil, &events)
		}
		t.Logf("%s (item %s)\nJira changelog: %s\nvulnsync history: %s\nsync log: %s", key, itemID, changelog, history, events)
	}
}
