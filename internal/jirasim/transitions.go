package jirasim

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
)

// This file serves workflow transitions.

// resolutionField is the field the transitions into a done status show on
// their screen.
func (s *Simulator) resolutionField(v view, t *transition) map[string]any {
	vals := make([]any, 0, len(allResolutions))
	for _, r := range allResolutions {
		vals = append(vals, v.resolution(r))
	}
	m := map[string]any{
		"required":        false,
		"schema":          map[string]any{"type": "resolution", "system": "resolution"},
		"name":            "Resolution",
		"key":             "resolution",
		"hasDefaultValue": true,
		"defaultValue":    v.resolution(t.Resolution),
		"operations":      []string{"set"},
		"allowedValues":   vals,
	}
	if s.resolutionRequired(t) {
		m["required"] = true
		m["hasDefaultValue"] = false
		delete(m, "defaultValue")
	}
	return m
}

// resolutionRequired reports whether a transition's screen requires the
// resolution: on Data Center, the classic workflow's "Resolve Issue" screen
// on transitions into Done makes it required and sets no default (README,
// "Transitions may require fields on their screen").
func (s *Simulator) resolutionRequired(t *transition) bool {
	return s.dc && t.To == statusDone
}

// conditions hide transitions from some users, as workflow conditions do
// on real sites ("conditions hide transitions from some users"). Set
// through /_sim/transition-conditions.
type conditions struct {
	mu     sync.Mutex
	hidden map[string][]string // transition id → user names hidden from
}

// TransitionConditions maps a transition id to the users (by name:
// "admin", "dev") it is hidden from. It is the body of POST
// /_sim/transition-conditions: {"hidden": {"51": ["dev"]}}.
type TransitionConditions struct {
	Hidden map[string][]string `json:"hidden"`
}

// SetTransitionConditions replaces the conditions, like POST
// /_sim/transition-conditions.
func (s *Simulator) SetTransitionConditions(c TransitionConditions) {
	s.cond.mu.Lock()
	defer s.cond.mu.Unlock()
	s.cond.hidden = map[string][]string{}
	for k, v := range c.Hidden {
		s.cond.hidden[k] = append([]string{}, v...)
	}
}

func (s *Simulator) transitionConditions() TransitionConditions {
	s.cond.mu.Lock()
	defer s.cond.mu.Unlock()
	out := TransitionConditions{Hidden: map[string][]string{}}
	for k, v := range s.cond.hidden {
		out.Hidden[k] = append([]string{}, v...)
	}
	return out
}

// hiddenFrom reports whether a condition hides transition t from u.
func (s *Simulator) hiddenFrom(t *transition, u *user) bool {
	s.cond.mu.Lock()
	defer s.cond.mu.Unlock()
	return slices.Contains(s.cond.hidden[t.ID], u.Name)
}

func (s *Simulator) serveConditions(w http.ResponseWriter, r *http.Request, fail func(int, string)) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost, http.MethodPut:
		var c TransitionConditions
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			fail(http.StatusBadRequest, "decode transition conditions: "+err.Error())
			return
		}
		for id := range c.Hidden {
			if !slices.ContainsFunc(allTransitions, func(t *transition) bool { return t.ID == id }) {
				fail(http.StatusBadRequest, "unknown transition id "+id)
				return
			}
		}
		s.SetTransitionConditions(c)
	default:
		fail(http.StatusMethodNotAllowed, "use GET or POST")
		return
	}
	writeJSON(w, http.StatusOK, s.transitionConditions())
}

func (s *Simulator) transitionJSON(v view, t *transition, withFields bool) map[string]any {
	m := map[string]any{
		"id":            t.ID,
		"name":          t.Name,
		"to":            v.status(t.To),
		"hasScreen":     t.Resolution != nil,
		"isGlobal":      false,
		"isInitial":     false,
		"isAvailable":   true,
		"isConditional": false,
	}
	if !s.dc {
		m["isLooped"] = false
	}
	if withFields {
		fields := map[string]any{}
		if t.Resolution != nil {
			fields["resolution"] = s.resolutionField(v, t)
		}
		m["fields"] = fields
	}
	return m
}

