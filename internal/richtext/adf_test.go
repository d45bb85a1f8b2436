package richtext

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseADFRejects(t *testing.T) {
	deep := `{"type":"paragraph","content":[{"type":"text","text":"x"}]}`
	for i := 0; i < 40; i++ {
		deep = `{"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph"},` + deep + `]}]}`
	}
	doc := func(content string) string { return `{"type":"doc","version":1,"content":[` + content + `]}` }
	para := func(inline string) string { return doc(`{"type":"paragraph","content":[` + inline + `]}`) }
	tests := []struct {
		name, raw, want string
	}{
		{"plain JSON string", `"just some text"`, "a JSON object, got a JSON string"},
		{"array", `[]`, "got a JSON array"},
		{"null", `null`, "got a JSON null"},
		{"number", `1`, "got a JSON number"},
		{"empty input", `  `, "empty input"},
		{"broken JSON", `{"type":"doc",`, "unexpected end of JSON input"},
		{"trailing garbage", doc(``) + `x`, "invalid character"},
		{"root is not a doc", `{"type":"paragraph","version":1,"content":[]}`, `root node must be of type "doc", got "paragraph"`},
		{"no version", `{"type":"doc","content":[]}`, "no version"},
		{"version 2", `{"type":"doc","version":2,"content":[]}`, "unsupported ADF version 2"},
		{"version as a string", `{"type":"doc","version":"1","content":[]}`, "version"},
		{"no content", `{"type":"doc","version":1}`, "no content array"},
		{"unknown node", doc(`{"type":"paragraph"},{"type":"marquee","content":[]}`), `content[1]: unknown node type "marquee"`},
		{"node without type", doc(`{"content":[]}`), "node has no type"},
		{"null node", doc(`null`), "null node"},
		{"text directly in doc", doc(`{"type":"text","text":"x"}`), "doc may not hold a text node"},
		{"doc inside doc", doc(`{"type":"doc","version":1,"content":[]}`), "doc may not hold a doc node"},
		{"paragraph in paragraph", para(`{"type":"paragraph"}`), "paragraph is a block node; paragraph may only hold inline nodes"},
		{"empty text", para(`{"type":"text","text":""}`), "text nodes need non-empty text"},
		{"text on a paragraph", doc(`{"type":"paragraph","text":"x"}`), "only text nodes carry text"},
		{"unknown mark", para(`{"type":"text","text":"x","marks":[{"type":"blink"}]}`), `unknown mark type "blink"`},
		{"code with strong", para(`{"type":"text","text":"x","marks":[{"type":"code"},{"type":"strong"}]}`), "a code mark combines only with link, not strong"},
		{"mark twice", para(`{"type":"text","text":"x","marks":[{"type":"em"},{"type":"em"}]}`), "mark em appears twice"},
		{"link without href", para(`{"type":"text","text":"x","marks":[{"type":"link","attrs":{}}]}`), "needs attrs.href"},
		{"script link", para(`{"type":"text","text":"x","marks":[{"type":"link","attrs":{"href":" JavaScript:alert(1)"}}]}`), "refused URL scheme"},
		{"bad text colour", para(`{"type":"text","text":"x","marks":[{"type":"textColor","attrs":{"color":"red"}}]}`), "textColor needs attrs.color"},
		{"strong on a paragraph", doc(`{"type":"paragraph","marks":[{"type":"strong"}]}`), "mark strong is not allowed on paragraph nodes"},
		{"heading without level", doc(`{"type":"heading","content":[]}`), "heading needs attrs.level"},
		{"heading level 7", doc(`{"type":"heading","attrs":{"level":7}}`), "heading needs attrs.level"},
		{"heading level 1.5", doc(`{"type":"heading","attrs":{"level":1.5}}`), "heading needs attrs.level"},
		{"negative order", doc(`{"type":"orderedList","attrs":{"order":-1},"content":[{"type":"listItem","content":[{"type":"paragraph"}]}]}`), "order must be a number >= 0"},
		{"paragraph in a list", doc(`{"type":"bulletList","content":[{"type":"paragraph"}]}`), "bulletList may not hold a paragraph node"},
		{"empty list", doc(`{"type":"bulletList","content":[]}`), "bulletList needs at least 1 child node(s)"},
		{"list item starting with a list", doc(`{"type":"bulletList","content":[{"type":"listItem","content":[{"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph"}]}]}]}]}`), "listItem may not start with a bulletList node"},
		{"heading in a list item", doc(`{"type":"bulletList","content":[{"type":"listItem","content":[{"type":"heading","attrs":{"level":1}}]}]}`), "listItem may not hold a heading node"},
		{"marks in a code block", doc(`{"type":"codeBlock","content":[{"type":"text","text":"x","marks":[{"type":"strong"}]}]}`), "text in a codeBlock carries no marks"},
		{"break in a code block", doc(`{"type":"codeBlock","content":[{"type":"hardBreak"}]}`), "codeBlock may only hold text nodes"},
		{"content in a rule", doc(`{"type":"rule","content":[{"type":"text","text":"x"}]}`), "rule nodes have no content"},
		{"row outside a table", doc(`{"type":"tableRow","content":[]}`), "doc may not hold a tableRow node"},
		{"empty table cell", doc(`{"type":"table","content":[{"type":"tableRow","content":[{"type":"tableCell","content":[]}]}]}`), "tableCell needs at least 1 child node(s)"},
		{"mention without id", para(`{"type":"mention","attrs":{"text":"@x"}}`), "needs attrs.id"},
		{"panel without type", doc(`{"type":"panel","content":[{"type":"paragraph"}]}`), "panel needs attrs.panelType"},
		{"media without id", doc(`{"type":"mediaSingle","content":[{"type":"media","attrs":{"type":"file","collection":""}}]}`), "needs attrs.id"},
		{"too deep", doc(deep), "nested more than 64 levels deep"},
		{"too large", doc(`{"type":"paragraph","content":[{"type":"text","text":"` + strings.Repeat("x", MaxADFBytes) + `"}]}`), "more than the 1048576 allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseADF(json.RawMessage(tc.raw))
			if err == nil {
				t.Fatalf("ParseADF accepted %.200s", tc.raw)
			}
			if got != nil {
				t.Errorf("ParseADF returned a document with its error: %+v", got)
			}
			if !errors.Is(err, ErrInvalidADF) {
				t.Errorf("error %q does not wrap ErrInvalidADF", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error: got %q, want it to mention %q", err, tc.want)
			}
		})
	}
}

