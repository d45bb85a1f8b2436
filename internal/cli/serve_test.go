package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/apispec"
)

const testToken = "test-admin-token-0123456789"

// instance is one vulnsync process started through Run on port 0.
type instance struct {
	t       *testing.T
	baseURL string
	token   string
	printed string // what the process printed up to its "listening" line
	stop    func()
}

// startServe runs `vulnsync serve` in-process with data in dir and waits
// until it prints its address. extraEnv adds environment variables.
func startServe(t *testing.T, dir string, extraEnv map[string]string, extraArgs ...string) *instance {
	t.Helper()
	env := map[string]string{"VULNSYNC_ADMIN_TOKEN": testToken}
	for k, v := range extraEnv {
		if v == "" {
			delete(env, k)
			continue
		}
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir, "--log-level", "warn"}, extraArgs...)
	go func() {
		err := Run(ctx, args, func(k string) string { return env[k] }, pw, io.Discard)
		pw.CloseWithError(fmt.Errorf("vulnsync exited: %v", err))
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	var base string
	var printed strings.Builder
	for lines.Scan() {
		printed.WriteString(lines.Text() + "\n")
		if rest, ok := strings.CutPrefix(lines.Text(), "vulnsync listening on "); ok {
			base, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("vulnsync did not start: %v", <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("vulnsync serve returned %v after shutdown", err)
		}
	}
	t.Cleanup(stop)
	return &instance{t: t, baseURL: base, token: env["VULNSYNC_ADMIN_TOKEN"], printed: printed.String(), stop: stop}
}

// do sends a JSON request and decodes the JSON answer into out (when not
// nil). It returns the status code.
func (in *instance) do(method, path string, body any, out any) int {
	in.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			in.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	return in.send(method, path, rd, "application/json", in.token, out)
}

func (in *instance) send(method, path string, body io.Reader, contentType, token string, out any) int {
	in.t.Helper()
	req, err := http.NewRequest(method, in.baseURL+path, body)
	if err != nil {
		in.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := apispec.Client(in.t).Do(req)
	if err != nil {
		in.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		in.t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			in.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// upload posts content as the multipart field "file".
func (in *instance) upload(itemID, filename string, content []byte, out any) int {
	in.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		in.t.Fatal(err)
	}
	_, _ = fw.Write(content)
	_ = mw.Close()
	return in.send("POST", "/api/v1/items/"+itemID+"/attachments", &buf, mw.FormDataContentType(), in.token, out)
}

func (in *instance) mustDo(want int, method, path string, body any, out any) {
	in.t.Helper()
	var raw json.RawMessage
	if got := in.do(method, path, body, &raw); got != want {
		in.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			in.t.Fatal(err)
		}
	}
}

// snapshot reads everything the API shows, to prove a refused request
// changed nothing.
func (in *instance) snapshot() map[string]json.RawMessage {
	in.t.Helper()
	snap := map[string]json.RawMessage{}
	var targets struct {
		Targets []struct {
			ID string `json:"id"`
		} `json:"targets"`
	}
	var raw json.RawMessage
	in.mustDo(200, "GET", "/api/v1/targets", nil, &raw)
	snap["targets"] = raw
	_ = json.Unmarshal(raw, &targets)
	for _, tg := range targets.Targets {
		var items struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		var r json.RawMessage
		in.mustDo(200, "GET", "/api/v1/targets/"+tg.ID+"/items?limit=500", nil, &r)
		snap["items/"+tg.ID] = r
		_ = json.Unmarshal(r, &items)
		for _, it := range items.Items {
			for _, sub := range []string{"comments", "attachments", "history"} {
				var s json.RawMessage
				in.mustDo(200, "GET", "/api/v1/items/"+it.ID+"/"+sub, nil, &s)
				snap[sub+"/"+it.ID] = s
			}
		}
	}
	return snap
}

type idOnly struct {
	ID string `json:"id"`
}

func TestServeRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	a := startServe(t, dir, nil)

	var target, vuln, finding, comment, att map[string]any
	a.mustDo(201, "POST", "/api/v1/targets", map[string]any{"name": "payments-api", "description": "Card payments", "url": "https://pay.example.test"}, &target)
	tid := target["id"].(string)
	a.mustDo(201, "POST", "/api/v1/targets/"+tid+"/items", map[string]any{
		"kind": "vulnerability", "title": "SQL injection in /search", "description": "The `q` parameter is **unsanitised**.",
		"severity": "critical", "status": "open",
		"fields": map[string]any{"cvss_score": 9.8, "cwe": "CWE-89", "labels": []string{"pci", "sqli"}, "references": []string{"https://owasp.org/www-community/attacks/SQL_Injection"}},
	}, &vuln)
	vid := vuln["id"].(string)
	a.mustDo(201, "POST", "/api/v1/targets/"+tid+"/items", map[string]any{
		"kind": "finding", "title": "Injection confirmed on staging", "severity": "high", "parent_id": vid,
		"fields": map[string]any{"location": "https://staging.pay.example.test/search?q='"},
	}, &finding)
	a.mustDo(201, "POST", "/api/v1/items/"+vid+"/comments", map[string]any{"body": "Reproduced with sqlmap."}, &comment)
	content := []byte("GET /search?q=' OR 1=1 -- HTTP/1.1\r\n")
	if got := a.upload(vid, "request.txt", content, &att); got != 201 {
		t.Fatalf("upload: status %d", got)
	}
	sum := sha256.Sum256(content)
	if att["sha256"] != hex.EncodeToString(sum[:]) || att["size"] != float64(len(content)) {
		t.Fatalf("attachment metadata: got %v", att)
	}
	var patched map[string]any
	a.mustDo(200, "PATCH", "/api/v1/items/"+vid, map[string]any{"status": "in_progress"}, &patched)
	if patched["status"] != "in_progress" || patched["jira"] != nil {
		t.Fatalf("patched item: got status %v jira %v", patched["status"], patched["jira"])
	}

	before := a.snapshot()
	var itemBefore, findingBefore json.RawMessage
	a.mustDo(200, "GET", "/api/v1/items/"+vid, nil, &itemBefore)
	a.mustDo(200, "GET", "/api/v1/items/"+finding["id"].(string), nil, &findingBefore)
	a.stop()

	b := startServe(t, dir, nil)
	after := b.snapshot()
	if diff := cmp.Diff(before, after, cmp.Transformer("json", func(r json.RawMessage) any {
		var v any
		_ = json.Unmarshal(r, &v)
		return v
	})); diff != "" {
		t.Fatalf("state after restart differs (-before +after):\n%s", diff)
	}
	var itemAfter, findingAfter json.RawMessage
	b.mustDo(200, "GET", "/api/v1/items/"+vid, nil, &itemAfter)
	b.mustDo(200, "GET", "/api/v1/items/"+finding["id"].(string), nil, &findingAfter)
	if string(itemBefore) != string(itemAfter) || string(findingBefore) != string(findingAfter) {
		t.Fatalf("item changed across restart:\n%s\n%s", itemBefore, itemAfter)
	}
	var item map[string]any
	_ = json.Unmarshal(itemAfter, &item)
	if item["title"] != "SQL injection in /search" || item["severity"] != "critical" || item["status"] != "in_progress" {
		t.Fatalf("item after restart: %v", item)
	}
	req, _ := http.NewRequest("GET", b.baseURL+"/api/v1/attachments/"+att["id"].(string)+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := apispec.Client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, content) {
		t.Fatalf("attachment content after restart: got %q, want %q", got, content)
	}
	var comments struct {
		Comments []map[string]any `json:"comments"`
	}
	b.mustDo(200, "GET", "/api/v1/items/"+vid+"/comments", nil, &comments)
	if len(comments.Comments) != 1 || comments.Comments[0]["body"] != "Reproduced with sqlmap." || comments.Comments[0]["origin"] != "vulnsync" {
		t.Fatalf("comments after restart: %v", comments.Comments)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	in := startServe(t, t.TempDir(), nil, "--max-attachment-bytes", "1024")
	var target, other, vuln idOnly
	in.mustDo(201, "POST", "/api/v1/targets", map[string]any{"name": "web"}, &target)
	in.mustDo(201, "POST", "/api/v1/targets", map[string]any{"name": "mobile"}, &other)
	in.mustDo(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{"kind": "vulnerability", "title": "XSS", "severity": "high"}, &vuln)
	var otherVuln idOnly
	in.mustDo(201, "POST", "/api/v1/targets/"+other.ID+"/items", map[string]any{"kind": "vulnerability", "title": "Weak TLS", "severity": "low"}, &otherVuln)
	items := "/api/v1/targets/" + target.ID + "/items"

	cases := []struct {
		name       string
		run        func() (int, errorBody)
		wantStatus int
		wantField  string // a field that must be named, or "" for a message-only error
		wantInMsg  string
	}{
		{"unknown severity", jsonCase(in, "POST", items, `{"kind":"vulnerability","title":"x","severity":"urgent"}`), 400, "severity", ""},
		{"unknown status", jsonCase(in, "POST", items, `{"kind":"vulnerability","title":"x","severity":"low","status":"closed"}`), 400, "status", ""},
		{"unknown status on patch", jsonCase(in, "PATCH", "/api/v1/items/"+vuln.ID, `{"status":"done"}`), 400, "status", ""},
		{"finding without parent", jsonCase(in, "POST", items, `{"kind":"finding","title":"x","severity":"low"}`), 400, "parent_id", ""},
		{"finding with parent in another target", jsonCase(in, "POST", items, `{"kind":"finding","title":"x","severity":"low","parent_id":"`+otherVuln.ID+`"}`), 400, "parent_id", "another target"},
		{"malformed JSON", jsonCase(in, "POST", items, `{"kind":"vulnerability","title":`), 400, "", "malformed JSON"},
		{"unknown JSON field", jsonCase(in, "POST", items, `{"kind":"vulnerability","title":"x","severity":"low","severty":"high"}`), 400, "severty", ""},
		{"field of wrong type", jsonCase(in, "POST", items, `{"kind":"vulnerability","title":"x","severity":"low","fields":{"cvss_score":"high"}}`), 400, "fields.cvss_score", ""},
		{"cvss out of range", jsonCase(in, "PATCH", "/api/v1/items/"+vuln.ID, `{"fields":{"cvss_score":11}}`), 400, "fields.cvss_score", ""},
		{"oversize attachment", func() (int, errorBody) {
			var e errorBody
			return in.upload(vuln.ID, "big.bin", bytes.Repeat([]byte("A"), 1025), &e), e
		}, 413, "", "larger than the limit"},
		{"missing token", func() (int, errorBody) {
			var e errorBody
			return in.send("POST", "/api/v1/targets", strings.NewReader(`{"name":"sneaky"}`), "application/json", "", &e), e
		}, 401, "", "missing bearer token"},
		{"wrong token", func() (int, errorBody) {
			var e errorBody
			return in.send("POST", "/api/v1/targets", strings.NewReader(`{"name":"sneaky"}`), "application/json", "not-the-token", &e), e
		}, 401, "", "invalid bearer token"},
		{"duplicate target name", jsonCase(in, "POST", "/api/v1/targets", `{"name":"web"}`), 409, "", "web"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := in.snapshot()
			status, body := tc.run()
			if status != tc.wantStatus {
				t.Fatalf("status: got %d, want %d (body %+v)", status, tc.wantStatus, body)
			}
			if body.Error == "" {
				t.Fatalf("error body has no message: %+v", body)
			}
			if tc.wantField != "" && body.Fields[tc.wantField] == "" {
				t.Errorf("fields: got %v, want a problem for %q", body.Fields, tc.wantField)
			}
			if tc.wantInMsg != "" && !strings.Contains(body.Error+fmt.Sprint(body.Fields), tc.wantInMsg) {
				t.Errorf("message: got %q %v, want it to mention %q", body.Error, body.Fields, tc.wantInMsg)
			}
			if diff := cmp.Diff(before, in.snapshot(), rawJSON); diff != "" {
				t.Errorf("refused request changed the store (-before +after):\n%s", diff)
			}
		})
	}
}

type errorBody struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields"`
}

