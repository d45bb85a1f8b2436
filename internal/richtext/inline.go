package richtext

import (
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Inline content is handled by every converter as a flat list of runs: a
// piece of text with the set of marks it carries, a hard line break, or an
// atom (a mention) passed through untouched. Markdown and wiki markup are
// both nested syntaxes over these runs, so each renderer decides where to
// open and close its delimiters from the runs alone.

// markSet is the formatting on a run, one bit per mark vulnsync renders.
type markSet uint16

const (
	mStrong markSet = 1 << iota
	mEm
	mStrike
	mUnderline
	mCode
	mSup
	mSub
)

// run is one piece of inline content.
type run struct {
	text  string
	marks markSet
	href  string // the link the run belongs to, "" for none
	brk   bool   // a hard line break
	atom  *Node  // an inline node kept as it is (mention)
}

func (r run) isText() bool { return !r.brk && r.atom == nil }

// adfMarkOrder is the order marks are written in, so that equal formatting
// always gives equal JSON.
var adfMarkOrder = []struct {
	bit markSet
	typ string
}{
	{mStrong, "strong"}, {mEm, "em"}, {mStrike, "strike"}, {mUnderline, "underline"},
	{mCode, "code"}, {mSub, "subsup"}, {mSup, "subsup"},
}

func marksToADF(ms markSet, href string) []Mark {
	if ms&mCode != 0 {
		ms = mCode // ADF: code combines only with link
	}
	var out []Mark
	for _, m := range adfMarkOrder {
		if ms&m.bit == 0 {
			continue
		}
		switch m.bit {
		case mSub:
			out = append(out, Mark{Type: "subsup", Attrs: map[string]any{"type": "sub"}})
		case mSup:
			if ms&mSub == 0 {
				out = append(out, Mark{Type: "subsup", Attrs: map[string]any{"type": "sup"}})
			}
		default:
			out = append(out, Mark{Type: m.typ})
		}
	}
	if href != "" {
		out = append(out, Mark{Type: "link", Attrs: map[string]any{"href": href}})
	}
	return out
}

func marksFromADF(marks []Mark) (markSet, string) {
	var ms markSet
	href := ""
	for _, m := range marks {
		switch m.Type {
		case "strong":
			ms |= mStrong
		case "em":
			ms |= mEm
		case "strike":
			ms |= mStrike
		case "underline":
			ms |= mUnderline
		case "code":
			ms |= mCode
		case "subsup":
			if t, _ := m.Attrs["type"].(string); t == "sub" {
				ms |= mSub
			} else {
				ms |= mSup
			}
		case "link":
			href, _ = m.Attrs["href"].(string)
		}
	}
	return ms, href
}

// textRuns splits text at newlines into text runs separated by breaks.
func textRuns(out []run, text string, ms markSet, href string) []run {
	text = strings.ReplaceAll(text, "\r", "")
	for {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			break
		}
		if ms&mCode != 0 {
			// A code span cannot hold a line break; keep it as a space.
			text = text[:i] + " " + text[i+1:]
			continue
		}
		out = append(out, run{text: text[:i], marks: ms, href: href}, run{brk: true})
		text = text[i+1:]
	}
	return append(out, run{text: text, marks: ms, href: href})
}

// runsFromADF flattens the inline nodes of a paragraph-like node. Atoms that
// Markdown cannot express become text; mentions stay atoms so that the wiki
// renderer can write them as mentions.
func runsFromADF(out []run, nodes []*Node, depth int) []run {
	if depth > renderDepthLimit {
		return out
	}
	for _, n := range nodes {
		if n == nil {
			continue
		}
		switch n.Type {
		case "text":
			ms, href := marksFromADF(n.Marks)
			out = textRuns(out, n.Text, ms, href)
		case "hardBreak":
			out = append(out, run{brk: true})
		case "mention":
			out = append(out, run{atom: n})
		default:
			if text, href := atomText(n); text != "" {
				ms, _ := marksFromADF(n.Marks)
				out = textRuns(out, text, ms, href)
			} else if len(n.Content) > 0 {
				out = runsFromADF(out, n.Content, depth+1)
			}
		}
	}
	return out
}

// atomText is the text (and link) that stands for an inline node other than
// text in a format that has no such node.
func atomText(n *Node) (text, href string) {
	str := func(k string) string { s, _ := n.Attrs[k].(string); return s }
	switch n.Type {
	case "mention":
		if t := str("text"); t != "" {
			if !strings.HasPrefix(t, "@") {
				t = "@" + t
			}
			return t, ""
		}
		return "@" + str("id"), ""
	case "emoji":
		if t := str("text"); t != "" {
			return t, ""
		}
		return str("shortName"), ""
	case "inlineCard", "blockCard", "embedCard":
		u := str("url")
		return u, u
	case "date":
		ms, err := strconv.ParseInt(str("timestamp"), 10, 64)
		if err != nil {
			return str("timestamp"), ""
		}
		return time.UnixMilli(ms).UTC().Format("2006-01-02"), ""
	case "status":
		return str("text"), ""
	case "text":
		return n.Text, ""
	}
	return "", ""
}

