package benchmark

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/integration"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// memoryTargetMB is the target: at most 150 MB RSS with 100,000 linked
// items (MB = 10^6 bytes).
const memoryTargetMB = 150

// realItems are synced through Jira for real in the memory scenario; the
// others are linked to issues the simulator does not hold (so that its own
// memory, in the same process, stays out of the figure).
const realItems = 20

// runMemory measures the resident memory of the process serving Items
// linked items: a few are created and synced normally, the rest are
// written with their links straight to the store (for speed), then the
// loading's garbage is returned to the system (a process started on that
// data would not have it), and vulnsync works: reconciliation, edits
// synced to Jira, a change coming from Jira, and API calls that walk the
// items (a list, the integration with its backfill progress, which reads
// every item and link). VmRSS is read from /proc/self/status afterwards.
func runMemory(ctx context.Context, env *runEnv, rec recorder) error {
	o := env.opts
	if _, err := readProcStatus("VmRSS"); err != nil {
		return err
	}
	s, err := env.newStack(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	s.startWorkers()
	in, err := s.setup(ctx, "memory")
	if err != nil {
		return err
	}
	nReal := min(realItems, o.Items)
	reals, err := s.createVulns(ctx, in.targetID, nReal, "Real")
	if err != nil {
		return err
	}
	if err := s.waitQuiet(ctx, time.Minute); err != nil {
		return fmt.Errorf("sync the real items: %w", err)
	}
	tmpl, err := s.linkOf(ctx, reals[0].ID)
	if err != nil {
		return err
	}
	loadStart := time.Now()
	bulk := o.Items - nReal
	oneBulk, err := preloadLinked(ctx, s, in, bulk, tmpl.Synced)
	if err != nil {
		return err
	}
	loadTook := time.Since(loadStart)
	runtime.GC()
	debug.FreeOSMemory()
	rssLoaded, err := readProcStatus("VmRSS")
	if err != nil {
		return err
	}

	passStart := time.Now()
	var steps []string
	step := func(what string, since time.Time) time.Time {
		steps = append(steps, fmt.Sprintf("%s %.1f s", what, time.Since(since).Seconds()))
		return time.Now()
	}
	if err := s.engine.ScheduleReconcile(ctx); err != nil {
		return fmt.Errorf("schedule reconciliation: %w", err)
	}
	for _, it := range reals {
		if err := s.api(ctx, "PATCH", "/api/v1/items/"+it.ID, map[string]any{"status": tracker.StatusInProgress, "fields": map[string]any{"cvss_score": 8.1}}, nil); err != nil {
			return fmt.Errorf("edit an item: %w", err)
		}
	}
	realLink, err := s.linkOf(ctx, reals[len(reals)-1].ID)
	if err != nil {
		return err
	}
	if err := s.jira(ctx, "dev", "PUT", "/rest/api/3/issue/"+realLink.IssueKey, map[string]any{"fields": map[string]any{"customfield_10050": 9.3}}, nil); err != nil {
		return fmt.Errorf("edit an issue in Jira: %w", err)
	}
	if err := s.waitQuiet(ctx, 5*time.Minute); err != nil {
		return fmt.Errorf("sync pass: %w", err)
	}
	t := step("sync settled", passStart)
	listed := 0
	cursor := ""
	for page := 0; page < 5; page++ {
		var p struct {
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"next_cursor"`
		}
		if err := s.api(ctx, "GET", "/api/v1/targets/"+in.targetID+"/items?limit=500&cursor="+url.QueryEscape(cursor), nil, &p); err != nil {
			return fmt.Errorf("list items: %w", err)
		}
		listed += len(p.Items)
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	t = step("items listed", t)
	var v integration.View
	if err := s.api(ctx, "GET", "/api/v1/integrations/"+in.integrationID, nil, &v); err != nil {
		return fmt.Errorf("read the integration: %w", err)
	}
	t = step("integration read", t)
	if v.Backfill.Total != o.Items || v.Backfill.Done != o.Items {
		return fmt.Errorf("the integration counts %d items, %d linked; want %d and %d", v.Backfill.Total, v.Backfill.Done, o.Items, o.Items)
	}
	if err := s.api(ctx, "GET", "/api/v1/integrations/"+in.integrationID+"/events", nil, nil); err != nil {
		return fmt.Errorf("read the sync log: %w", err)
	}
	if oneBulk != "" {
		var it struct {
			Jira *struct {
				Key string `json:"key"`
			} `json:"jira"`
		}
		if err := s.api(ctx, "GET", "/api/v1/items/"+oneBulk, nil, &it); err != nil {
			return fmt.Errorf("read an item: %w", err)
		}
		if it.Jira == nil || it.Jira.Key == "" {
			return fmt.Errorf("item %s shows no Jira issue", oneBulk)
		}
	}
	step("sync log and item read", t)
	passTook := time.Since(passStart)
	rss, err := readProcStatus("VmRSS")
	if err != nil {
		return err
	}
	hwm, err := readProcStatus("VmHWM")
	if err != nil {
		return err
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	rec.add(fmt.Sprintf("RSS with %d linked items", o.Items), mb(rss), "MB", atMost(memoryTargetMB))
	rec.add("RSS right after loading (garbage returned)", mb(rssLoaded), "MB", nil)
	rec.add("Go heap in use", float64(m.HeapInuse)/1e6, "MB", nil)
	rec.add("peak RSS, loading included (VmHWM)", mb(hwm), "MB", nil)
	rec.note("%d items linked (%d synced through the simulator, %d written to the store with their links) in %.1f s", o.Items, nReal, bulk, loadTook.Seconds())
	rec.note("then in %.1f s: reconciliation, %d edits pushed to Jira, one change from Jira, %d items listed through the API, the integration read (backfill progress %d/%d), the sync log, one item (%s)",
		passTook.Seconds(), len(reals), listed, v.Backfill.Done, v.Backfill.Total, strings.Join(steps, ", "))
	rec.note("RSS is the whole process: vulnsync, the in-process simulator (%d issues) and the bench; MB = 10^6 bytes; store %s", nReal, s.st.Backend())
	return nil
}

func mb(bytes int64) float64 { return float64(bytes) / 1e6 }

// readProcStatus reads a "kB" line of /proc/self/status (VmRSS, VmHWM) in
// bytes.
func readProcStatus(field string) (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("the memory scenario reads /proc/self/status (Linux): %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		fs := strings.Fields(rest)
		if len(fs) != 2 || fs[1] != "kB" {
			return 0, fmt.Errorf("unexpected %s line in /proc/self/status: %q", field, sc.Text())
		}
		kb, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s: %w", field, err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read /proc/self/status: %w", err)
	}
	return 0, fmt.Errorf("/proc/self/status has no %s line", field)
}

// preloadLinked writes n vulnerabilities of the integration's target with
// their links straight to the store (fast; no sync jobs), each linked to
// an issue id and key the simulator does not hold, with synced as the
// last synced state. It returns the first item's id ("" when n is 0).
func preloadLinked(ctx context.Context, s *stack, in integrated, n int, synced []byte) (string, error) {
	first := ""
	err := bulkCreate(ctx, s, in.targetID, n, func(ctx context.Context, tx store.Tx, it tracker.Item, i int) error {
		if first == "" {
			first = it.ID
		}
		id := 1_000_000 + i
		return tx.UpsertLink(ctx, store.Link{ItemID: it.ID, IntegrationID: in.integrationID, State: tracker.LinkLinked,
			IssueID: strconv.Itoa(id), IssueKey: "SEC-" + strconv.Itoa(id), Synced: synced, UpdatedAt: time.Now()})
	})
	return first, err
}
