package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// demoStartTimeout bounds the wait for "vulnsync demo ready"; it is larger
// than the demo's own sync timeout so the demo reports first.
const demoStartTimeout = demoSyncTimeout + 30*time.Second

// lockedBuffer collects the demo's logs for failure messages.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// demoRun is a `vulnsync demo` started through Run, up to its ready line.
type demoRun struct {
	*instance
	jiraURL string
	curls   []string // the printed curl lines, in order
}

// startDemo runs `vulnsync demo` in-process on port 0 with data under dir
// and waits for its ready line.
func startDemo(t *testing.T, dir string, deployment jirasim.Deployment) *demoRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	logs := &lockedBuffer{}
	done := make(chan error, 1)
	args := []string{"demo", "--addr", "127.0.0.1:0", "--jira-addr", "127.0.0.1:0", "--data", dir, "--deployment", string(deployment), "--log-level", "warn"}
	go func() {
		// No VULNSYNC_ADMIN_TOKEN: the demo must generate and print one.
		err := Run(ctx, args, func(string) string { return "" }, pw, logs)
		pw.CloseWithError(fmt.Errorf("vulnsync demo exited: %v", err))
		done <- err
	}()
	type line struct {
		text string
		err  error
	}
	lines := make(chan line)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- line{text: sc.Text()}
		}
		lines <- line{err: fmt.Errorf("output ended: %v", sc.Err())}
		_, _ = io.Copy(io.Discard, pr)
	}()
	var printed strings.Builder
	timeout := time.NewTimer(demoStartTimeout)
	defer timeout.Stop()
	for ready := false; !ready; {
		select {
		case l := <-lines:
			if l.err != nil {
				cancel()
				t.Fatalf("demo did not get ready: %v (Run: %v)\nprinted:\n%s\nlogs:\n%s", l.err, <-done, printed.String(), logs.String())
			}
			printed.WriteString(l.text + "\n")
			ready = strings.HasPrefix(l.text, "vulnsync demo ready: ")
		case <-timeout.C:
			cancel()
			t.Fatalf("demo not ready after %s\nprinted:\n%s\nlogs:\n%s", demoStartTimeout, printed.String(), logs.String())
		}
	}
	go func() {
		for l := range lines {
			if l.err != nil {
				return
			}
		}
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("vulnsync demo returned %v after shutdown; logs:\n%s", err, logs.String())
		}
	}
	t.Cleanup(stop)

	d := &demoRun{instance: &instance{t: t, printed: printed.String(), stop: stop}}
	for _, l := range strings.Split(d.printed, "\n") {
		l = strings.TrimSpace(l)
		if v, ok := strings.CutPrefix(l, "API:"); ok {
			d.baseURL = strings.TrimSuffix(strings.TrimSpace(v), "/api/v1")
		}
		if v, ok := strings.CutPrefix(l, "Admin token:"); ok {
			d.token = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "Jira simulator:"); ok {
			d.jiraURL, _, _ = strings.Cut(strings.TrimSpace(v), " ")
		}
		if strings.HasPrefix(l, "curl ") {
			d.curls = append(d.curls, l)
		}
	}
	if d.baseURL == "" || !strings.HasPrefix(d.token, "vs_") || d.jiraURL == "" {
		t.Fatalf("demo output lacks the API URL, a generated admin token or the simulator URL:\n%s", d.printed)
	}
	return d
}

// curl finds the one printed curl line whose text contains every part;
// a part starting with "!" must not be in it.
func (d *demoRun) curl(parts ...string) string {
	d.t.Helper()
	var found []string
	for _, c := range d.curls {
		ok := true
		for _, p := range parts {
			if not, neg := strings.CutPrefix(p, "!"); neg {
				ok = ok && !strings.Contains(c, not)
			} else {
				ok = ok && strings.Contains(c, p)
			}
		}
		if ok {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		d.t.Fatalf("printed curl lines containing %q: got %d, want 1\n%s", parts, len(found), d.printed)
	}
	return found[0]
}

// run executes a printed line through a real shell, as a person pasting
// it would, and decodes its JSON output into out.
func (d *demoRun) run(line string, out any) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "sh", "-c", line+" --fail-with-body")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		d.t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", line, err, stdout.String(), stderr.String())
	}
	if out != nil {
		if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
			d.t.Fatalf("%s: decode %q: %v", line, stdout.String(), err)
		}
	}
}

