package jirasim

import (
	"net/http"
	"strconv"
	"strings"
)

// This file is the issue security scheme: the levels an issue's "security"
// field may take, per project, served as real Jira serves them
// (createmeta/editmeta allowedValues, GET /project/{key}/securitylevel and
// /project/{key}/issuesecuritylevelscheme), so that vulnsync learns a
// project's levels the way it would from a real site.

// securityLevel is one level of an issue security scheme.
type securityLevel struct {
	ID          string
	Name        string
	Description string
}

// securityScheme is an issue security scheme with its levels.
type securityScheme struct {
	ID          string
	Name        string
	Description string
	Levels      []*securityLevel
	Default     *securityLevel // nil: new issues get no level unless one is given
}

// The seed scheme: two levels, shared by SEC and OPS (a real site often
// shares one scheme across projects).
var (
	levelSecurityOnly = &securityLevel{ID: "10000", Name: "Security only", Description: "Only the security team can see the issue."}
	levelStaffOnly    = &securityLevel{ID: "10001", Name: "Staff only", Description: "Only employees can see the issue."}
	seedSecurity      = &securityScheme{ID: "10000", Name: "Security levels", Description: "Who may see sensitive issues.",
		Levels: []*securityLevel{levelSecurityOnly, levelStaffOnly}}
)

// level finds a level of the scheme by id, or by name when id is empty.
func (sc *securityScheme) level(id, name string) *securityLevel {
	if sc == nil {
		return nil
	}
	for _, l := range sc.Levels {
		if (id != "" && l.ID == id) || (id == "" && name != "" && strings.EqualFold(l.Name, name)) {
			return l
		}
	}
	return nil
}

// securityLevelByIDOrName finds a level of any scheme of the site; the
// project's scheme is checked by checkScheme.
func securityLevelByIDOrName(id, name string) *securityLevel {
	return seedSecurity.level(id, name)
}

// securityLevel renders a level as the issue field and allowedValues do.
func (v view) securityLevel(l *securityLevel) any {
	if l == nil {
		return nil
	}
	return map[string]any{
		"self":        v.rest() + "/securitylevel/" + l.ID,
		"id":          l.ID,
		"name":        l.Name,
		"description": l.Description,
	}
}

// getProjectSecurityLevels is Get project issue security levels: the levels
// the caller may set on the project's issues ({"levels": [...]}); empty
// when the project has no scheme.
func (s *Simulator) getProjectSecurityLevels(rq *request) {
	p := s.projectParam(rq)
	if p == nil {
		return
	}
	levels := []any{}
	if p.Security != nil {
		for _, l := range p.Security.Levels {
			m := rq.view.securityLevel(l).(map[string]any)
			m["isDefault"] = p.Security.Default == l
			m["issueSecuritySchemeId"] = p.Security.ID
			levels = append(levels, m)
		}
	}
	rq.json(http.StatusOK, map[string]any{"levels": levels})
}

// getProjectSecurityScheme is Get project issue security scheme; 404 when
// the project has none, as real Jira answers.
func (s *Simulator) getProjectSecurityScheme(rq *request) {
	p := s.projectParam(rq)
	if p == nil {
		return
	}
	sc := p.Security
	if sc == nil {
		rq.fail(http.StatusNotFound, "No issue security scheme is associated with project '"+p.Key+"'.")
		return
	}
	out := map[string]any{
		"self":        rq.view.rest() + "/issuesecurityschemes/" + sc.ID,
		"id":          jsonInt(sc.ID),
		"name":        sc.Name,
		"description": sc.Description,
	}
	if sc.Default != nil {
		out["defaultSecurityLevelId"] = jsonInt(sc.Default.ID)
	}
	levels := make([]any, 0, len(sc.Levels))
	for _, l := range sc.Levels {
		levels = append(levels, rq.view.securityLevel(l))
	}
	out["levels"] = levels
	rq.json(http.StatusOK, out)
}

// jsonInt renders a numeric id as the JSON number the scheme API uses.
func jsonInt(id string) int64 {
	n, _ := strconv.ParseInt(id, 10, 64)
	return n
}