func (s *Simulator) getTransitions(rq *request) {
	withFields := hasExpand(rq.r.URL.Query()["expand"], "transitions.fields")
	only := rq.r.URL.Query().Get("transitionId")
	s.mu.RLock()
	defer s.mu.RUnlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	out := []any{}
	for _, t := range allTransitions {
		if !t.availableFrom(is.Status) || (only != "" && only != t.ID) || s.hiddenFrom(t, rq.user) {
			continue
		}
		out = append(out, s.transitionJSON(rq.view, t, withFields))
	}
	rq.json(http.StatusOK, map[string]any{"expand": "transitions", "transitions": out})
}

func (s *Simulator) doTransition(rq *request) {
	var in issueInput
	if !rq.decode(&in) {
		return
	}
	if in.Transition == nil || in.Transition.idString() == "" {
		rq.fail(http.StatusBadRequest, "Missing 'transition' identifier")
		return
	}
	id := in.Transition.idString()
	s.lockWrite()
	defer s.mu.Unlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	var t *transition
	for _, c := range allTransitions {
		if c.ID == id && c.availableFrom(is.Status) && !s.hiddenFrom(c, rq.user) {
			t = c
		}
	}
	if t == nil {
		rq.fail(http.StatusBadRequest, "Transition id '"+id+"' is not valid for this issue.")
		return
	}
	errs := map[string]string{}
	res := t.Resolution
	if raw, ok := in.Fields["resolution"]; (!ok || isNull(raw)) && s.resolutionRequired(t) {
		delete(in.Fields, "resolution")
		errs["resolution"] = "Resolution is required."
	} else if ok {
		delete(in.Fields, "resolution")
		r, ok := decodeRef(raw)
		switch {
		case t.Resolution == nil:
			errs["resolution"] = msgCannotSet("resolution")
		case !ok || resolutionByIDOrName(r.idString(), r.Name) == nil:
			errs["resolution"] = "Specify a valid 'id' or 'name' for Resolution"
		default:
			res = resolutionByIDOrName(r.idString(), r.Name)
		}
	}
	// Other fields are not on the transition screens of this workflow.
	_, comments := s.collectUpdates(rq.view, is, &in, func(*fieldDef) bool { return false }, errs)
	if len(errs) > 0 {
		rq.failFields(http.StatusBadRequest, errs)
		return
	}
	now := rq.now
	statusItem := changeItem{Field: "status", FieldType: "jira", FieldID: "status",
		From: strp(is.Status.ID), FromString: strp(is.Status.Name), To: strp(t.To.ID), ToString: strp(t.To.Name)}
	var resItem *changeItem
	if is.Resolution != res {
		resItem = &changeItem{Field: "resolution", FieldType: "jira", FieldID: "resolution"}
		if is.Resolution != nil {
			resItem.From, resItem.FromString = strp(is.Resolution.ID), strp(is.Resolution.Name)
		}
		if res != nil {
			resItem.To, resItem.ToString = strp(res.ID), strp(res.Name)
		}
	}
	if is.Status.Cat != t.To.Cat {
		is.StatusChanged = now
	}
	is.Status = t.To
	is.Resolution = res
	if res != nil {
		is.ResolutionDate = now
	}
	// Cloud lists the resolution first, Data Center the status (as the
	// recorded deliveries do).
	var items []changeItem
	switch {
	case resItem == nil:
		items = []changeItem{statusItem}
	case s.dc:
		items = []changeItem{statusItem, *resItem}
	default:
		items = []changeItem{*resItem, statusItem}
	}
	hid := s.recordChange(is, rq.user, now, items)
	typeName := "issue_generic"
	if s.dc {
		typeName = t.Event
	}
	s.emit(rq.view.base, event{name: "jira:issue_updated", typeName: typeName, is: is, user: rq.user, items: items, historyID: hid, hasLog: true})
	for _, body := range comments {
		s.addCommentLocked(rq.view.base, is, rq.user, now, body, nil, nil)
	}
	rq.noContent()
}
