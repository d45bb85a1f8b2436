package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/jiraconn"
	"github.com/vulnsync/vulnsync/internal/jirasim"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// The demo keeps its data in demoSubdir of --data, marked by demoMarker so
// that it never wipes a directory it did not create.
const (
	demoSubdir = "demo"
	demoMarker = ".vulnsync-demo"
	// demoSyncTimeout bounds the wait for the initial sync.
	demoSyncTimeout = 2 * time.Minute
	// demoReconcile is the demo's default reconciliation interval.
	demoReconcile = "30s"
	// demoComment is the comment the printed curl line adds as dev.
	demoComment = "Fix deployed to staging in build 1423, please retest."
)

// demoConfig is serve's configuration plus the simulator's.
type demoConfig struct {
	serve      serveConfig
	root       string // --data as given; the store lives in root/demo
	deployment jirasim.Deployment
	jiraAddr   string
}

func parseDemo(args []string, getenv func(string) string, stderr io.Writer) (demoConfig, error) {
	var c demoConfig
	var deployment string
	// The demo always runs on embedded SQLite (it wipes its data at each
	// start) and reconciles every 30 s unless told otherwise.
	env := func(k string) string {
		switch k {
		case "VULNSYNC_DB":
			return ""
		case "VULNSYNC_RECONCILE_INTERVAL":
			return envOr(getenv, k, demoReconcile)
		}
		return getenv(k)
	}
	sc, err := parseServe("demo", args, env, stderr, func(flags *flag.FlagSet) {
		flags.StringVar(&deployment, "deployment", string(jirasim.Cloud), "Jira the simulator plays: cloud or datacenter")
		flags.StringVar(&c.jiraAddr, "jira-addr", "127.0.0.1:0", "listen address of the in-process Jira simulator")
	})
	if err != nil {
		return c, err
	}
	if sc.db != "" {
		return c, fmt.Errorf("%w: demo keeps its data in embedded SQLite under --data (it wipes it at every start): drop --db", ErrUsage)
	}
	c.deployment = jirasim.Deployment(deployment)
	if c.deployment != jirasim.Cloud && c.deployment != jirasim.DataCenter {
		return c, fmt.Errorf("%w: --deployment %q: use cloud or datacenter", ErrUsage, deployment)
	}
	c.root = sc.data
	sc.data = filepath.Join(sc.data, demoSubdir)
	c.serve = sc
	return c, nil
}

// runDemo is `vulnsync demo`: serve with an in-process Jira simulator, a
// seeded target, integration and assessment, synced before it reports
// ready.
func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseDemo(args, getenv, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, cfg.serve.logLevel, cfg.serve.logFormat)
	if err != nil {
		return err
	}
	wiped, err := resetDemoDir(cfg.serve.data)
	if err != nil {
		return err
	}

	sim := jirasim.New(jirasim.Config{Deployment: cfg.deployment, Seed: 1, Logger: log.With("component", "jirasim")})
	defer sim.Close()
	jln, err := net.Listen("tcp", cfg.jiraAddr)
	if err != nil {
		return fmt.Errorf("demo: listen on --jira-addr %s: %w", cfg.jiraAddr, err)
	}
	jsrv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	jdone := make(chan error, 1)
	go func() { jdone <- jsrv.Serve(jln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = jsrv.Shutdown(sctx)
		<-jdone
	}()

	a, err := assemble(ctx, cfg.serve, getenv, log)
	if err != nil {
		return err
	}
	defer a.close()
	// Bootstrap here, not in serve, to know the token: the data is fresh,
	// so a token is generated unless VULNSYNC_ADMIN_TOKEN names one.
	token, err := a.People.BootstrapAdminToken(ctx, cfg.serve.adminToken)
	if err != nil {
		return err
	}
	if token == "" {
		token = cfg.serve.adminToken
	}
	d := &demo{a: a, cfg: cfg, jiraURL: "http://" + jln.Addr().String(), token: token, wiped: wiped, out: stdout}
	a.onServing = d.start
	return a.serve(ctx, stdout)
}

