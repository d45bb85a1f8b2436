package jirasim

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file implements the JQL subset vulnsync uses: project, key/issuekey,
// id, status, statusCategory, issuetype/type, priority, resolution, labels,
// assignee, reporter, parent, summary/text (~), created/updated with Jira's
// date formats and relative periods, AND/OR/NOT/parentheses, IN/NOT IN,
// IS [NOT] EMPTY and ORDER BY. Anything else is refused with Jira's error
// shape and messages modelled on real Jira's.

// jqlError is a JQL problem; its message is what Jira puts in
// errorMessages.
type jqlError struct{ msg string }

func (e *jqlError) Error() string { return e.msg }

func jqlErrorf(format string, args ...any) error {
	return &jqlError{msg: fmt.Sprintf(format, args...)}
}

const jqlOperators = "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."

// maxJQLLength bounds a query.
const maxJQLLength = 10000

type tokKind int

const (
	tkEOF tokKind = iota
	tkWord
	tkString
	tkOp
	tkLParen
	tkRParen
	tkComma
)

type token struct {
	kind tokKind
	text string
	pos  int // 1-based character
}

func (t token) is(word string) bool { return t.kind == tkWord && strings.EqualFold(t.text, word) }

func (t token) describe() string {
	if t.kind == tkEOF {
		return "EOF"
	}
	return t.text
}

func lexJQL(q string) ([]token, error) {
	var out []token
	rs := []rune(q)
	for i := 0; i < len(rs); {
		c := rs[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			out = append(out, token{tkLParen, "(", i + 1})
			i++
		case c == ')':
			out = append(out, token{tkRParen, ")", i + 1})
			i++
		case c == ',':
			out = append(out, token{tkComma, ",", i + 1})
			i++
		case c == '"' || c == '\'':
			start := i
			var b strings.Builder
			i++
			for ; i < len(rs) && rs[i] != c; i++ {
				if rs[i] == '\\' && i+1 < len(rs) {
					i++
				}
				b.WriteRune(rs[i])
			}
			if i >= len(rs) {
				return nil, jqlErrorf("Error in the JQL Query: The quoted string '%s' has not been completed. (line 1, character %d)", b.String(), start+1)
			}
			i++
			out = append(out, token{tkString, b.String(), start + 1})
		case c == '=' || c == '~':
			out = append(out, token{tkOp, string(c), i + 1})
			i++
		case c == '!' || c == '<' || c == '>':
			if i+1 < len(rs) && (rs[i+1] == '=' || (c == '!' && rs[i+1] == '~')) {
				out = append(out, token{tkOp, string(rs[i : i+2]), i + 1})
				i += 2
			} else if c == '!' {
				out = append(out, token{tkWord, "NOT", i + 1})
				i++
			} else {
				out = append(out, token{tkOp, string(c), i + 1})
				i++
			}
		case c == '&' && i+1 < len(rs) && rs[i+1] == '&':
			out = append(out, token{tkWord, "AND", i + 1})
			i += 2
		case c == '|' && i+1 < len(rs) && rs[i+1] == '|':
			out = append(out, token{tkWord, "OR", i + 1})
			i += 2
		default:
			start := i
			for i < len(rs) && !strings.ContainsRune(" \t\r\n()=!<>~,\"'", rs[i]) && !(rs[i] == '&' || rs[i] == '|') {
				i++
			}
			if i == start {
				return nil, jqlErrorf("Error in the JQL Query: The character '%c' is a reserved JQL character. You must enclose it in a string or use the escape '\\u%04x' instead. (line 1, character %d)", c, c, i+1)
			}
			out = append(out, token{tkWord, string(rs[start:i]), start + 1})
		}
	}
	out = append(out, token{kind: tkEOF, pos: len(rs) + 1})
	return out, nil
}

// jqlNode is the parsed query.
type jqlNode struct {
	op       string // "and", "or", "not", "clause"
	kids     []*jqlNode
	field    string
	fieldPos int
	operator string // =, !=, >, >=, <, <=, ~, !~, in, not in, is, is not
	values   []jqlValue
}

