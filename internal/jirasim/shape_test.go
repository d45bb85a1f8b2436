package jirasim

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"testing"
)

// This file compares the shape of what the simulator sends with what real
// Jira sent: keys and value types, recursively. Values are not compared.

// shapeDiff is one difference between a recorded payload and ours.
type shapeDiff struct {
	kind string // "missing" (recorded has it, we do not), "extra", "type"
	path string // e.g. .issue.fields.status.statusCategory.id
	note string
}

func (d shapeDiff) String() string { return d.kind + " " + d.path + " " + d.note }

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return fmt.Sprintf("%T", v)
}

// compareShape walks both values. Rules that hold everywhere:
//   - null on either side matches any type: Jira writes null for a field
//     with no value, so a recorded null and our value (or the reverse) say
//     nothing about the shape;
//   - an empty array matches any array; otherwise each of our elements is
//     compared with the first recorded element.
func compareShape(rec, got any, p string, out *[]shapeDiff) {
	if rec == nil || got == nil {
		return
	}
	rt, gt := jsonType(rec), jsonType(got)
	if rt != gt {
		*out = append(*out, shapeDiff{"type", p, "recorded " + rt + ", got " + gt})
		return
	}
	switch r := rec.(type) {
	case map[string]any:
		g := got.(map[string]any)
		for k, rv := range r {
			gv, ok := g[k]
			if !ok {
				*out = append(*out, shapeDiff{"missing", p + "." + k, ""})
				continue
			}
			compareShape(rv, gv, p+"."+k, out)
		}
		for k := range g {
			if _, ok := r[k]; !ok {
				*out = append(*out, shapeDiff{"extra", p + "." + k, ""})
			}
		}
	case []any:
		g := got.([]any)
		if len(r) == 0 {
			return
		}
		for _, gv := range g {
			compareShape(r[0], gv, p+"[]", out)
		}
	}
}

// allowed is one justified difference. pattern matches a path segment by
// segment ("*" and shell globs within a segment; "**" any number of
// segments).
type allowed struct {
	kind    string
	pattern string
	reason  string
}

func matchPath(pattern, p string) bool {
	ps := strings.Split(strings.TrimPrefix(pattern, "."), ".")
	ss := strings.Split(strings.TrimPrefix(p, "."), ".")
	var rec func(i, j int) bool
	rec = func(i, j int) bool {
		if i == len(ps) {
			return j == len(ss)
		}
		if ps[i] == "**" {
			for k := j; k <= len(ss); k++ {
				if rec(i+1, k) {
					return true
				}
			}
			return false
		}
		if j == len(ss) {
			return false
		}
		// "[]" marks array elements in paths; in patterns it is literal,
		// while "[0-4]" stays a character class.
		ok, err := path.Match(strings.ReplaceAll(ps[i], "[]", `\[\]`), ss[j])
		return err == nil && ok && rec(i+1, j+1)
	}
	return rec(0, 0)
}

// unjustified returns the differences no allow-list entry covers, and
// reports entries that matched nothing (so the list cannot rot).
func unjustified(diffs []shapeDiff, lists ...[]allowed) ([]string, map[string]bool) {
	used := map[string]bool{}
	var out []string
	for _, d := range diffs {
		ok := false
		for _, l := range lists {
			for _, a := range l {
				if a.kind == d.kind && matchPath(a.pattern, d.path) {
					ok = true
					used[a.kind+" "+a.pattern] = true
				}
			}
		}
		if !ok {
			out = append(out, d.String())
		}
	}
	sort.Strings(out)
	return out, used
}

func TestMatchPath(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{".issue.fields.customfield_*", ".issue.fields.customfield_10030", true},
		{".issue.fields.customfield_*", ".issue.fields.customfield_10030.x", false},
		{".**.accountId", ".issue.fields.assignee.accountId", true},
		{".**.accountId", ".accountId", true},
		{".user.name", ".user.key", false},
		{".issue.fields.worklog.**", ".issue.fields.worklog.worklogs[].author", true},
		{".issue.fields.comment.comments[].*.accountId", ".issue.fields.comment.comments[].author.accountId", true},
		{".issue.fields.customfield_1005[0-4]", ".issue.fields.customfield_10053", true},
		{".issue.fields.customfield_1005[0-4]", ".issue.fields.customfield_10055", false},
	}
	for _, c := range cases {
		if got := matchPath(c.pattern, c.path); got != c.want {
			t.Errorf("matchPath(%q, %q): got %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
	var diffs []shapeDiff
	compareShape(map[string]any{"a": 1.0, "b": "x", "c": []any{map[string]any{"d": true}}, "n": nil},
		map[string]any{"a": "1", "c": []any{map[string]any{"d": true, "e": 1.0}}, "n": 3.0, "z": nil}, "", &diffs)
	got := make([]string, 0, len(diffs))
	for _, d := range diffs {
		got = append(got, d.kind+" "+d.path)
	}
	sort.Strings(got)
	want := []string{"extra .c[].e", "extra .z", "missing .b", "type .a"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("compareShape: got %v, want %v", got, want)
	}
}