// resetDemoDir empties the demo's data directory: the simulator keeps its
// issues in memory, so data from an earlier run would point at issues that
// no longer exist. It refuses to touch a non-empty directory that lacks the
// demo's marker. It reports whether earlier demo data was removed.
func resetDemoDir(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return false, fmt.Errorf("demo: read data directory: %w", err)
	case len(entries) == 0:
	default:
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			return false, fmt.Errorf("demo: %s is not empty and was not made by vulnsync demo (no %s file): refusing to wipe it; choose another --data", dir, demoMarker)
		}
		if err := os.RemoveAll(dir); err != nil {
			return false, fmt.Errorf("demo: remove the previous demo data: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("demo: create data directory: %w", err)
	}
	marker := "This directory belongs to `vulnsync demo`, which wipes it at every start.\n"
	if err := os.WriteFile(filepath.Join(dir, demoMarker), []byte(marker), 0o600); err != nil {
		return false, fmt.Errorf("demo: mark data directory: %w", err)
	}
	return len(entries) > 0, nil
}

// demo is one running demo: the assembled app plus the simulator's address.
type demo struct {
	a       *process
	cfg     demoConfig
	jiraURL string
	token   string
	wiped   bool
	out     io.Writer
}

// seeded is what the seed created.
type seeded struct {
	connectionID, integrationID, targetID string
	firstVuln                             tracker.Item
	items                                 int
}

// start runs once vulnsync serves: it seeds, waits for the initial sync
// and prints how to use the demo.
func (d *demo) start(ctx context.Context) error {
	s, err := d.seed(ctx)
	if err != nil {
		return fmt.Errorf("demo: seed: %w", err)
	}
	d.a.log.Info("demo seeded; waiting for the initial sync", "items", s.items)
	if err := d.waitSynced(ctx, s); err != nil {
		return fmt.Errorf("demo: initial sync: %w", err)
	}
	refs, err := d.a.Engine.Links(ctx, []string{s.firstVuln.ID})
	if err != nil {
		return fmt.Errorf("demo: read the first vulnerability's issue: %w", err)
	}
	key := refs[s.firstVuln.ID].Key
	if key == "" {
		return fmt.Errorf("demo: the first vulnerability %s has no Jira issue", s.firstVuln.ID)
	}
	client, err := d.a.Integrations.Client(ctx, s.connectionID)
	if err != nil {
		return fmt.Errorf("demo: jira client: %w", err)
	}
	ts, err := client.Transitions(ctx, key)
	if err != nil {
		return fmt.Errorf("demo: read the transitions of %s: %w", key, err)
	}
	trID, trName := "", ""
	for _, t := range ts {
		if t.To.Name == "In Progress" {
			trID, trName = t.ID, t.Name
		}
	}
	if trID == "" {
		return fmt.Errorf("demo: %s has no transition to In Progress", key)
	}
	d.print(s, key, trID, trName)
	return nil
}