type jqlValue struct {
	text  string
	quote bool
	fn    string // function name when the value is a call, e.g. currentUser
	empty bool   // EMPTY / NULL
}

type sortKey struct {
	field string
	desc  bool
}

type jqlQuery struct {
	where *jqlNode
	order []sortKey
}

type jqlParser struct {
	toks []token
	i    int
}

func (p *jqlParser) peek() token { return p.toks[p.i] }
func (p *jqlParser) next() token { t := p.toks[p.i]; p.i++; return t }

func parseJQL(q string) (*jqlQuery, error) {
	if len(q) > maxJQLLength {
		return nil, jqlErrorf("The JQL query is too long (%d characters; the limit is %d).", len(q), maxJQLLength)
	}
	toks, err := lexJQL(q)
	if err != nil {
		return nil, err
	}
	p := &jqlParser{toks: toks}
	out := &jqlQuery{}
	if !p.peek().is("ORDER") && p.peek().kind != tkEOF {
		out.where, err = p.parseOr()
		if err != nil {
			return nil, err
		}
	}
	if p.peek().is("ORDER") {
		p.next()
		if !p.peek().is("BY") {
			return nil, jqlErrorf("Error in the JQL Query: Expecting 'by' but got '%s'. (line 1, character %d)", p.peek().describe(), p.peek().pos)
		}
		p.next()
		for {
			t := p.next()
			if t.kind != tkWord && t.kind != tkString {
				return nil, jqlErrorf("Error in the JQL Query: Expecting a field name but got '%s'. (line 1, character %d)", t.describe(), t.pos)
			}
			k := sortKey{field: t.text}
			if p.peek().is("ASC") {
				p.next()
			} else if p.peek().is("DESC") {
				p.next()
				k.desc = true
			}
			out.order = append(out.order, k)
			if p.peek().kind != tkComma {
				break
			}
			p.next()
		}
	}
	if t := p.peek(); t.kind != tkEOF {
		if out.where != nil && len(out.order) == 0 {
			return nil, jqlErrorf("Error in the JQL Query: Expecting either 'OR' or 'AND' but got '%s'. (line 1, character %d)", t.describe(), t.pos)
		}
		return nil, jqlErrorf("Error in the JQL Query: Expecting ',' but got '%s'. (line 1, character %d)", t.describe(), t.pos)
	}
	return out, nil
}

func (p *jqlParser) parseOr() (*jqlNode, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.peek().is("OR") {
		p.next()
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = &jqlNode{op: "or", kids: []*jqlNode{left, right}}
	}
	return left, nil
}

func (p *jqlParser) parseAnd() (*jqlNode, error) {
	left, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.peek().is("AND") {
		p.next()
		right, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		left = &jqlNode{op: "and", kids: []*jqlNode{left, right}}
	}
	return left, nil
}

var reservedWords = map[string]bool{"AND": true, "OR": true, "NOT": true, "IN": true, "IS": true, "ORDER": true, "BY": true, "EMPTY": true, "NULL": true}

func (p *jqlParser) parseNot() (*jqlNode, error) {
	t := p.peek()
	switch {
	case t.is("NOT"):
		p.next()
		kid, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &jqlNode{op: "not", kids: []*jqlNode{kid}}, nil
	case t.kind == tkLParen:
		p.next()
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tkRParen {
			return nil, jqlErrorf("Error in the JQL Query: Expecting ')' but got '%s'. (line 1, character %d)", c.describe(), c.pos)
		}
		return n, nil
	case t.kind == tkWord && !reservedWords[strings.ToUpper(t.text)], t.kind == tkString:
		p.next()
		return p.parseClause(t)
	}
	return nil, jqlErrorf("Error in the JQL Query: Expecting a field name but got '%s'. (line 1, character %d)", t.describe(), t.pos)
}