var rawJSON = cmp.Transformer("json", func(r json.RawMessage) any {
	var v any
	_ = json.Unmarshal(r, &v)
	return v
})

func jsonCase(in *instance, method, path, body string) func() (int, errorBody) {
	return func() (int, errorBody) {
		var e errorBody
		return in.send(method, path, strings.NewReader(body), "application/json", in.token, &e), e
	}
}

func TestVersionAndHealth(t *testing.T) {
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"version"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "vulnsync ") || !strings.Contains(out.String(), "go1.") {
		t.Fatalf("version output: %q", out.String())
	}
	in := startServe(t, t.TempDir(), nil)
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := apispec.Client(t).Get(in.baseURL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d", p, resp.StatusCode)
		}
	}
	if err := Run(context.Background(), []string{"serve", "--db", "mysql://x"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "postgres") {
		t.Errorf("serve with a non-postgres --db: got %v, want a usage error", err)
	}
}

// The admin token is generated once when none is configured, printed once,
// and works; a restart on the same data prints none.
func TestAdminTokenBootstrap(t *testing.T) {
	dir := t.TempDir()
	noToken := map[string]string{"VULNSYNC_ADMIN_TOKEN": ""}
	first := startServe(t, dir, noToken)
	for _, l := range strings.Split(first.printed, "\n") {
		if rest, ok := strings.CutPrefix(l, "admin token (shown once, store it now): "); ok {
			first.token = rest
		}
	}
	if !strings.HasPrefix(first.token, "vs_") {
		t.Fatalf("first start did not print a token:\n%s", first.printed)
	}
	first.mustDo(201, "POST", "/api/v1/targets", map[string]any{"name": "t"}, nil)
	if got := first.send("GET", "/api/v1/targets", nil, "", first.token+"x", nil); got != 401 {
		t.Fatalf("altered token: status %d, want 401", got)
	}
	first.stop()
	second := startServe(t, dir, noToken)
	if strings.Contains(second.printed, "admin token") {
		t.Fatalf("second start printed a token again:\n%s", second.printed)
	}
	second.token = first.token
	second.mustDo(200, "GET", "/api/v1/targets", nil, nil)
}