// A document shaped like what Jira Cloud's editor stores, with attributes
// and node types vulnsync does not write, is accepted and rendered.
func TestJiraCloudADF(t *testing.T) {
	raw := readTestdata(t, "jira-cloud-adf.json")
	doc, err := ParseADF(raw)
	if err != nil {
		t.Fatalf("ParseADF(testdata/jira-cloud-adf.json): %v", err)
	}
	wantMD := strings.TrimSuffix(string(readTestdata(t, "jira-cloud-adf.md")), "\n")
	if got := FromADF(doc); got != wantMD {
		t.Errorf("FromADF (-want +got):\n%s", cmp.Diff(wantMD, got))
	}
	wantWiki := strings.TrimSuffix(string(readTestdata(t, "jira-cloud-adf.wiki")), "\n")
	if got := ADFToWiki(doc); got != wantWiki {
		t.Errorf("ADFToWiki (-want +got):\n%s", cmp.Diff(wantWiki, got))
	}
	// What vulnsync stores must not change when it is written back.
	if again := FromADF(ToADF(wantMD)); again != wantMD {
		t.Errorf("FromADF(ToADF(md)) changed the Markdown (-want +got):\n%s", cmp.Diff(wantMD, again))
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatalf("read testdata: %v", err)
	}
	return b
}