func (p *jqlParser) parseClause(field token) (*jqlNode, error) {
	n := &jqlNode{op: "clause", field: field.text, fieldPos: field.pos}
	t := p.next()
	switch {
	case t.kind == tkOp:
		n.operator = t.text
	case t.is("IN"):
		n.operator = "in"
	case t.is("NOT"):
		if !p.peek().is("IN") {
			return nil, jqlErrorf("Error in the JQL Query: Expecting 'IN' but got '%s'. (line 1, character %d)", p.peek().describe(), p.peek().pos)
		}
		p.next()
		n.operator = "not in"
	case t.is("IS"):
		n.operator = "is"
		if p.peek().is("NOT") {
			p.next()
			n.operator = "is not"
		}
	default:
		return nil, jqlErrorf("Error in the JQL Query: Expecting operator but got '%s'. %s (line 1, character %d)", t.describe(), jqlOperators, t.pos)
	}
	if n.operator == "in" || n.operator == "not in" {
		if c := p.next(); c.kind != tkLParen {
			return nil, jqlErrorf("Error in the JQL Query: Expecting '(' but got '%s'. (line 1, character %d)", c.describe(), c.pos)
		}
		for {
			v, err := p.parseValue()
			if err != nil {
				return nil, err
			}
			n.values = append(n.values, v)
			c := p.next()
			if c.kind == tkRParen {
				break
			}
			if c.kind != tkComma {
				return nil, jqlErrorf("Error in the JQL Query: Expecting ')' but got '%s'. (line 1, character %d)", c.describe(), c.pos)
			}
		}
		return n, nil
	}
	v, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	if (n.operator == "is" || n.operator == "is not") && !v.empty {
		return nil, jqlErrorf("Error in the JQL Query: Expecting 'EMPTY' or 'NULL' but got '%s'. (line 1, character %d)", v.text, p.toks[p.i-1].pos)
	}
	n.values = []jqlValue{v}
	return n, nil
}

func (p *jqlParser) parseValue() (jqlValue, error) {
	t := p.next()
	switch {
	case t.kind == tkString:
		return jqlValue{text: t.text, quote: true}, nil
	case t.is("EMPTY") || t.is("NULL"):
		return jqlValue{text: t.text, empty: true}, nil
	case t.kind == tkWord && !reservedWords[strings.ToUpper(t.text)]:
		if p.peek().kind == tkLParen {
			p.next()
			if c := p.next(); c.kind != tkRParen {
				return jqlValue{}, jqlErrorf("Error in the JQL Query: Expecting ')' but got '%s'. (line 1, character %d)", c.describe(), c.pos)
			}
			return jqlValue{text: t.text + "()", fn: t.text}, nil
		}
		return jqlValue{text: t.text}, nil
	}
	return jqlValue{}, jqlErrorf("Error in the JQL Query: Expecting either a value, list or function but got '%s'. (line 1, character %d)", t.describe(), t.pos)
}

// jqlEnv is what compiling a query may look at; the caller holds s.mu.
type jqlEnv struct {
	s    *Simulator
	now  time.Time
	user *user
}

// jqlPred is a compiled clause.
type jqlPred func(*issue) bool

// compile resolves a parsed query against the site's data: unknown fields
// and values are errors, as on real Jira.
func (env jqlEnv) compile(n *jqlNode) (jqlPred, error) {
	if n == nil {
		return func(*issue) bool { return true }, nil
	}
	switch n.op {
	case "and", "or":
		a, err := env.compile(n.kids[0])
		if err != nil {
			return nil, err
		}
		b, err := env.compile(n.kids[1])
		if err != nil {
			return nil, err
		}
		if n.op == "and" {
			return func(is *issue) bool { return a(is) && b(is) }, nil
		}
		return func(is *issue) bool { return a(is) || b(is) }, nil
	case "not":
		a, err := env.compile(n.kids[0])
		if err != nil {
			return nil, err
		}
		return func(is *issue) bool { return !a(is) }, nil
	}
	return env.clause(n)
}

