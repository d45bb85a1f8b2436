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

// known reports whether the transitions out of a status were learned.
func (g *graphCache) known(wf, status string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.edges[wf][strings.ToLower(status)]
	return ok
}

// frontier lists, breadth-first from a status over the known graph, the
// statuses whose transitions are not known yet, each with the path to it.
func (g *graphCache) frontier(wf, from string) map[string][]jira.Transition {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string][]jira.Transition{}
	type step struct {
		status string
		path   []jira.Transition
	}
	seen := map[string]bool{strings.ToLower(from): true}
	queue := []step{{status: strings.ToLower(from)}}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, t := range g.edges[wf][cur.status] {
			next := strings.ToLower(t.To.Name)
			if seen[next] {
				continue
			}
			seen[next] = true
			p := append(append([]jira.Transition{}, cur.path...), t)
			if _, ok := g.edges[wf][next]; !ok {
				out[next] = p
				continue
			}
			queue = append(queue, step{status: next, path: p})
		}
	}
	return out
}

// transitionTo moves an issue from its current status to target, taking as
// many transitions as the workflow needs (G5). It follows the shortest known
// path when there is one (no listing call needed once a workflow is known).
// Otherwise it learns the transitions where the issue stands and, if the
// target is still out of sight, explores: it moves toward the nearest status
// whose transitions are unknown, preferring statuses whose category lies
// toward the target's and avoiding done statuses other than the target
// (entering one sets a resolution people see). It returns the status reached.
func (r *run) transitionTo(ctx context.Context, kind, key, current, target string) (string, error) {
	wf := r.in.ProjectKey + "/" + r.doc.IssueTypes[kind]
	targetRank := categoryRank[r.category(kind, target)]
	verified := false // current was read from Jira during this call
	// step performs one transition; a 400 means our picture is stale
	// (someone moved the issue, or the workflow changed): forget it and
	// read where the issue really is.
	step := func(t jira.Transition) (bool, error) {
		if err := r.doTransition(ctx, key, t); err != nil {
			var er *jira.ErrorResponse
			if errors.As(err, &er) && er.StatusCode == 400 {
				r.e.graphs.forget(wf)
				current, verified = "", false
				return false, nil
			}
			return false, err
		}
		current = t.To.Name
		return true, nil
	}
	for moves := 0; moves < 12; moves++ {
		if current == "" {
			var is *jira.Issue
			err := r.call(ctx, "transition", "GET /issue/{key}", key, func() error {
				var err error
				is, err = r.client.GetIssue(ctx, key, jira.GetIssueOptions{Fields: []string{"status"}})
				return err
			})
			if err != nil {
				return current, classify(err)
			}
			current, verified = is.Status.Name, true
		}
		if strings.EqualFold(current, target) {
			return current, nil
		}
		if p, ok := r.e.graphs.path(wf, current, target); ok && len(p) > 0 {
			if _, err := step(p[0]); err != nil {
				return current, err
			}
			continue
		}
		if !r.e.graphs.known(wf, current) {
			if !verified {
				// Learn only where the issue really is, or the graph
				// would file one status's transitions under another.
				current = ""
				continue
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
			r.e.graphs.learn(wf, current, ts)
			moves--
			continue
		}
		var best []jira.Transition
		score := func(p []jira.Transition) [3]int {
			to := p[len(p)-1].To
			doneDetour := 0
			if to.Category.Key == "done" {
				doneDetour = 1
			}
			return [3]int{doneDetour, distance(categoryRank[to.Category.Key], targetRank), len(p)}
		}
		less := func(a, b [3]int) bool {
			for i := range a {
				if a[i] != b[i] {
					return a[i] < b[i]
				}
			}
			return false
		}
		for _, p := range r.e.graphs.frontier(wf, current) {
			if best == nil || less(score(p), score(best)) {
				best = p
			}
		}
		if best == nil {
			if !verified {
				current = "" // maybe our picture is stale: look again
				continue
			}
			return current, jobs.Permanent(fmt.Errorf("status %q cannot be reached from %q in the workflow of %s", target, current, r.doc.IssueTypes[kind]))
		}
		if _, err := step(best[0]); err != nil {
			return current, err
		}
	}
	return current, jobs.Permanent(fmt.Errorf("gave up reaching status %q after 12 transitions", target))
}

func distance(a, b int) int {
	if a > b {
		return a - b
	}
	return b - a
}

// doTransition performs one transition, filling the fields its screen
// requires: a resolution from the mapping's resolutions for the target
// status (or the one named like it), other fields from the mapping's
// defaults, else the first allowed value.
func (r *run) doTransition(ctx context.Context, key string, t jira.Transition) error {
	fields := map[string]any{}
	for id, f := range t.Fields {
		if !f.Required && (id != "resolution" || r.resolution == "") {
			continue
		}
		if id == "resolution" {
			offered := make([]string, 0, len(f.AllowedValues))
			for _, av := range f.AllowedValues {
				offered = append(offered, av.Name)
			}
			name := r.doc.ResolutionFor(t.To.Name, offered)
			for _, o := range offered {
				if r.resolution != "" && strings.EqualFold(o, r.resolution) {
					name = o
				}
			}
			if name != "" {
				fields[id] = map[string]any{"name": name}
				continue
			}
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
