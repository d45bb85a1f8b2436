package richtext

import (
	"strings"
	"testing"
)

// roundTrip is one construct: Markdown as a user may write it, the
// canonical Markdown it must come back as through ADF and through wiki
// markup, and the wiki markup vulnsync writes for it.
type roundTrip struct {
	name string
	md   string
	want string // canonical Markdown
	wiki string // ToWiki(md)
	// viaWiki is the canonical Markdown after the wiki round trip when wiki
	// markup cannot carry the construct (empty: same as want).
	viaWiki string
}

var roundTrips = []roundTrip{
	{name: "paragraph", md: "Hello world", want: "Hello world", wiki: "Hello world"},
	{name: "two paragraphs", md: "first\n\n\nsecond", want: "first\n\nsecond", wiki: "first\n\nsecond"},
	{name: "soft break is a space", md: "one\ntwo", want: "one two", wiki: "one two"},
	{name: "heading 1", md: "# Title", want: "# Title", wiki: "h1. Title"},
	{name: "heading 2", md: "## Title", want: "## Title", wiki: "h2. Title"},
	{name: "heading 3", md: "### Title", want: "### Title", wiki: "h3. Title"},
	{name: "heading 4", md: "#### Title", want: "#### Title", wiki: "h4. Title"},
	{name: "heading 5", md: "##### Title", want: "##### Title", wiki: "h5. Title"},
	{name: "heading 6", md: "###### Title", want: "###### Title", wiki: "h6. Title"},
	{name: "setext heading", md: "Title\n=====", want: "# Title", wiki: "h1. Title"},
	{name: "heading with closing hashes", md: "## Title ##", want: "## Title", wiki: "h2. Title"},
	{name: "heading ending in a hash", md: "# Issue \\#", want: "# Issue \\#", wiki: "h1. Issue #"},
	{name: "bold", md: "a **bold** b", want: "a **bold** b", wiki: "a *bold* b"},
	{name: "bold underscores", md: "__bold__", want: "**bold**", wiki: "*bold*"},
	{name: "italic", md: "an *italic* word", want: "an *italic* word", wiki: "an _italic_ word"},
	{name: "italic underscores", md: "_italic_", want: "*italic*", wiki: "_italic_"},
	{name: "bold italic", md: "***both***", want: "***both***", wiki: "*_both_*"},
	{name: "italic inside bold", md: "**bold *em* bold**", want: "**bold *em* bold**", wiki: "*bold _em_ bold*"},
	{name: "bold then italic", md: "**a***b*", want: "**a***b*", wiki: "*a*_b_"},
	{name: "bold inside a word", md: "un**believ**able", want: "un**believ**able", wiki: "un{*}believ{*}able"},
	{name: "strikethrough", md: "~~gone~~ text", want: "~~gone~~ text", wiki: "-gone- text"},
	{name: "inline code", md: "run `go test ./...` now", want: "run `go test ./...` now", wiki: "run {{go test ./...}} now"},
	{name: "inline code with backtick", md: "`` a`b ``", want: "``a`b``", wiki: "{{a`b}}"},
	{name: "inline code keeps markup literal", md: "`*x* {y}`", want: "`*x* {y}`", wiki: "{{\\*x\\* \\{y\\}}}"},
	{name: "bold code loses bold (ADF allows only link beside code)", md: "**`x`**", want: "`x`", wiki: "{{x}}"},
	{
		name: "fenced code with language",
		md:   "```go\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n```",
		want: "```go\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n```",
		wiki: "{code:go}\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n{code}",
	},
	{name: "fenced code without language", md: "```\n*not bold*\n```", want: "```\n*not bold*\n```", wiki: "{noformat}\n*not bold*\n{noformat}"},
	{name: "indented code", md: "    x := 1\n    y := 2", want: "```\nx := 1\ny := 2\n```", wiki: "{noformat}\nx := 1\ny := 2\n{noformat}"},
	{name: "tilde fence", md: "~~~sh\necho hi\n~~~", want: "```sh\necho hi\n```", wiki: "{code:sh}\necho hi\n{code}"},
	{name: "code containing a fence", md: "````md\n```\ninner\n```\n````", want: "````md\n```\ninner\n```\n````", wiki: "{code:md}\n```\ninner\n```\n{code}"},
	{name: "link", md: "see [the advisory](https://example.com/a_b?x=1&y=2)", want: "see [the advisory](https://example.com/a_b?x=1&y=2)", wiki: "see [the advisory|https://example.com/a_b?x=1&y=2]"},
	{name: "link with formatting", md: "[a **b** c](https://x.example)", want: "[a **b** c](https://x.example)", wiki: "[a *b* c|https://x.example]"},
	{name: "autolink", md: "<https://example.com/x>", want: "<https://example.com/x>", wiki: "[https://example.com/x]"},
	{name: "bare URL", md: "see https://example.com/x_y.", want: "see <https://example.com/x_y>.", wiki: "see [https://example.com/x_y]."},
	{name: "www link", md: "www.example.com", want: "[www.example.com](http://www.example.com)", wiki: "[www.example.com|http://www.example.com]"},
	{name: "relative link", md: "[docs](/docs/a)", want: "[docs](/docs/a)", wiki: "[docs|/docs/a]"},
	{name: "image becomes a link", md: "![screenshot](https://x.example/s.png)", want: "[screenshot](https://x.example/s.png)", wiki: "[screenshot|https://x.example/s.png]"},
	{name: "script link dropped", md: "[click](javascript:alert(1))", want: "click", wiki: "click"},
	{name: "bullet list", md: "- one\n- two", want: "- one\n- two", wiki: "* one\n* two"},
	{name: "star bullets", md: "* one\n* two", want: "- one\n- two", wiki: "* one\n* two"},
	{name: "numbered list", md: "1. one\n2. two\n3. three", want: "1. one\n2. two\n3. three", wiki: "# one\n# two\n# three"},
	{name: "numbered list with parens", md: "1) one\n2) two", want: "1. one\n2. two", wiki: "# one\n# two"},
	{
		name: "numbered list starting at 3", md: "3. c\n4. d", want: "3. c\n4. d", wiki: "# c\n# d",
		viaWiki: "1. c\n2. d", // wiki lists always start at 1
	},
	{name: "nested bullets", md: "- a\n  - b\n    - c\n- d", want: "- a\n  - b\n    - c\n- d", wiki: "* a\n** b\n*** c\n* d"},
	{name: "nested numbers", md: "1. a\n   1. b\n   2. c\n2. d", want: "1. a\n   1. b\n   2. c\n2. d", wiki: "# a\n## b\n## c\n# d"},
	{name: "bullets in numbers", md: "1. a\n   - b\n   - c\n2. d", want: "1. a\n   - b\n   - c\n2. d", wiki: "# a\n#* b\n#* c\n# d"},
	{name: "numbers in bullets", md: "- a\n  1. b\n  2. c", want: "- a\n  1. b\n  2. c", wiki: "* a\n*# b\n*# c"},
	{name: "loosely indented nesting", md: "- a\n    - b", want: "- a\n  - b", wiki: "* a\n** b"},
	{name: "list item with formatting", md: "- **bold** item\n- `code` item", want: "- **bold** item\n- `code` item", wiki: "* *bold* item\n* {{code}} item"},
	{name: "two lists in a row", md: "- a\n\n\n* b", want: "- a\n\n* b", wiki: "* a\n\n* b"},
	{
		name: "list item with two paragraphs", md: "- a\n\n  b\n- c", want: "- a\n\n  b\n- c", wiki: "* a\\\\b\n* c",
		viaWiki: "- a\\\n  b\n- c", // a wiki item is one line
	},
	{
		name: "table",
		md:   "| Name | Score |\n|------|:-----:|\n| a | 9.8 |\n| b | 5 |",
		want: "| Name | Score |\n| --- | --- |\n| a | 9.8 |\n| b | 5 |",
		wiki: "||Name||Score||\n|a|9.8|\n|b|5|",
	},
	{
		name: "table with formatting, pipes and an empty cell",
		md:   "| **a** | `x\\|y` |\n| --- | --- |\n| | [l](https://x.example) |",
		want: "| **a** | `x\\|y` |\n| --- | --- |\n|  | [l](https://x.example) |",
		wiki: "||*a*||{{x\\|y}}||\n| |[l|https://x.example]|",
	},
	{
		name: "table with a short row and a line break",
		md:   "| a | b |\n| --- | --- |\n| 1<br>2 |",
		want: "| a | b |\n| --- | --- |\n| 1<br>2 |  |",
		wiki: "||a||b||\n|1\\\\2| |",
	},
	{name: "hard break with backslash", md: "line one\\\nline two", want: "line one\\\nline two", wiki: "line one\nline two"},
	{name: "hard break with two spaces", md: "line one  \nline two", want: "line one\\\nline two", wiki: "line one\nline two"},
	{name: "hard break in a list item", md: "- a\\\n  b", want: "- a\\\n  b", wiki: "* a\\\\b"},
	{name: "block quote", md: "> quoted **text**\n>\n> second", want: "> quoted **text**\n>\n> second", wiki: "{quote}\nquoted *text*\n\nsecond\n{quote}"},
	{name: "nested quote is flattened", md: "> a\n>> b", want: "> a\n>\n> b", wiki: "{quote}\na\n\nb\n{quote}"},
	{name: "heading in a quote becomes bold", md: "> # h", want: "> **h**", wiki: "{quote}\n*h*\n{quote}"},
	{name: "rule", md: "a\n\n***\n\nb", want: "a\n\n---\n\nb", wiki: "a\n\n----\n\nb"},
	{name: "escaped emphasis", md: "\\*not bold\\* and \\_not italic\\_", want: "\\*not bold\\* and \\_not italic\\_", wiki: "\\*not bold\\* and \\_not italic\\_"},
	{name: "wiki specials", md: "a {b} [c] | d + e ^ f ~g h", want: "a {b} \\[c\\] | d + e ^ f \\~g h", wiki: "a \\{b\\} \\[c\\] \\| d \\+ e \\^ f \\~g h"},
	{name: "intraword characters", md: "snake_case CVE-2024-1234 C++ a*b", want: "snake_case CVE-2024-1234 C++ a\\*b", wiki: "snake_case CVE-2024-1234 C\\+\\+ a*b"},
	{name: "dashes", md: "a - b -- c", want: "a - b -- c", wiki: "a - b \\-\\- c"},
	{name: "line starts", md: "\\# no\n\n\\- no\n\n1\\. no\n\n\\> no", want: "\\# no\n\n\\- no\n\n1\\. no\n\n\\> no", wiki: "\\# no\n\n\\- no\n\n1. no\n\n> no"},
	{name: "wiki line starts", md: "h1. no\n\nbq. no", want: "h1. no\n\nbq. no", wiki: "h1\\. no\n\nbq\\. no"},
	{name: "backslash", md: "C:\\\\Users\\\\me", want: "C:\\\\Users\\\\me", wiki: "C:&#92;Users&#92;me"},
	{name: "entities", md: "AT&amp;T &copy; &#65;", want: "AT&T © A", wiki: "AT&T © A"},
	{name: "literal entity", md: "write \\&amp; for &", want: "write \\&amp; for &", wiki: "write \\&amp; for &"},
	{name: "raw HTML is text", md: "<b>x</b>", want: "\\<b>x\\</b>", wiki: "<b>x</b>"},
	{name: "emoticon lookalikes", md: "f(x) and (y) :)", want: "f(x) and (y) :)", wiki: "f\\(x) and \\(y) \\:)"},
	{name: "bang before a word", md: "!important and wow!", want: "!important and wow!", wiki: "\\!important and wow!"},
	{name: "URL in code stays code", md: "`http://x.example`", want: "`http://x.example`", wiki: "{{http\\://x.example}}"},
	{
		name: "mixed document",
		md:   "# CVE-2024-0001\n\n**Severity:** high\n\n## Steps\n\n1. Log in\n2. Open `/admin`\n   - as *any* user\n\n```http\nGET /admin HTTP/1.1\n```\n\n| Host | Port |\n| --- | --- |\n| a.example | 443 |\n\nSee [NVD](https://nvd.nist.gov/vuln/detail/CVE-2024-0001).",
		want: "# CVE-2024-0001\n\n**Severity:** high\n\n## Steps\n\n1. Log in\n2. Open `/admin`\n   - as *any* user\n\n```http\nGET /admin HTTP/1.1\n```\n\n| Host | Port |\n| --- | --- |\n| a.example | 443 |\n\nSee [NVD](https://nvd.nist.gov/vuln/detail/CVE-2024-0001).",
		wiki: "h1. CVE-2024-0001\n\n*Severity:* high\n\nh2. Steps\n\n# Log in\n# Open {{/admin}}\n#* as _any_ user\n\n{code:http}\nGET /admin HTTP/1.1\n{code}\n\n||Host||Port||\n|a.example|443|\n\nSee [NVD|https://nvd.nist.gov/vuln/detail/CVE-2024-0001].",
	},
	{name: "empty", md: "", want: "", wiki: ""},
	{name: "only blanks", md: " \n\t\n", want: "", wiki: ""},
}