func TestParseADFAcceptsAndKeepsTheTree(t *testing.T) {
	raw := `{"type":"doc","version":1,"content":[
		{"type":"paragraph","attrs":{"localId":"x"},"content":[
			{"type":"text","text":"see ","unknownKey":true},
			{"type":"text","text":"this","marks":[{"type":"link","attrs":{"href":"https://x.example","title":"t"}},{"type":"strong"}]}]},
		{"type":"orderedList","attrs":{"order":3},"content":[{"type":"listItem","content":[
			{"type":"codeBlock","attrs":{"language":null}}]}]}]}`
	doc, err := ParseADF(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("ParseADF: %v", err)
	}
	want := &Node{Type: "doc", Version: 1, Content: []*Node{
		{Type: "paragraph", Attrs: map[string]any{"localId": "x"}, Content: []*Node{
			{Type: "text", Text: "see "},
			{Type: "text", Text: "this", Marks: []Mark{{Type: "link", Attrs: map[string]any{"href": "https://x.example", "title": "t"}}, {Type: "strong"}}},
		}},
		{Type: "orderedList", Attrs: map[string]any{"order": 3.0}, Content: []*Node{{Type: "listItem", Content: []*Node{
			{Type: "codeBlock", Attrs: map[string]any{"language": nil}},
		}}}},
	}}
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("ParseADF tree (-want +got):\n%s", diff)
	}
}

func TestToADFTree(t *testing.T) {
	got := ToADF("# Hi\n\nA **b** [c](https://x.example)  \nd\n\n1. e\n   - f\n\n| g |\n| --- |\n| `h` |")
	text := func(s string, marks ...Mark) *Node { return &Node{Type: "text", Text: s, Marks: marks} }
	para := func(c ...*Node) *Node { return &Node{Type: "paragraph", Content: c} }
	item := func(c ...*Node) *Node { return &Node{Type: "listItem", Content: c} }
	want := &Node{Type: "doc", Version: 1, Content: []*Node{
		{Type: "heading", Attrs: map[string]any{"level": 1}, Content: []*Node{text("Hi")}},
		para(text("A "), text("b", Mark{Type: "strong"}), text(" "),
			text("c", Mark{Type: "link", Attrs: map[string]any{"href": "https://x.example"}}),
			&Node{Type: "hardBreak"}, text("d")),
		{Type: "orderedList", Attrs: map[string]any{"order": 1}, Content: []*Node{
			item(para(text("e")), &Node{Type: "bulletList", Content: []*Node{item(para(text("f")))}}),
		}},
		{Type: "table", Content: []*Node{
			{Type: "tableRow", Content: []*Node{{Type: "tableHeader", Content: []*Node{para(text("g"))}}}},
			{Type: "tableRow", Content: []*Node{{Type: "tableCell", Content: []*Node{para(text("h", Mark{Type: "code"}))}}}},
		}},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ToADF (-want +got):\n%s", diff)
	}
}

// ADF's nesting rules, which Markdown does not have, are applied.
func TestToADFFollowsADFNesting(t *testing.T) {
	for _, md := range []string{
		"- # heading in a list",
		"- > quote in a list\n  > > nested",
		"> | table | in a quote |\n> | --- | --- |\n> | a | b |",
		"- ---",
		"-\n  - list first in an item",
		strings.Repeat("  ", 0) + nestedList(30),
	} {
		doc := ToADF(md)
		if err := doc.Validate(); err != nil {
			t.Errorf("ToADF(%q) is not valid ADF: %v", md, err)
		}
	}
}

func nestedList(depth int) string {
	var b strings.Builder
	for i := 0; i < depth; i++ {
		b.WriteString(strings.Repeat("  ", i) + "- level\n")
	}
	return b.String()
}

// Lists nested deeper than ADF trees may go keep all their text.
func TestDeepListsAreFlattened(t *testing.T) {
	doc := ToADF(nestedList(30))
	if err := doc.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if got := strings.Count(FromADF(doc), "level"); got != 30 {
		t.Errorf("items kept: got %d, want 30", got)
	}
	if got := maxDepth(doc); got > MaxDepth {
		t.Errorf("depth: got %d, want at most %d", got, MaxDepth)
	}
}

func maxDepth(n *Node) int {
	d := 0
	for _, c := range n.Content {
		d = max(d, maxDepth(c))
	}
	return d + 1
}

func TestEmptyDocumentMarshalsContent(t *testing.T) {
	got, err := json.Marshal(ToADF(""))
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	if want := `{"type":"doc","version":1,"content":[]}`; string(got) != want {
		t.Errorf("empty document: got %s, want %s", got, want)
	}
	if _, err := ParseADF(got); err != nil {
		t.Errorf("ParseADF(empty document): %v", err)
	}
	// Other nodes keep omitting what is empty.
	got, err = json.Marshal(&Node{Type: "rule"})
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	if want := `{"type":"rule"}`; string(got) != want {
		t.Errorf("rule: got %s, want %s", got, want)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		doc  *Node
		want string // "" for valid
	}{
		{"nil", nil, "no document"},
		{"not a doc", &Node{Type: "paragraph"}, `must be of type "doc"`},
		{"version 0", &Node{Type: "doc"}, "unsupported ADF version 0"},
		{"empty doc", &Node{Type: "doc", Version: 1}, ""},
		{"int level from Go code", &Node{Type: "doc", Version: 1, Content: []*Node{{Type: "heading", Attrs: map[string]any{"level": 2}}}}, ""},
		{"nil child", &Node{Type: "doc", Version: 1, Content: []*Node{nil}}, "content[0]: null node"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.doc.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: got %v, want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate: got %v, want an error mentioning %q", err, tc.want)
			case err != nil && !errors.Is(err, ErrInvalidADF):
				t.Errorf("Validate: %v does not wrap ErrInvalidADF", err)
			}
		})
	}
}