func errNoField(name string) error {
	return jqlErrorf("Field '%s' does not exist or you do not have permission to view it.", name)
}

func errOperator(op, field string) error {
	return jqlErrorf("The operator '%s' is not supported by the '%s' field.", strings.ToUpper(op), field)
}

func errValue(v, field string) error {
	return jqlErrorf("The value '%s' does not exist for the field '%s'.", v, field)
}

// canonicalField maps a JQL field name (any case, aliases) to the field it
// means.
func canonicalField(name string) string {
	switch strings.ToLower(name) {
	case "project":
		return "project"
	case "key", "issuekey", "issue":
		return "key"
	case "id":
		return "id"
	case "status":
		return "status"
	case "statuscategory":
		return "statusCategory"
	case "issuetype", "type":
		return "issuetype"
	case "priority":
		return "priority"
	case "resolution":
		return "resolution"
	case "labels", "label":
		return "labels"
	case "assignee":
		return "assignee"
	case "reporter":
		return "reporter"
	case "parent":
		return "parent"
	case "summary":
		return "summary"
	case "text":
		return "text"
	case "created", "createddate":
		return "created"
	case "updated", "updateddate":
		return "updated"
	}
	return ""
}

// setPred builds a predicate for =, !=, IN, NOT IN, IS, IS NOT over a
// single-valued field, given a resolver from JQL value to the field's
// canonical value and a getter ("" = empty).
func setPred(n *jqlNode, field string, resolve func(jqlValue) (string, error), get func(*issue) string) (jqlPred, error) {
	switch n.operator {
	case "is", "is not":
		want := n.operator == "is"
		return func(is *issue) bool { return (get(is) == "") == want }, nil
	case "=", "!=", "in", "not in":
	default:
		return nil, errOperator(n.operator, field)
	}
	set := map[string]bool{}
	hasEmpty := false
	for _, v := range n.values {
		if v.empty {
			hasEmpty = true
			continue
		}
		r, err := resolve(v)
		if err != nil {
			return nil, err
		}
		if r == "" {
			hasEmpty = true // e.g. resolution = Unresolved
			continue
		}
		set[r] = true
	}
	positive := n.operator == "=" || n.operator == "in"
	return func(is *issue) bool {
		g := get(is)
		if g == "" {
			// As in Jira, != and NOT IN never match an empty field.
			return positive && hasEmpty
		}
		return set[g] == positive
	}, nil
}