// seed connects the simulator as its admin, integrates the demo target
// with SEC under the spec's mapping, registers the webhook and creates the
// assessment.
func (d *demo) seed(ctx context.Context) (seeded, error) {
	var s seeded
	auth := integration.AuthInput{Type: jiraconn.AuthBasic, Email: jirasim.AdminEmail, APIToken: jirasim.AdminToken}
	if d.cfg.deployment == jirasim.DataCenter {
		auth = integration.AuthInput{Type: jiraconn.AuthBearer, Token: jirasim.AdminPAT}
	}
	conn, err := d.a.Integrations.CreateConnection(ctx, integration.ConnectionInput{Name: "Jira simulator", BaseURL: d.jiraURL, Auth: auth})
	if err != nil {
		return s, fmt.Errorf("connect the simulator: %w", err)
	}
	s.connectionID = conn.ID
	target, err := d.a.Tracker.CreateTarget(ctx, demoTarget)
	if err != nil {
		return s, fmt.Errorf("create target: %w", err)
	}
	s.targetID = target.ID
	in, err := d.a.Integrations.Integrate(ctx, integration.IntegrationInput{ConnectionID: conn.ID, TargetID: target.ID, ProjectKey: demoProject})
	if err != nil {
		return s, fmt.Errorf("integrate target: %w", err)
	}
	s.integrationID = in.ID
	if _, err := d.a.Integrations.SetMapping(ctx, in.ID, json.RawMessage(mapping.Example)); err != nil {
		return s, fmt.Errorf("set mapping: %w", err)
	}
	if _, err := d.a.Integrations.RegisterWebhook(ctx, conn.ID); err != nil {
		return s, fmt.Errorf("register webhook: %w", err)
	}
	for i, si := range demoSeed {
		n := si.Item
		n.Fields = maps.Clone(n.Fields)
		v, err := d.a.Tracker.CreateItem(ctx, demoActor, target.ID, n)
		if err != nil {
			return s, fmt.Errorf("create %q: %w", n.Title, err)
		}
		s.items++
		if i == 0 {
			s.firstVuln = v
		}
		for _, f := range si.Findings {
			f.ParentID = v.ID
			f.Fields = maps.Clone(f.Fields)
			if _, err := d.a.Tracker.CreateItem(ctx, demoActor, target.ID, f); err != nil {
				return s, fmt.Errorf("create finding %q: %w", f.Title, err)
			}
			s.items++
		}
		for _, c := range si.Comments {
			if _, err := d.a.Tracker.AddComment(ctx, demoActor, v.ID, c); err != nil {
				return s, fmt.Errorf("comment on %q: %w", n.Title, err)
			}
		}
		if at := si.Attachment; at != nil {
			if _, err := d.a.Tracker.AddAttachment(ctx, demoActor, v.ID, at.Filename, at.ContentType, []byte(at.Content)); err != nil {
				return s, fmt.Errorf("attach %s to %q: %w", at.Filename, n.Title, err)
			}
		}
	}
	return s, nil
}

