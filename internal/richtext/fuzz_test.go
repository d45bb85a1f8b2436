package richtext

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// The fuzz targets check the invariants every input must keep: no panic,
// output that Jira would accept (ToADF and WikiToADF always produce a
// document that survives JSON and ParseADF), and canonical Markdown that
// is a fixed point of the Markdown → ADF → Markdown round trip.

const fuzzMaxInput = 2048

// watchdog turns an input that makes a conversion run away (a loop that
// never ends, or work that grows exponentially) into a crash of the fuzz
// worker, which the fuzzing engine then records in testdata/fuzz as a
// failing input; without it a hang only ends in "context deadline
// exceeded" and the input is lost. Every conversion of a 2 KiB input
// takes well under a millisecond, so two seconds is a generous bound.
func watchdog(input string) (stop func() bool) {
	return time.AfterFunc(2*time.Second, func() {
		panic(fmt.Sprintf("conversion of %q did not finish within 2 s", input))
	}).Stop
}

func FuzzToADF(f *testing.F) {
	for _, s := range []string{
		"# Title\n\nSome **bold**, *italic*, `code` and [a link](https://example.com).",
		"- a\n  - b\n    1. c\n\n| h | i |\n| --- | --- |\n| 1 | 2 |",
		"```go\nfunc main() {}\n```\n\n> quote\\\nline",
		"***x** y* ~~z~~ <https://x.example> a_b_c \\* &amp;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, md string) {
		if len(md) > fuzzMaxInput {
			t.Skip("input longer than the fuzz bound")
		}
		defer watchdog(md)()
		doc := ToADF(md)
		raw, err := json.Marshal(doc)
		if err != nil {
			t.Fatalf("marshal ToADF(%q): %v", md, err)
		}
		if _, err := ParseADF(raw); err != nil {
			t.Fatalf("ParseADF(ToADF(%q)): %v\nADF: %s", md, err, raw)
		}
		canonical := FromADF(doc)
		if again := FromADF(ToADF(canonical)); again != canonical {
			t.Fatalf("canonical Markdown is not a fixed point\ninput: %q\nfirst:  %q\nsecond: %q", md, canonical, again)
		}
		// Inline formatting survives wiki markup too (block structure may
		// not: wiki lists cannot start at 3 or hold two paragraphs).
		if len(doc.Content) == 1 && doc.Content[0].Type == "paragraph" {
			if back := FromWiki(ToWiki(canonical)); back != canonical {
				t.Fatalf("paragraph does not survive wiki markup\ninput: %q\nfirst:  %q\nsecond: %q\nwiki:   %q", md, canonical, back, ToWiki(canonical))
			}
		}
	})
}

func FuzzWiki(f *testing.F) {
	for _, s := range []string{
		"h1. Title\nSome *bold* and _it_ {{mono}} [link|https://example.com] [~jsmith]",
		"* a\n** b\n*# c\n\n||h||i||\n|1|2\\\\3|",
		"{code:java}\nclass X {}\n{code}\n{quote}\nq\n{quote}\nbq. short",
		"{*}x{*}y -s- +u+ ^p^ ~b~ ??c?? !img.png! http://x.example/a_b \\* &#92;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, wiki string) {
		if len(wiki) > fuzzMaxInput {
			t.Skip("input longer than the fuzz bound")
		}
		defer watchdog(wiki)()
		doc := WikiToADF(wiki)
		raw, err := json.Marshal(doc)
		if err != nil {
			t.Fatalf("marshal WikiToADF(%q): %v", wiki, err)
		}
		if _, err := ParseADF(raw); err != nil {
			t.Fatalf("ParseADF(WikiToADF(%q)): %v\nADF: %s", wiki, err, raw)
		}
		md := FromADF(doc)
		if again := FromADF(ToADF(md)); again != md {
			t.Fatalf("Markdown from wiki is not a fixed point\ninput: %q\nfirst:  %q\nsecond: %q", wiki, md, again)
		}
		// Wiki markup cannot write two adjacent lists of one kind apart
		// (Markdown's "1." then "1)"): a first round trip may merge them.
		// After it, the text must be stable: a second round trip changes
		// nothing.
		back := FromWiki(ToWiki(md))
		if again := FromWiki(ToWiki(back)); again != back {
			t.Fatalf("Markdown from wiki is not stable across wiki round trips\ninput: %q\nfirst:  %q\nsecond: %q\nwiki:  %q", wiki, back, again, ToWiki(back))
		}
		_ = ADFToWiki(doc)
	})
}
