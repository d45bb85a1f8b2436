package jirasim

import (
	"net/http"
	"strconv"
	"strings"
)

// Issue links (POST /rest/api/{2,3}/issueLink), shaped like real Jira's
// LinkIssueRequestJsonBean: a link type by name or id, an inward and an
// outward issue by key or id. The link shows in both issues' issuelinks
// field, from each side's point of view (outwardIssue on the inward one).

// linkType is one of the site's issue link types (Jira's defaults).
type linkType struct {
	ID, Name, Inward, Outward string
}

var linkTypes = []linkType{
	{"10000", "Blocks", "is blocked by", "blocks"},
	{"10001", "Cloners", "is cloned by", "clones"},
	{"10002", "Duplicate", "is duplicated by", "duplicates"},
	{"10003", "Relates", "relates to", "relates to"},
}

// issueLinkEnd is one link seen from one of its issues: the other issue
// is inward (this one is the outward side) or outward.
type issueLinkEnd struct {
	ID      int64
	Type    linkType
	Other   *issue
	Outward bool // Other is the outward issue
}

type issueRef struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

func (s *Simulator) createIssueLink(rq *request) {
	var in struct {
		Type struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"type"`
		InwardIssue  issueRef `json:"inwardIssue"`
		OutwardIssue issueRef `json:"outwardIssue"`
	}
	if !rq.decode(&in) {
		return
	}
	var lt *linkType
	for i := range linkTypes {
		if (in.Type.ID != "" && linkTypes[i].ID == in.Type.ID) || (in.Type.ID == "" && strings.EqualFold(linkTypes[i].Name, in.Type.Name)) {
			lt = &linkTypes[i]
		}
	}
	if lt == nil {
		rq.fail(http.StatusNotFound, "No issue link type with name '"+in.Type.Name+"' found.")
		return
	}
	s.lockWrite()
	defer s.mu.Unlock()
	ref := func(r issueRef) *issue { return s.lookupIssue(firstNonEmptyString(r.Key, r.ID)) }
	inward, outward := ref(in.InwardIssue), ref(in.OutwardIssue)
	if inward == nil || outward == nil {
		s.issueNotFound(rq)
		return
	}
	if inward == outward {
		rq.fail(http.StatusBadRequest, "You cannot link an issue to itself.")
		return
	}
	s.nextLinkID++
	id := 10000 + s.nextLinkID
	inward.Links = append(inward.Links, issueLinkEnd{ID: id, Type: *lt, Other: outward, Outward: true})
	outward.Links = append(outward.Links, issueLinkEnd{ID: id, Type: *lt, Other: inward})
	rq.w.WriteHeader(http.StatusCreated)
}

// issueLinks renders an issue's links as its issuelinks field.
func (v view) issueLinks(is *issue) []any {
	out := []any{}
	for _, l := range is.Links {
		if l.Other.deleted {
			continue
		}
		id := strconv.FormatInt(l.ID, 10)
		m := map[string]any{"id": id, "self": v.rest() + "/issueLink/" + id,
			"type": map[string]any{"id": l.Type.ID, "name": l.Type.Name, "inward": l.Type.Inward, "outward": l.Type.Outward,
				"self": v.rest() + "/issueLinkType/" + l.Type.ID}}
		if l.Outward {
			m["outwardIssue"] = v.issueLink(l.Other)
		} else {
			m["inwardIssue"] = v.issueLink(l.Other)
		}
		out = append(out, m)
	}
	return out
}

func firstNonEmptyString(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