func (env jqlEnv) clause(n *jqlNode) (jqlPred, error) {
	field := canonicalField(n.field)
	if field == "" {
		return nil, errNoField(n.field)
	}
	s := env.s
	for _, v := range n.values {
		if v.fn != "" && !(strings.EqualFold(v.fn, "currentUser") && (field == "assignee" || field == "reporter")) &&
			!(strings.EqualFold(v.fn, "now") && (field == "created" || field == "updated")) {
			return nil, jqlErrorf("Unable to find JQL function '%s'.", v.text)
		}
	}
	switch field {
	case "project":
		return setPred(n, n.field, func(v jqlValue) (string, error) {
			if p := projectByIDOrKey(v.text, true); p != nil {
				return p.ID, nil
			}
			return "", errValue(v.text, n.field)
		}, func(is *issue) string { return is.Project.ID })
	case "key", "id":
		return env.keyClause(n, field)
	case "status":
		return setPred(n, n.field, func(v jqlValue) (string, error) {
			for _, st := range allStatuses {
				if st.ID == v.text || strings.EqualFold(st.Name, v.text) {
					return st.ID, nil
				}
			}
			return "", errValue(v.text, n.field)
		}, func(is *issue) string { return is.Status.ID })
	case "statusCategory":
		return setPred(n, n.field, func(v jqlValue) (string, error) {
			for _, c := range allCategories {
				if strconv.Itoa(c.ID) == v.text || strings.EqualFold(c.Key, v.text) || strings.EqualFold(c.Name, v.text) {
					return c.Key, nil
				}
			}
			return "", errValue(v.text, n.field)
		}, func(is *issue) string { return is.Status.Cat.Key })
	case "issuetype":
		return setPred(n, n.field, func(v jqlValue) (string, error) {
			if t := typeByIDOrName(v.text, ""); t != nil {
				return t.ID, nil
			}
			if t := typeByIDOrName("", v.text); t != nil {
				return t.ID, nil
			}
			return "", errValue(v.text, n.field)
		}, func(is *issue) string { return is.Type.ID })
	case "priority":
		return setPred(n, n.field, func(v jqlValue) (string, error) {
			if p := priorityByIDOrName(v.text, ""); p != nil {
				return p.ID, nil
			}
			if p := priorityByIDOrName("", v.text); p != nil {
				return p.ID, nil
			}
			return "", errValue(v.text, n.field)
		}, func(is *issue) string { return is.Priority.ID })
	case "resolution":
		return setPred(n, n.field, func(v jqlValue) (string, error) {
			if strings.EqualFold(v.text, "Unresolved") {
				return "", nil
			}
			if r := resolutionByIDOrName(v.text, ""); r != nil {
				return r.ID, nil
			}
			if r := resolutionByIDOrName("", v.text); r != nil {
				return r.ID, nil
			}
			return "", errValue(v.text, n.field)
		}, func(is *issue) string {
			if is.Resolution == nil {
				return ""
			}
			return is.Resolution.ID
		})
	case "assignee", "reporter":
		return setPred(n, n.field, func(v jqlValue) (string, error) {
			if v.fn != "" {
				return env.user.Key, nil
			}
			for _, u := range s.users {
				if v.text == u.AccountID || strings.EqualFold(v.text, u.Email) || (s.dc && (v.text == u.Name || v.text == u.Key)) {
					return u.Key, nil
				}
			}
			return "", errValue(v.text, n.field)
		}, func(is *issue) string {
			u := is.Assignee
			if field == "reporter" {
				u = is.Reporter
			}
			if u == nil {
				return ""
			}
			return u.Key
		})
	case "parent":
		return setPred(n, n.field, func(v jqlValue) (string, error) {
			if p := s.lookupIssue(v.text); p != nil {
				return strconv.FormatInt(p.ID, 10), nil
			}
			return "", jqlErrorf("An issue with key '%s' does not exist for field '%s'.", v.text, n.field)
		}, func(is *issue) string {
			if is.Parent == nil {
				return ""
			}
			return strconv.FormatInt(is.Parent.ID, 10)
		})
	case "labels":
		return labelsClause(n)
	case "summary", "text":
		return textClause(n, field)
	case "created", "updated":
		return env.dateClause(n, field)
	}
	return nil, errNoField(n.field)
}

