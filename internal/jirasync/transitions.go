package jirasync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jobs"
)

// graphCache remembers, per project and issue type, the transitions seen
// from each status, so later moves go straight along a known path without
// listing transitions first. Transition ids are stable within a workflow;
// a refused transition drops what was learned.
type graphCache struct {
	mu sync.Mutex
	// edges[workflow][from status (lower case)] = transitions
	edges map[string]map[string][]jira.Transition
}

func newGraphCache() *graphCache {
	return &graphCache{edges: map[string]map[string][]jira.Transition{}}
}

func (g *graphCache) learn(wf, from string, ts []jira.Transition) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.edges[wf] == nil {
		g.edges[wf] = map[string][]jira.Transition{}
	}
	g.edges[wf][strings.ToLower(from)] = ts
}

func (g *graphCache) forget(wf string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.edges, wf)
}

// path finds, breadth-first over the known transitions, the shortest list
// of transitions from one status to another; ok is false when the known
// graph does not reach it.
func (g *graphCache) path(wf, from, to string) ([]jira.Transition, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	edges := g.edges[wf]
	from, to = strings.ToLower(from), strings.ToLower(to)
	if from == to {
		return nil, true
	}
	type step struct {
		status string
		path   []jira.Transition
	}
	seen := map[string]bool{from: true}
	queue := []step{{status: from}}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, t := range edges[cur.status] {
			next := strings.ToLower(t.To.Name)
			if seen[next] {
				continue
			}
			seen[next] = true
			p := append(append([]jira.Transition{}, cur.path...), t)
			if next == to {
				return p, true
			}
			queue = append(queue, step{status: next, path: p})
		}
	}
	return nil, false
}

// categoryRank orders status categories along a workflow's usual flow.
var categoryRank = map[string]int{"new": 0, "indeterminate": 1, "done": 2}

// transitionTo moves an issue from its current status to target, taking as
// many transitions as the workflow needs (G5). It follows a known path when
// there is one; otherwise it lists the transitions available where the
// issue is and explores breadth-first, preferring statuses whose category
// lies toward the target's. It returns the status reached.
func (r *run) transitionTo(ctx context.Context, kind, key, current, target string) (string, error) {
	wf := r.in.ProjectKey + "/" + r.doc.IssueTypes[kind]
	targetRank := categoryRank[r.category(kind, target)]
	visited := map[string]bool{}
	for steps := 0; steps < 12; steps++ {
		if strings.EqualFold(current, target) {
			return current, nil
		}
		if current != "" {
			if p, ok := r.e.graphs.path(wf, current, target); ok && len(p) > 0 {
				if err := r.doTransition(ctx, key, p[0]); err != nil {
					var er *jira.ErrorResponse
					if errors.As(err, &er) && er.StatusCode == 400 {
						r.e.graphs.forget(wf) // the workflow changed: learn it again
						current = ""
						continue
					}
					return current, err
				}
				current = p[0].To.Name
				continue
			}
		}
		var ts []jira.Transition
		err := r.call(ctx, "transition", "GET /issue/{key}/transitions", key, func() error {
			var err error
			ts, err = r.client.Transitions(ctx, key)
			return err
		})
		if err != nil {
			return current, classify(err)
		}
		if current == "" {
			// We do not know where the issue is: read it.
			var is *jira.Issue
			err := r.call(ctx, "transition", "GET /issue/{key}", key, func() error {
				var err error
				is, err = r.client.GetIssue(ctx, key, jira.GetIssueOptions{Fields: []string{"status"}})
				return err
			})
			if err != nil {
				return current, classify(err)
			}
			current = is.Status.Name
			if strings.EqualFold(current, target) {
				return current, nil
			}
		}
		r.e.graphs.learn(wf, current, ts)
		visited[strings.ToLower(current)] = true
		if p, ok := r.e.graphs.path(wf, current, target); ok && len(p) > 0 {
			continue // the next round follows it
		}
		// Explore: move to an unvisited status, closest in category to
		// the target first.
		var best *jira.Transition
		for i := range ts {
			t := &ts[i]
			if visited[strings.ToLower(t.To.Name)] {
				continue
			}
			if best == nil || distance(categoryRank[t.To.Category.Key], targetRank) < distance(categoryRank[best.To.Category.Key], targetRank) {
				best = t
			}
		}
		if best == nil {
			return current, jobs.Permanent(fmt.Errorf("status %q cannot be reached from %q in the workflow of %s", target, current, r.doc.IssueTypes[kind]))
		}
		if err := r.doTransition(ctx, key, *best); err != nil {
			return current, err
		}
		current = best.To.Name
	}
	return current, jobs.Permanent(fmt.Errorf("gave up reaching status %q after 12 transitions", target))
}

func distance(a, b int) int {
	if a > b {
		return a - b
	}
	return b - a
}

// doTransition performs one transition, filling its required fields from
// the mapping's defaults (or the first allowed value).
func (r *run) doTransition(ctx context.Context, key string, t jira.Transition) error {
	fields := map[string]any{}
	for id, f := range t.Fields {
		if !f.Required {
			continue
		}
		if raw, ok := r.doc.Defaults[id]; ok {
			fields[id] = rawJSON(raw)
		} else if len(f.AllowedValues) > 0 {
			av := f.AllowedValues[0]
			if av.ID != "" {
				fields[id] = map[string]any{"id": av.ID}
			} else {
				fields[id] = map[string]any{"name": av.Name}
			}
		}
	}
	err := r.call(ctx, "transition", "POST /issue/{key}/transitions ("+t.Name+" → "+t.To.Name+")", key, func() error {
		return r.client.DoTransition(ctx, key, t.ID, fields)
	})
	if err != nil {
		return classify(err)
	}
	return nil
}
