package jirasim

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestConcurrentRequests runs mixed traffic from parallel clients (with a
// webhook receiver and the real clock) and checks the result is consistent;
// run it with -race to check the locking.
func TestConcurrentRequests(t *testing.T) {
	e := newEnv(t, envOpts{cfg: Config{Clock: time.Now}})
	rc := newReceiver(t)
	e.register(t, rc.srv.URL, "s", "project = SEC")
	const workers, perWorker = 6, 8
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := e.admin
			if w%2 == 1 {
				c = e.dev
			}
			for i := 0; i < perWorker; i++ {
				r := c.do("POST", "issue", map[string]any{"fields": map[string]any{
					"project": map[string]any{"key": "SEC"}, "issuetype": map[string]any{"name": "Task"},
					"summary": "w" + strconv.Itoa(w) + "-" + strconv.Itoa(i), "labels": []string{"w" + strconv.Itoa(w)}}})
				if r.status != http.StatusCreated {
					t.Errorf("create: %d %s", r.status, r.body)
					return
				}
				key := r.json(t)["key"].(string)
				c.do("PUT", "issue/"+key, map[string]any{"update": map[string]any{"labels": []any{map[string]any{"add": "edited"}}}})
				c.do("POST", "issue/"+key+"/comment", map[string]any{"body": adf("c")})
				c.do("POST", "issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": "21"}})
				c.do("GET", "issue/"+key, nil)
				c.do("GET", "search/jql?jql="+url.QueryEscape("labels = w"+strconv.Itoa(w)), nil)
			}
		}(w)
	}
	wg.Wait()
	for w := 0; w < workers; w++ {
		got := e.admin.must(http.StatusOK, "GET", "search/jql?maxResults=100&fields=labels,status,comment&jql="+url.QueryEscape("labels = w"+strconv.Itoa(w)), nil).json(t)
		issues := got["issues"].([]any)
		if len(issues) != perWorker {
			t.Errorf("worker %d: %d issues, want %d", w, len(issues), perWorker)
		}
		for _, is := range issues {
			if get(is, "fields", "status", "name") != "In Progress" || get(is, "fields", "comment", "total") != 1.0 || len(get(is, "fields", "labels").([]any)) != 2 {
				t.Errorf("issue %v: inconsistent after concurrent changes: %v", get(is, "key"), get(is, "fields"))
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.sim.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
	// Per issue: created, label edit, comment_created, issue_commented,
	// transition.
	want := int64(workers * perWorker * 5)
	if c := e.sim.Counters().Webhooks; c.Delivered != want || len(rc.all()) != int(want) {
		t.Errorf("webhooks: counters %+v, received %d, want %d delivered", c, len(rc.all()), want)
	}
}