var issueKeyRe = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*)-([0-9]+)$`)

// keyClause handles key/issuekey and id, including ordering comparisons
// within the project.
func (env jqlEnv) keyClause(n *jqlNode, field string) (jqlPred, error) {
	resolve := func(v jqlValue) (int64, error) {
		if field == "id" {
			id, err := strconv.ParseInt(v.text, 10, 64)
			if err != nil {
				return 0, jqlErrorf("The value '%s' for field '%s' is invalid: issue ids are numbers.", v.text, n.field)
			}
			return id, nil
		}
		if id, err := strconv.ParseInt(v.text, 10, 64); err == nil {
			return id, nil
		}
		m := issueKeyRe.FindStringSubmatch(v.text)
		if m == nil || projectByIDOrKey(m[1], false) == nil {
			return 0, jqlErrorf("The issue key '%s' for field '%s' is invalid.", v.text, n.field)
		}
		is := env.s.byKey[strings.ToUpper(v.text)]
		if is == nil {
			return 0, jqlErrorf("An issue with key '%s' does not exist for field '%s'.", v.text, n.field)
		}
		return is.ID, nil
	}
	switch n.operator {
	case "=", "!=", "in", "not in":
		set := map[int64]bool{}
		for _, v := range n.values {
			if v.empty {
				continue
			}
			id, err := resolve(v)
			if err != nil {
				return nil, err
			}
			set[id] = true
		}
		positive := n.operator == "=" || n.operator == "in"
		return func(is *issue) bool { return set[is.ID] == positive }, nil
	case "<", "<=", ">", ">=":
		id, err := resolve(n.values[0])
		if err != nil {
			return nil, err
		}
		cmp := compareOp(n.operator)
		return func(is *issue) bool { return cmp(is.ID - id) }, nil
	case "is", "is not":
		want := n.operator == "is not"
		return func(*issue) bool { return want }, nil
	}
	return nil, errOperator(n.operator, n.field)
}

func compareOp(op string) func(int64) bool {
	switch op {
	case "<":
		return func(d int64) bool { return d < 0 }
	case "<=":
		return func(d int64) bool { return d <= 0 }
	case ">":
		return func(d int64) bool { return d > 0 }
	case ">=":
		return func(d int64) bool { return d >= 0 }
	case "=":
		return func(d int64) bool { return d == 0 }
	}
	return func(d int64) bool { return d != 0 }
}

func labelsClause(n *jqlNode) (jqlPred, error) {
	switch n.operator {
	case "is", "is not":
		want := n.operator == "is"
		return func(is *issue) bool { return (len(is.Labels) == 0) == want }, nil
	case "=", "!=", "in", "not in":
	default:
		return nil, errOperator(n.operator, n.field)
	}
	var want []string
	hasEmpty := false
	for _, v := range n.values {
		if v.empty {
			hasEmpty = true
			continue
		}
		want = append(want, v.text)
	}
	positive := n.operator == "=" || n.operator == "in"
	return func(is *issue) bool {
		if len(is.Labels) == 0 {
			return positive && hasEmpty
		}
		hit := false
		for _, w := range want {
			if slices.Contains(is.Labels, w) {
				hit = true
				break
			}
		}
		return hit == positive
	}, nil
}

// textClause is Jira's "contains" search, simplified to a case-insensitive
// match of every word of the query.
func textClause(n *jqlNode, field string) (jqlPred, error) {
	if n.operator != "~" && n.operator != "!~" {
		return nil, errOperator(n.operator, n.field)
	}
	words := strings.Fields(strings.ToLower(strings.Trim(n.values[0].text, "*")))
	positive := n.operator == "~"
	return func(is *issue) bool {
		hay := strings.ToLower(is.Summary)
		if field == "text" {
			hay += "\n" + strings.ToLower(is.Description.Wiki()) + "\n" + strings.ToLower(is.Environment.Wiki())
			for _, c := range is.Comments {
				hay += "\n" + strings.ToLower(c.Body.Wiki())
			}
		}
		for _, w := range words {
			if !strings.Contains(hay, w) {
				return !positive
			}
		}
		return positive
	}, nil
}

var periodRe = regexp.MustCompile(`^([-+]?)\s*((?:\d+\s*[wdhm]\s*)+)$`)
var periodPartRe = regexp.MustCompile(`(\d+)\s*([wdhm])`)

// parseJQLDate reads Jira's date formats, in the site's time zone (UTC).
func parseJQLDate(v jqlValue, now time.Time) (time.Time, bool) {
	if v.fn != "" {
		return now, true
	}
	for _, layout := range []string{"2006/01/02 15:04", "2006-01-02 15:04", "2006/01/02", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v.text, time.UTC); err == nil {
			return t, true
		}
	}
	m := periodRe.FindStringSubmatch(strings.TrimSpace(v.text))
	if m == nil {
		return time.Time{}, false
	}
	var d time.Duration
	for _, part := range periodPartRe.FindAllStringSubmatch(m[2], -1) {
		n, _ := strconv.Atoi(part[1])
		unit := map[string]time.Duration{"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute}[part[2]]
		d += time.Duration(n) * unit
	}
	if m[1] == "-" {
		d = -d
	}
	return now.Add(d), true
}

func (env jqlEnv) dateClause(n *jqlNode, field string) (jqlPred, error) {
	get := func(is *issue) time.Time {
		if field == "created" {
			return is.Created
		}
		return is.Updated
	}
	switch n.operator {
	case "is", "is not":
		want := n.operator == "is not"
		return func(*issue) bool { return want }, nil
	case "=", "!=", "<", "<=", ">", ">=":
		t, ok := parseJQLDate(n.values[0], env.now)
		if !ok {
			return nil, jqlErrorf("Date value '%s' for field '%s' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.", n.values[0].text, n.field)
		}
		cmp := compareOp(n.operator)
		return func(is *issue) bool { return cmp(int64(get(is).Sub(t))) }, nil
	case "in", "not in":
		var ts []time.Time
		for _, v := range n.values {
			t, ok := parseJQLDate(v, env.now)
			if !ok {
				return nil, jqlErrorf("Date value '%s' for field '%s' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.", v.text, n.field)
			}
			ts = append(ts, t)
		}
		positive := n.operator == "in"
		return func(is *issue) bool {
			for _, t := range ts {
				if get(is).Equal(t) {
					return positive
				}
			}
			return !positive
		}, nil
	}
	return nil, errOperator(n.operator, n.field)
}

// sortFunc compiles ORDER BY into a comparison; without ORDER BY issues
// come newest first (created DESC), then by id.
func sortFunc(order []sortKey) (func(a, b *issue) int, error) {
	type cmpFn func(a, b *issue) int
	var fns []cmpFn
	for _, k := range order {
		var f cmpFn
		switch strings.ToLower(k.field) {
		case "key", "issuekey", "id":
			f = func(a, b *issue) int { return cmpInt(a.ID, b.ID) }
		case "created", "createddate":
			f = func(a, b *issue) int { return a.Created.Compare(b.Created) }
		case "updated", "updateddate":
			f = func(a, b *issue) int { return a.Updated.Compare(b.Updated) }
		case "priority":
			// Ascending runs from Lowest up to Highest, as Jira ranks it.
			f = func(a, b *issue) int { return strings.Compare(b.Priority.ID, a.Priority.ID) }
		case "status":
			f = func(a, b *issue) int { return strings.Compare(a.Status.Name, b.Status.Name) }
		case "summary":
			f = func(a, b *issue) int { return strings.Compare(a.Summary, b.Summary) }
		case "issuetype", "type":
			f = func(a, b *issue) int { return strings.Compare(a.Type.Name, b.Type.Name) }
		case "project":
			f = func(a, b *issue) int { return strings.Compare(a.Project.Key, b.Project.Key) }
		default:
			if canonicalField(k.field) != "" {
				return nil, jqlErrorf("Field '%s' does not support sorting.", k.field)
			}
			return nil, errNoField(k.field)
		}
		if k.desc {
			inner := f
			f = func(a, b *issue) int { return -inner(a, b) }
		}
		fns = append(fns, f)
	}
	if len(fns) == 0 {
		fns = append(fns, func(a, b *issue) int { return b.Created.Compare(a.Created) })
	}
	return func(a, b *issue) int {
		for _, f := range fns {
			if c := f(a, b); c != 0 {
				return c
			}
		}
		return cmpInt(b.ID, a.ID)
	}, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// runJQL parses, compiles and runs a query over the live issues; the caller
// holds s.mu.
func (s *Simulator) runJQL(q string, u *user, now time.Time) (*jqlQuery, []*issue, error) {
	parsed, err := parseJQL(q)
	if err != nil {
		return nil, nil, err
	}
	pred, err := jqlEnv{s: s, now: now, user: u}.compile(parsed.where)
	if err != nil {
		return nil, nil, err
	}
	less, err := sortFunc(parsed.order)
	if err != nil {
		return nil, nil, err
	}
	var out []*issue
	for _, is := range s.order {
		if !is.deleted && pred(is) {
			out = append(out, is)
		}
	}
	slices.SortStableFunc(out, less)
	return parsed, out, nil
}