func TestFromADFNil(t *testing.T) {
	if got := FromADF(nil); got != "" {
		t.Errorf("FromADF(nil): got %q, want empty", got)
	}
	if got := ADFToWiki(nil); got != "" {
		t.Errorf("ADFToWiki(nil): got %q, want empty", got)
	}
}

// A cyclic tree built in code must not hang the renderers.
func TestRenderersStopOnCycles(t *testing.T) {
	quote := &Node{Type: "blockquote"}
	quote.Content = []*Node{{Type: "paragraph", Content: []*Node{{Type: "text", Text: "x"}}}, quote}
	doc := &Node{Type: "doc", Version: 1, Content: []*Node{quote}}
	if md := FromADF(doc); !strings.Contains(md, "x") {
		t.Errorf("FromADF(cycle): got %q, want the text", md)
	}
	if w := ADFToWiki(doc); !strings.Contains(w, "x") {
		t.Errorf("ADFToWiki(cycle): got %q, want the text", w)
	}
	if err := doc.Validate(); err == nil {
		t.Error("Validate accepted a cyclic tree")
	}
}

// Runs whose formatting overlaps (italic "a", bold italic "b", bold "c")
// keep it exactly in wiki markup, which can reopen a closed effect; in
// Markdown, where "*a**b*****c**" does not read back, the italics that
// cannot be written are dropped, and what is written is stable.
func TestOverlappingFormatting(t *testing.T) {
	text := func(s string, marks ...string) *Node {
		n := &Node{Type: "text", Text: s}
		for _, m := range marks {
			n.Marks = append(n.Marks, Mark{Type: m})
		}
		return n
	}
	para := &Node{Type: "paragraph", Content: []*Node{text("a", "em"), text("b", "strong", "em"), text("c", "strong")}}
	doc := &Node{Type: "doc", Version: 1, Content: []*Node{para}}

	wiki := ADFToWiki(doc)
	if want := "_a{*}b*_*c*"; wiki != want {
		t.Errorf("ADFToWiki: got %q, want %q", wiki, want)
	}
	if diff := cmp.Diff(doc, WikiToADF(wiki)); diff != "" {
		t.Errorf("WikiToADF(ADFToWiki(doc)) (-want +got):\n%s", diff)
	}

	md := FromADF(doc)
	if want := "a**bc**"; md != want {
		t.Errorf("FromADF: got %q, want %q", md, want)
	}
	if again := FromADF(ToADF(md)); again != md {
		t.Errorf("FromADF(ToADF(%q)): got %q", md, again)
	}
}
