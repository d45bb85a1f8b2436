package richtext

import (
	"testing"
)

// Wiki markup as Jira users and Jira itself write it, and the Markdown
// vulnsync makes of it.
func TestFromWiki(t *testing.T) {
	tests := []struct {
		name, wiki, want string
	}{
		{"headings", "h1. One\nh2. Two\nh3. Three\nh4. Four\nh5. Five\nh6. Six", "# One\n\n## Two\n\n### Three\n\n#### Four\n\n##### Five\n\n###### Six"},
		{"heading without space is text", "h1.Title", "h1.Title"},
		{"lines of a paragraph break", "first line\nsecond line\n\nnext paragraph", "first line\\\nsecond line\n\nnext paragraph"},
		{"windows line endings", "a\r\nb\r\n\r\nc", "a\\\nb\n\nc"},
		{"effects", "*bold* _italic_ -strike- +under+ ^sup^ ~sub~ ??cite?? {{mono}}", "**bold** *italic* ~~strike~~ under sup sub *cite* `mono`"},
		{"nested effects", "*bold _and italic_*", "**bold *and italic***"},
		{"braced effects inside a word", "un{*}believ{*}able", "un**believ**able"},
		{"effects need word boundaries", "not*bold*here a * b * c snake_case_name x-y-z", "not\\*bold\\*here a \\* b \\* c snake_case_name x-y-z"},
		{"effects do not cross lines", "*open\nclose*", "\\*open\\\nclose\\*"},
		{"monospace keeps markup", "{{a *b* [c]}}", "`a *b* [c]`"},
		{"code with language", "{code:java}\nclass A {}\n{code}", "```java\nclass A {}\n```"},
		{"code with parameters", "{code:title=Foo.java|borderStyle=solid}\nx\n{code}", "```\nx\n```"},
		{"code with language parameter", "{code:language=python|title=t}\nprint(1)\n{code}", "```python\nprint(1)\n```"},
		{"noformat", "{noformat}\n*raw* {code}\n{noformat}", "```\n*raw* {code}\n```"},
		{"code inside a line", "run {code}make{code} now", "run\n\n```\nmake\n```\n\nnow"},
		{"unclosed code runs to the end", "{code}\na\n\nb", "```\na\n\nb\n```"},
		{"bullets", "* a\n* b\n** c\n*** d\n* e", "- a\n- b\n  - c\n    - d\n- e"},
		{"numbers", "# a\n# b\n## c", "1. a\n2. b\n   1. c"},
		{"mixed nesting", "# a\n#* b\n#* c\n# d", "1. a\n   - b\n   - c\n2. d"},
		{"dash bullets", "- a\n- b", "- a\n- b"},
		{"list item formatting", "* *bold* [link|https://x.example]", "- **bold** [link](https://x.example)"},
		{"list ends at a paragraph", "* a\ntext", "- a\n\ntext"},
		{"table", "||Host||Port||\n|a.example|443|\n|b.example|80|", "| Host | Port |\n| --- | --- |\n| a.example | 443 |\n| b.example | 80 |"},
		{"table cells with links, breaks and escapes", "||a||b||\n|[x|https://x.example]|1\\\\2|\n|c\\|d| |", "| a | b |\n| --- | --- |\n| [x](https://x.example) | 1<br>2 |\n| c\\|d |  |"},
		{"table without a header row", "|a|b|\n|c|d|", "| a | b |\n| --- | --- |\n| c | d |"},
		{"links", "[text|https://x.example/a] and [https://y.example]", "[text](https://x.example/a) and <https://y.example>"},
		{"link with tooltip", "[text|https://x.example|tip]", "[text](https://x.example)"},
		{"mail link", "[mailto:sec@example.com]", "<mailto:sec@example.com>"},
		{"mentions", "[~jsmith] and [~accountid:5b10ac8d82e05b22cc7d4ef5]", "@jsmith and @5b10ac8d82e05b22cc7d4ef5"},
		{"attachment and anchor", "[^report.pdf] [#top]", "report.pdf top"},
		{"issue key", "[ABC-123] and [the bug|ABC-123]", "ABC-123 and the bug"},
		{"bare URL", "see http://x.example/a_b, (https://y.example/c).", "see <http://x.example/a_b>, (<https://y.example/c>)."},
		{"line break", "a\\\\b", "a\\\nb"},
		{"quote", "{quote}\nfirst\n\nsecond *b*\n{quote}", "> first\n>\n> second **b**"},
		{"quote on one line", "{quote}quoted{quote} after", "> quoted\n\nafter"},
		{"bq", "bq. short quote", "> short quote"},
		{"panel", "{panel:title=Note|borderStyle=dashed}\nbody\n{panel}", "> **Note**\n>\n> body"},
		{"colour", "{color:red}red *text*{color}", "red **text**"},
		{"escapes", "\\*not bold\\* \\{x\\} \\[y\\] \\\\ end", "\\*not bold\\* {x} \\[y\\]\\\nend"},
		{"entities", "AT&amp;T &copy; &#65; &nope;", "AT&T © A &nope;"},
		{"rule", "a\n----\nb", "a\n\n---\n\nb"},
		{"images", "!a.png! !b.png|thumbnail! !https://x.example/c.png!", "a.png b.png <https://x.example/c.png>"},
		{"bangs that are not images", "Wow! Really !", "Wow! Really !"},
		{"emoticons stay text", "(y) (x) :)", "(y) (x) :)"},
		{"markdown specials are escaped", "# not a list? no: a numbered list\n\n1. literal <b> `tick` a_b_", "1. not a list? no: a numbered list\n\n1\\. literal \\<b> \\`tick\\` a_b\\_"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromWiki(tc.wiki); got != tc.want {
				t.Errorf("FromWiki(%q):\ngot  %q\nwant %q", tc.wiki, got, tc.want)
			}
			if err := WikiToADF(tc.wiki).Validate(); err != nil {
				t.Errorf("WikiToADF(%q) is not valid ADF: %v", tc.wiki, err)
			}
			// Markdown made from wiki markup is stable both ways.
			md := FromWiki(tc.wiki)
			if again := FromADF(ToADF(md)); again != md {
				t.Errorf("Markdown round trip changed %q into %q", md, again)
			}
			if again := FromWiki(ToWiki(md)); again != md {
				t.Errorf("wiki round trip changed %q into %q (via %q)", md, again, ToWiki(md))
			}
		})
	}
}

func TestWikiMentionsKeepTheirForm(t *testing.T) {
	tests := []struct{ wiki, want string }{
		{"[~accountid:5b10ac8d82e05b22cc7d4ef5]", "[~accountid:5b10ac8d82e05b22cc7d4ef5]"},
		{"[~accountid:557058:f58131cb-b67d-43c7-b30d-6b58d40bd077] hi", "[~accountid:557058:f58131cb-b67d-43c7-b30d-6b58d40bd077] hi"},
		{"[~jsmith] hi", "[~jsmith] hi"},
	}
	for _, tc := range tests {
		if got := ADFToWiki(WikiToADF(tc.wiki)); got != tc.want {
			t.Errorf("ADFToWiki(WikiToADF(%q)): got %q, want %q", tc.wiki, got, tc.want)
		}
	}
}