// normalizeRuns makes runs canonical: no empty text, no whitespace at the
// start or end of a line (Markdown and wiki parsers both drop it), no breaks
// at the start or end, code marks alone (ADF allows only link beside code),
// and adjacent runs with equal formatting merged.
func normalizeRuns(rs []run) []run {
	out := rs[:0:0]
	for _, r := range rs {
		if r.isText() {
			r.text = strings.ReplaceAll(r.text, "\r", "")
			if r.marks&mCode != 0 {
				r.marks = mCode
			}
			if r.marks&mSub != 0 {
				r.marks &^= mSup
			}
			if r.href != "" {
				r.href = canonicalHref(r.href)
				if !safeHref(r.href) {
					r.href = ""
				}
			}
			if r.text == "" {
				continue
			}
		}
		out = append(out, r)
	}
	// Trim line starts.
	lineStart := true
	for i := range out {
		r := &out[i]
		switch {
		case r.brk:
			lineStart = true
		case r.atom != nil:
			lineStart = false
		case lineStart && r.marks&mCode == 0:
			r.text = strings.TrimLeft(r.text, " \t")
			lineStart = r.text == ""
		default:
			lineStart = false
		}
	}
	// Trim line ends.
	lineEnd := true
	for i := len(out) - 1; i >= 0; i-- {
		r := &out[i]
		switch {
		case r.brk:
			lineEnd = true
		case r.atom != nil:
			lineEnd = false
		case lineEnd && r.marks&mCode == 0:
			r.text = strings.TrimRight(r.text, " \t")
			lineEnd = r.text == ""
		default:
			lineEnd = false
		}
	}
	merged := out[:0:0]
	var b strings.Builder // text of the last merged run while it grows
	growing := false
	for _, r := range out {
		if r.isText() && r.text == "" {
			continue
		}
		if n := len(merged); n > 0 && r.isText() && merged[n-1].isText() &&
			merged[n-1].marks == r.marks && merged[n-1].href == r.href {
			if !growing {
				b.Reset()
				b.WriteString(merged[n-1].text)
				growing = true
			}
			b.WriteString(r.text)
			continue
		}
		if growing {
			merged[len(merged)-1].text = b.String()
			growing = false
		}
		merged = append(merged, r)
	}
	if growing {
		merged[len(merged)-1].text = b.String()
	}
	// Drop breaks at the start and the end.
	for len(merged) > 0 && merged[0].brk {
		merged = merged[1:]
	}
	for len(merged) > 0 && merged[len(merged)-1].brk {
		merged = merged[:len(merged)-1]
	}
	return merged
}

// runsToADF turns normalized runs into ADF inline nodes.
func runsToADF(rs []run) []*Node {
	rs = normalizeRuns(rs)
	if len(rs) == 0 {
		return nil
	}
	out := make([]*Node, 0, len(rs))
	for _, r := range rs {
		switch {
		case r.brk:
			out = append(out, &Node{Type: "hardBreak"})
		case r.atom != nil:
			out = append(out, r.atom)
		default:
			out = append(out, &Node{Type: "text", Text: r.text, Marks: marksToADF(r.marks, r.href)})
		}
	}
	return out
}

// splitSpace cuts s into leading whitespace, core and trailing whitespace.
func splitSpace(s string) (lead, core, trail string) {
	core = strings.TrimLeft(s, " \t")
	lead = s[:len(s)-len(core)]
	trimmed := strings.TrimRight(core, " \t")
	trail = core[len(trimmed):]
	return lead, trimmed, trail
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	if len(s) == 0 {
		return -1
	}
	return r
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	if len(s) == 0 {
		return -1
	}
	return r
}

// renderDepthLimit stops the renderers from following trees nested absurdly
// deep (or cyclic trees built in code); Validate refuses both anyway.
const renderDepthLimit = 4 * MaxDepth

// safeHref reports whether a link target is one Jira accepts: its ADF
// validator refuses script and data URLs, so links to them are dropped
// (their text is kept).
func safeHref(href string) bool {
	h := strings.TrimLeft(href, " \t\r\n\x00\x0b\x0c")
	colon := strings.IndexByte(h, ':')
	if colon <= 0 {
		return true
	}
	if strings.ContainsAny(h[:colon], "/?#") {
		return true
	}
	var b strings.Builder
	for _, ch := range h[:colon] {
		if ch > ' ' {
			b.WriteRune(unicode.ToLower(ch))
		}
	}
	switch b.String() {
	case "javascript", "vbscript", "data":
		return false
	}
	return true
}

// openOrder lists the marks of toOpen, to be opened at run i, longest-lasting
// first: the formatting that goes on longest must be the outermost, or it
// would have to be closed and reopened when the shorter one ends.
func openOrder(rs []run, i int, toOpen markSet, order []markSet) []markSet {
	var bits []markSet
	for _, b := range order {
		if toOpen&b != 0 {
			bits = append(bits, b)
		}
	}
	if len(bits) < 2 {
		return bits
	}
	dur := func(b markSet) int {
		n := 0
		for j := i; j < len(rs) && rs[j].isText() && rs[j].href == ""; j++ {
			blank := rs[j].marks&mCode == 0 && strings.TrimSpace(rs[j].text) == ""
			if rs[j].marks&b == 0 && !blank {
				break
			}
			n++
		}
		return n
	}
	sort.SliceStable(bits, func(a, c int) bool { return dur(bits[a]) > dur(bits[c]) })
	return bits
}

// canonicalHref percent-encodes the bytes no format can carry in a link
// target (controls, spaces, backslashes), so that a link reads the same in
// Markdown, ADF and wiki markup.
func canonicalHref(h string) string {
	clean := true
	for i := 0; i < len(h); i++ {
		if c := h[i]; c <= ' ' || c == 0x7f || c == '\\' {
			clean = false
			break
		}
	}
	if clean {
		return h
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c <= ' ' || c == 0x7f || c == '\\' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
