package jirasim

import (
	"encoding/json"
	"errors"
	"net/http"
	"unicode/utf8"
)

// This file serves issue properties, which vulnsync uses to mark the issues
// it created.

func (s *Simulator) getPropertyKeys(rq *request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	keys := []any{}
	for _, k := range sortedKeys(is.Props) {
		keys = append(keys, map[string]any{"self": rq.view.issueSelf(is) + "/properties/" + k, "key": k})
	}
	rq.json(http.StatusOK, map[string]any{"keys": keys})
}

func (s *Simulator) getProperty(rq *request) {
	key := rq.params["propertyKey"]
	s.mu.RLock()
	defer s.mu.RUnlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	val, ok := is.Props[key]
	if !ok {
		rq.fail(http.StatusNotFound, "The property with key '"+key+"' does not exist.")
		return
	}
	rq.json(http.StatusOK, map[string]any{"key": key, "value": val})
}

func (s *Simulator) setProperty(rq *request) {
	key := rq.params["propertyKey"]
	if utf8.RuneCountInString(key) > maxPropKey {
		rq.fail(http.StatusBadRequest, "The property key must be between 1 and 255 characters.")
		return
	}
	b, err := rq.body()
	if errors.Is(err, errBodyTooLarge) || len(b) > maxPropBytes {
		rq.fail(http.StatusBadRequest, "The property value exceeds the maximum size of 32768 bytes.")
		return
	}
	if err != nil || !json.Valid(b) {
		rq.fail(http.StatusBadRequest, "The property value must be valid JSON.")
		return
	}
	s.lockWrite()
	defer s.mu.Unlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	_, existed := is.Props[key]
	is.Props[key] = json.RawMessage(b)
	if existed {
		rq.json(http.StatusOK, map[string]any{})
		return
	}
	rq.json(http.StatusCreated, map[string]any{})
}

func (s *Simulator) deleteProperty(rq *request) {
	key := rq.params["propertyKey"]
	s.lockWrite()
	defer s.mu.Unlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	if _, ok := is.Props[key]; !ok {
		rq.fail(http.StatusNotFound, "The property with key '"+key+"' does not exist.")
		return
	}
	delete(is.Props, key)
	rq.noContent()
}