// waitSynced polls until every seeded item is linked to an issue and no
// item sync is pending or running (comments, attachments and statuses have
// gone too), or fails after demoSyncTimeout.
func (d *demo) waitSynced(ctx context.Context, s seeded) error {
	deadline := time.Now().Add(demoSyncTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		prog, err := d.a.Engine.Progress(ctx, s.integrationID)
		total, linked, failed := prog.Total, prog.Done, prog.Failed
		if err != nil {
			return fmt.Errorf("read sync progress: %w", err)
		}
		if failed > 0 {
			return fmt.Errorf("%d of %d items failed to sync; their errors are in the sync log (GET /api/v1/integrations/%s/events)", failed, total, s.integrationID)
		}
		busy, err := d.a.Engine.Busy(ctx)
		if err != nil {
			return err
		}
		if total == s.items && linked == total && !busy {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %s: %d of %d items linked (the sync log is at GET /api/v1/integrations/%s/events)", demoSyncTimeout, linked, total, s.integrationID)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// shellQuote quotes s for a POSIX shell, so printed lines can be pasted.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// print shows the addresses, the admin token and the curl lines that act
// as the simulator's dev user and watch the change arrive. The last line
// says the demo is ready (tools wait for it).
func (d *demo) print(s seeded, key, transitionID, transitionName string) {
	dc := d.cfg.deployment == jirasim.DataCenter
	api := d.a.baseURL + "/api/v1"
	ver, asDev, who, kind := "3", "-u "+shellQuote(jirasim.DevEmail+":"+jirasim.DevToken), jirasim.DevEmail, "Jira Cloud"
	if dc {
		ver, asDev, who, kind = "2", "-H "+shellQuote("Authorization: Bearer "+jirasim.DevPAT), jirasim.DevUsername+" (PAT "+jirasim.DevPAT+")", "Jira Data Center"
	}
	rest := d.jiraURL + "/rest/api/" + ver
	search := rest + "/search/jql"
	if dc {
		search = rest + "/search"
	}
	search += "?jql=" + url.QueryEscape("project = "+demoProject+" ORDER BY key ASC") + "&fields=summary,status,priority"
	post := func(body, u string) string {
		return "curl -sS " + asDev + " -X POST -H 'Content-Type: application/json' -d " + shellQuote(body) + " " + shellQuote(u)
	}
	get := func(u string) string { return "curl -sS " + asDev + " " + shellQuote(u) }
	vs := func(path string) string {
		return "curl -sS -H " + shellQuote("Authorization: Bearer "+d.token) + " " + shellQuote(api+path)
	}
	transition, _ := json.Marshal(map[string]any{"transition": map[string]string{"id": transitionID}})
	text, _ := json.Marshal(demoComment)
	wiki := `{"body":` + string(text) + `}`
	adf := `{"body":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":` + string(text) + `}]}]}}`

	w := d.out
	fmt.Fprintln(w)
	fmt.Fprintf(w, "=== vulnsync demo, with a %s simulator ===\n", kind)
	if d.wiped {
		fmt.Fprintf(w, "Note: the previous demo data in %s was removed: the simulator keeps its issues in memory only,\n      so the old items would point at Jira issues that no longer exist. Everything below is fresh.\n", d.cfg.serve.data)
	}
	fmt.Fprintf(w, "UI:             %s/  (sign in with the admin token)\n", d.a.baseURL)
	fmt.Fprintf(w, "API:            %s\n", api)
	fmt.Fprintf(w, "Admin token:    %s\n", d.token)
	fmt.Fprintf(w, "Jira simulator: %s  (project %s; you act as %s)\n", d.jiraURL, demoProject, who)
	fmt.Fprintf(w, "Data:           %s (SQLite; wiped at the next demo start)\n", d.cfg.serve.data)
	fmt.Fprintf(w, "Seeded: target %q, integrated with %s under the example mapping of docs/mapping.md; %d vulnerabilities and findings, all linked to %s issues.\n",
		demoTarget.Name, demoProject, s.items, demoProject)
	fmt.Fprintf(w, "First vulnerability: %q, item %s, Jira %s (%s/browse/%s)\n", s.firstVuln.Title, s.firstVuln.ID, key, d.jiraURL, key)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Act in Jira from a browser: %s/projects/%s lists the issues; each issue's page (%s/browse/%s)\n", d.jiraURL, demoProject, d.jiraURL, key)
	fmt.Fprintf(w, "transitions, comments and edits fields as %s. Or with curl:\n", who)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Act in Jira as %s:\n", who)
	fmt.Fprintf(w, "  # list the %s issues\n  %s\n", demoProject, get(search))
	fmt.Fprintf(w, "  # the transitions %s can take: the one to \"In Progress\" is %q, id %s\n  %s\n", key, transitionName, transitionID, get(rest+"/issue/"+key+"/transitions"))
	fmt.Fprintf(w, "  # move %s to In Progress\n  %s\n", key, post(string(transition), rest+"/issue/"+key+"/transitions"))
	if dc {
		fmt.Fprintf(w, "  # comment on %s (REST v2 takes wiki markup)\n  %s\n", key, post(wiki, rest+"/issue/"+key+"/comment"))
	} else {
		fmt.Fprintf(w, "  # comment on %s (REST v3 takes an ADF document)\n  %s\n", key, post(adf, rest+"/issue/"+key+"/comment"))
		fmt.Fprintf(w, "  # or comment through REST v2 with a wiki string, which works on Cloud and Data Center alike\n  %s\n", post(wiki, d.jiraURL+"/rest/api/2/issue/"+key+"/comment"))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Watch the change arrive in vulnsync (webhooks deliver it within a second):")
	fmt.Fprintf(w, "  # the item: its status becomes in_progress\n  %s\n", vs("/items/"+s.firstVuln.ID))
	fmt.Fprintf(w, "  # its history: the status change, origin jira\n  %s\n", vs("/items/"+s.firstVuln.ID+"/history"))
	fmt.Fprintf(w, "  # its comments: yours arrives with origin jira\n  %s\n", vs("/items/"+s.firstVuln.ID+"/comments"))
	fmt.Fprintln(w)
	fmt.Fprintf(w, "vulnsync demo ready: %d items synced with %s %s, reconciliation every %s. Ctrl-C stops it.\n",
		s.items, kind, demoProject, d.cfg.serve.reconcileInterval)
}