// jiraAdmin reads from the simulator as its admin.
func (d *demoRun) jiraAdmin(deployment jirasim.Deployment, path string, out any) {
	d.t.Helper()
	req, err := http.NewRequest("GET", d.jiraURL+path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	if deployment == jirasim.DataCenter {
		req.Header.Set("Authorization", "Bearer "+jirasim.AdminPAT)
	} else {
		req.SetBasicAuth(jirasim.AdminEmail, jirasim.AdminToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("jira GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		d.t.Fatalf("jira GET %s: status %d: %s", path, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		d.t.Fatalf("jira GET %s: decode %s: %v", path, raw, err)
	}
}

type demoItem struct {
	ID       string         `json:"id"`
	Kind     string         `json:"kind"`
	ParentID string         `json:"parent_id"`
	Title    string         `json:"title"`
	Status   string         `json:"status"`
	Severity string         `json:"severity"`
	Fields   map[string]any `json:"fields"`
	Jira     *struct {
		Key string `json:"key"`
		URL string `json:"url"`
	} `json:"jira"`
}

// seededItems reads the demo target's items and checks that they are the
// seed, each linked to its own Jira issue.
func (d *demoRun) seededItems() []demoItem {
	d.t.Helper()
	var targets struct {
		Targets []tracker.Target `json:"targets"`
	}
	d.mustDo(200, "GET", "/api/v1/targets", nil, &targets)
	if len(targets.Targets) != 1 || targets.Targets[0].Name != demoTarget.Name {
		d.t.Fatalf("targets: got %+v, want only %q", targets.Targets, demoTarget.Name)
	}
	var items struct {
		Items []demoItem `json:"items"`
	}
	d.mustDo(200, "GET", "/api/v1/targets/"+targets.Targets[0].ID+"/items?limit=500", nil, &items)
	var wantTitles, gotTitles []string
	for _, s := range demoSeed {
		wantTitles = append(wantTitles, s.Item.Title)
		for _, f := range s.Findings {
			wantTitles = append(wantTitles, f.Title)
		}
	}
	keys := map[string]string{}
	var unlinked []string
	for _, it := range items.Items {
		gotTitles = append(gotTitles, it.Title)
		if it.Jira == nil || it.Jira.Key == "" {
			unlinked = append(unlinked, it.Title)
			continue
		}
		if other, dup := keys[it.Jira.Key]; dup {
			d.t.Errorf("items %q and %q share issue %s", other, it.Title, it.Jira.Key)
		}
		keys[it.Jira.Key] = it.Title
		if !strings.HasPrefix(it.Jira.Key, demoProject+"-") || it.Jira.URL != d.jiraURL+"/browse/"+it.Jira.Key {
			d.t.Errorf("item %q: jira ref %+v, want a %s key under %s", it.Title, *it.Jira, demoProject, d.jiraURL)
		}
	}
	if diff := cmp.Diff(wantTitles, gotTitles); diff != "" {
		d.t.Fatalf("seeded items (-want +got):\n%s", diff)
	}
	if len(unlinked) > 0 {
		d.t.Fatalf("items not linked to a Jira issue: got %q, want none", unlinked)
	}
	return items.Items
}

// checkJiraMatches checks, from Jira's side, that every issue shows its
// item's mapped status and priority, that findings are sub-tasks of their
// vulnerability's issue, and that the seeded comments and attachment of
// the first vulnerability arrived.
func (d *demoRun) checkJiraMatches(deployment jirasim.Deployment, items []demoItem) {
	d.t.Helper()
	var doc struct {
		StatusToJira map[string]string `json:"status_to_jira"`
		Priority     map[string]string `json:"priority"`
	}
	if err := json.Unmarshal([]byte(mapping.Example), &doc); err != nil {
		d.t.Fatal(err)
	}
	byID := map[string]demoItem{}
	for _, it := range items {
		byID[it.ID] = it
	}
	for _, it := range items {
		var issue struct {
			Fields struct {
				Status   struct{ Name string } `json:"status"`
				Priority struct{ Name string } `json:"priority"`
				Parent   *struct{ Key string } `json:"parent"`
				Type     struct{ Name string } `json:"issuetype"`
			} `json:"fields"`
		}
		d.jiraAdmin(deployment, "/rest/api/2/issue/"+it.Jira.Key+"?fields=status,priority,parent,issuetype", &issue)
		want := []string{doc.StatusToJira[it.Status], doc.Priority[it.Severity]}
		got := []string{issue.Fields.Status.Name, issue.Fields.Priority.Name}
		if diff := cmp.Diff(want, got); diff != "" {
			d.t.Errorf("%s (%q, %s/%s): status and priority in Jira (-want +got):\n%s", it.Jira.Key, it.Title, it.Status, it.Severity, diff)
		}
		if it.Kind == tracker.KindFinding {
			parent := byID[it.ParentID]
			if issue.Fields.Type.Name != "Sub-task" || issue.Fields.Parent == nil || parent.Jira == nil || issue.Fields.Parent.Key != parent.Jira.Key {
				d.t.Errorf("%s (finding %q): got type %q parent %+v, want a Sub-task of its vulnerability's issue", it.Jira.Key, it.Title, issue.Fields.Type.Name, issue.Fields.Parent)
			}
		}
	}
	first := items[0]
	var issue struct {
		Fields struct {
			Comment struct {
				Comments []struct {
					Body string `json:"body"`
				} `json:"comments"`
			} `json:"comment"`
			Attachment []struct {
				Filename string `json:"filename"`
				Size     int    `json:"size"`
			} `json:"attachment"`
		} `json:"fields"`
	}
	d.jiraAdmin(deployment, "/rest/api/2/issue/"+first.Jira.Key+"?fields=comment,attachment", &issue)
	seedComment := false
	for _, c := range issue.Fields.Comment.Comments {
		seedComment = seedComment || strings.Contains(c.Body, "sqlmap 1.8")
	}
	if !seedComment {
		d.t.Errorf("%s: the seeded comment is not in Jira: %+v", first.Jira.Key, issue.Fields.Comment.Comments)
	}
	att := demoSeed[0].Attachment
	if len(issue.Fields.Attachment) != 1 || issue.Fields.Attachment[0].Filename != att.Filename || issue.Fields.Attachment[0].Size != len(att.Content) {
		d.t.Errorf("%s: attachments in Jira: got %+v, want %s of %d bytes", first.Jira.Key, issue.Fields.Attachment, att.Filename, len(att.Content))
	}
}

// TestDemo starts `vulnsync demo` for each deployment, checks that the
// whole seed is synced, then runs the printed curl lines as the dev user
// and waits until the change shows in vulnsync.
func TestDemo(t *testing.T) {
	for _, tool := range []string{"sh", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the demo test runs the printed lines with %s, which is not installed: %v", tool, err)
		}
	}
	for _, dep := range []jirasim.Deployment{jirasim.Cloud, jirasim.DataCenter} {
		t.Run(string(dep), func(t *testing.T) {
			d := startDemo(t, t.TempDir(), dep)
			items := d.seededItems()
			d.checkJiraMatches(dep, items)
			first := items[0]
			if first.Status != string(tracker.StatusOpen) {
				t.Fatalf("first vulnerability: status %q, want open before the transition", first.Status)
			}
			key := first.Jira.Key
			if !strings.Contains(d.printed, first.ID) || !strings.Contains(d.printed, "/issue/"+key+"/") {
				t.Fatalf("the printed lines do not use the first vulnerability (%s, %s):\n%s", first.ID, key, d.printed)
			}

			// As dev in Jira: list, read transitions, transition, comment.
			var list struct {
				Issues []struct {
					Key string `json:"key"`
				} `json:"issues"`
			}
			d.run(d.curl("/search", "jql="), &list)
			if len(list.Issues) != len(items) {
				t.Errorf("listed SEC issues: got %d, want %d", len(list.Issues), len(items))
			}
			var trs struct {
				Transitions []struct {
					ID string `json:"id"`
					To struct {
						Name string `json:"name"`
					} `json:"to"`
				} `json:"transitions"`
			}
			d.run(d.curl("/issue/"+key+"/transitions'", "!-X POST"), &trs)
			post := d.curl("-X POST", "/issue/"+key+"/transitions")
			found := false
			for _, tr := range trs.Transitions {
				found = found || (tr.To.Name == "In Progress" && strings.Contains(post, `{"transition":{"id":"`+tr.ID+`"}}`))
			}
			if !found {
				t.Fatalf("the printed transition %s is not the one to In Progress among %+v", post, trs.Transitions)
			}
			d.run(post, nil)
			var comments []string
			for _, c := range d.curls {
				if strings.Contains(c, "-X POST") && strings.Contains(c, "/issue/"+key+"/comment") {
					comments = append(comments, c)
					d.run(c, nil)
				}
			}
			wantComments := 1 // Data Center: v2 only
			if dep == jirasim.Cloud {
				wantComments = 2 // v3 with ADF, and v2 with wiki
			}
			if len(comments) != wantComments {
				t.Fatalf("printed comment lines: got %d, want %d:\n%s", len(comments), wantComments, strings.Join(comments, "\n"))
			}

			// In vulnsync, through the printed lines: poll until it arrived.
			itemLine := d.curl("/api/v1/items/" + first.ID + "'")
			commentsLine := d.curl("/api/v1/items/" + first.ID + "/comments'")
			historyLine := d.curl("/api/v1/items/" + first.ID + "/history'")
			deadline := time.Now().Add(30 * time.Second)
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			var fromJira []tracker.Comment
			var item demoItem
			for {
				d.run(itemLine, &item)
				var cs struct {
					Comments []tracker.Comment `json:"comments"`
				}
				d.run(commentsLine, &cs)
				fromJira = fromJira[:0]
				for _, c := range cs.Comments {
					if c.Origin == tracker.OriginJira {
						fromJira = append(fromJira, c)
					}
				}
				if item.Status == string(tracker.StatusInProgress) && len(fromJira) == wantComments {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 30 s: item status %q, comments from Jira %+v; want in_progress and %d", item.Status, fromJira, wantComments)
				}
				<-tick.C
			}
			for _, c := range fromJira {
				if !strings.Contains(c.Body, "please retest") || c.Author.Name != "Dev User" {
					t.Errorf("comment from Jira: got %q by %+v, want dev's comment", c.Body, c.Author)
				}
			}
			var hist struct {
				History []tracker.HistoryEntry `json:"history"`
			}
			d.run(historyLine, &hist)
			var statusFromJira []string
			for _, h := range hist.History {
				if h.Field == "status" && h.Origin == tracker.OriginJira {
					statusFromJira = append(statusFromJira, h.Old+" -> "+h.New)
				}
			}
			if diff := cmp.Diff([]string{`"open" -> "in_progress"`}, statusFromJira); diff != "" {
				t.Errorf("status history from Jira (-want +got):\n%s", diff)
			}
		})
	}
}

// A second start on the same data says it starts afresh and seeds once:
// the simulator's issues are gone, so the old data is wiped, not reused.
func TestDemoSecondStartStartsAfresh(t *testing.T) {
	dir := t.TempDir()
	first := startDemo(t, dir, jirasim.Cloud)
	if strings.Contains(first.printed, "previous demo data") {
		t.Fatalf("first start talks of previous data:\n%s", first.printed)
	}
	oldToken := first.token
	first.stop()
	second := startDemo(t, dir, jirasim.Cloud)
	if !strings.Contains(second.printed, "Note: the previous demo data in "+filepath.Join(dir, demoSubdir)+" was removed") {
		t.Errorf("second start does not say it removed the old data:\n%s", second.printed)
	}
	if second.token == oldToken {
		t.Errorf("second start reused the first admin token")
	}
	second.seededItems() // exactly the seed once, all linked
	if got := second.send("GET", "/api/v1/targets", nil, "", oldToken, nil); got != 401 {
		t.Errorf("the first run's token on the second run: status %d, want 401", got)
	}
}

// The demo never wipes a directory it did not make, and refuses flags it
// cannot honour, before changing anything.
func TestDemoRefusals(t *testing.T) {
	root := t.TempDir()
	foreign := filepath.Join(root, demoSubdir)
	if err := os.MkdirAll(foreign, 0o700); err != nil {
		t.Fatal(err)
	}
	precious := filepath.Join(foreign, "vulnsync.db")
	if err := os.WriteFile(precious, []byte("someone's data"), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	err := Run(context.Background(), []string{"demo", "--addr", "127.0.0.1:0", "--data", root}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "refusing to wipe") {
		t.Errorf("demo over a foreign directory: got %v, want a refusal", err)
	}
	if got, err := os.ReadFile(precious); err != nil || string(got) != "someone's data" {
		t.Errorf("the foreign file after the refusal: got %q, %v", got, err)
	}
	entries, _ := os.ReadDir(foreign)
	if len(entries) != 1 {
		t.Errorf("the foreign directory after the refusal holds %d entries, want 1", len(entries))
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--db", "postgres://x@localhost/db"}, "--db"},
		{[]string{"--deployment", "server"}, "--deployment"},
		{[]string{"--reconcile-interval", "10ms"}, "--reconcile-interval"},
	} {
		empty := t.TempDir()
		err := Run(context.Background(), append([]string{"demo", "--addr", "127.0.0.1:0", "--data", empty}, tc.args...), noEnv, io.Discard, io.Discard)
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("demo %v: got %v, want a usage error naming %s", tc.args, err, tc.want)
		}
		if entries, _ := os.ReadDir(empty); len(entries) != 0 {
			t.Errorf("demo %v created %d entries in --data", tc.args, len(entries))
		}
	}
}

// The demo reconciles every 30 s by default; the environment and the flag
// still choose.
func TestDemoReconcileInterval(t *testing.T) {
	for _, tc := range []struct {
		env  string
		args []string
		want time.Duration
	}{
		{"", nil, 30 * time.Second},
		{"2m", nil, 2 * time.Minute},
		{"2m", []string{"--reconcile-interval", "45s"}, 45 * time.Second},
	} {
		getenv := func(k string) string {
			if k == "VULNSYNC_RECONCILE_INTERVAL" {
				return tc.env
			}
			return ""
		}
		c, err := parseDemo(tc.args, getenv, io.Discard)
		if err != nil {
			t.Fatalf("parse %v with env %q: %v", tc.args, tc.env, err)
		}
		if c.serve.reconcileInterval != tc.want {
			t.Errorf("env %q args %v: reconcile interval %s, want %s", tc.env, tc.args, c.serve.reconcileInterval, tc.want)
		}
	}
}