func TestMarkdownADFRoundTrip(t *testing.T) {
	for _, tc := range roundTrips {
		t.Run(tc.name, func(t *testing.T) {
			doc := ToADF(tc.md)
			if err := doc.Validate(); err != nil {
				t.Fatalf("ToADF(%q) is not valid ADF: %v", tc.md, err)
			}
			if got := FromADF(doc); got != tc.want {
				t.Errorf("FromADF(ToADF(%q)):\ngot  %q\nwant %q", tc.md, got, tc.want)
			}
			if got := FromADF(ToADF(tc.want)); got != tc.want {
				t.Errorf("canonical Markdown is not stable:\ngot  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestMarkdownWikiRoundTrip(t *testing.T) {
	for _, tc := range roundTrips {
		t.Run(tc.name, func(t *testing.T) {
			wiki := ToWiki(tc.md)
			if wiki != tc.wiki {
				t.Errorf("ToWiki(%q):\ngot  %q\nwant %q", tc.md, wiki, tc.wiki)
			}
			want := tc.want
			if tc.viaWiki != "" {
				want = tc.viaWiki
			}
			if got := FromWiki(wiki); got != want {
				t.Errorf("FromWiki(%q):\ngot  %q\nwant %q", wiki, got, want)
			}
			if err := WikiToADF(wiki).Validate(); err != nil {
				t.Errorf("WikiToADF(%q) is not valid ADF: %v", wiki, err)
			}
		})
	}
}

// Many unclosed delimiters are read as text, none of it lost (the parser
// remembers failed searches, so this also stays linear).
func TestRepeatedDelimitersKeepText(t *testing.T) {
	for _, unit := range []string{"*a ", "[", "{{", "_a *b ", "!a ", "[a|"} {
		in := strings.Repeat(unit, 4000/len(unit))
		md := FromWiki(in)
		if strings.Count(md, "a") != strings.Count(in, "a") {
			t.Errorf("FromWiki(%q × %d) lost text: %d a's in, %d out", unit, 4000/len(unit), strings.Count(in, "a"), strings.Count(md, "a"))
		}
		doc := ToADF(in)
		if err := doc.Validate(); err != nil {
			t.Errorf("ToADF(%q × n): %v", unit, err)
		}
	}
}
