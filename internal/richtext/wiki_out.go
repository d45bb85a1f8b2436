package richtext

import (
	"strings"
	"unicode/utf8"
)

func adfToWiki(doc *Node) string {
	if doc == nil {
		return ""
	}
	r := &wikiRenderer{}
	return r.blocks(doc.Content, 0)
}

// wikiRenderer writes Jira wiki markup from ADF. Blocks are separated by a
// blank line.
type wikiRenderer struct{}

func (r *wikiRenderer) blocks(nodes []*Node, depth int) string {
	if depth > renderDepthLimit {
		return ""
	}
	var parts []string
	for _, n := range nodes {
		if n == nil {
			continue
		}
		if s := r.block(n, depth); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n\n")
}

func (r *wikiRenderer) block(n *Node, depth int) string {
	switch n.Type {
	case "paragraph", "taskItem", "decisionItem", "caption":
		return renderWikiInline(runsFromADF(nil, n.Content, depth+1), wikiPara)
	case "heading":
		level, _ := intAttr(n.Attrs["level"])
		level = min(max(level, 1), 6)
		text := renderWikiInline(runsFromADF(nil, n.Content, depth+1), wikiHeading)
		head := "h" + string(rune('0'+level)) + "."
		if text == "" {
			return head
		}
		return head + " " + text
	case "codeBlock":
		lang, _ := n.Attrs["language"].(string)
		return wikiCode(lang, codeText(n))
	case "rule":
		return "----"
	case "blockquote", "panel":
		inner := r.quoteBody(n.Content, depth+1)
		if inner == "" {
			return ""
		}
		return "{quote}\n" + inner + "\n{quote}"
	case "bulletList", "orderedList":
		return strings.Join(r.list(n, "", depth), "\n")
	case "taskList", "decisionList":
		return strings.Join(r.list(taskAsList(n), "", depth), "\n")
	case "table":
		return r.table(n, depth)
	case "mediaSingle", "mediaGroup":
		var parts []string
		for _, m := range n.Content {
			if m != nil && m.Type == "media" {
				if s := wikiMedia(m); s != "" {
					parts = append(parts, s)
				}
			}
		}
		return strings.Join(parts, "\n\n")
	case "media":
		return wikiMedia(n)
	case "expand", "nestedExpand":
		title, _ := n.Attrs["title"].(string)
		body := r.blocks(n.Content, depth+1)
		if title == "" {
			return body
		}
		head := renderWikiInline([]run{{text: title, marks: mStrong}}, wikiPara)
		if body == "" {
			return head
		}
		return head + "\n\n" + body
	case "blockCard", "embedCard", "inlineCard":
		text, href := atomText(n)
		return renderWikiInline([]run{{text: text, href: href}}, wikiPara)
	case "extension", "inlineExtension":
		return ""
	}
	if len(n.Content) > 0 {
		if first := n.Content[0]; first != nil && nodeSpecs[first.Type] != nil && nodeSpecs[first.Type].inline {
			return renderWikiInline(runsFromADF(nil, n.Content, depth+1), wikiPara)
		}
		return r.blocks(n.Content, depth+1)
	}
	return ""
}

// quoteBody renders a quote's blocks; wiki quotes cannot nest, so a quote
// inside a quote contributes its blocks.
func (r *wikiRenderer) quoteBody(nodes []*Node, depth int) string {
	if depth > renderDepthLimit {
		return ""
	}
	var parts []string
	for _, n := range nodes {
		if n == nil {
			continue
		}
		var s string
		if n.Type == "blockquote" || n.Type == "panel" {
			s = r.quoteBody(n.Content, depth+1)
		} else {
			s = r.block(n, depth)
		}
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n\n")
}

// taskAsList turns an ADF task or decision list into a bullet list with
// ballot boxes, the closest thing wiki markup and Markdown have.
func taskAsList(n *Node) *Node {
	list := &Node{Type: "bulletList"}
	for _, c := range n.Content {
		if c == nil {
			continue
		}
		switch c.Type {
		case "taskItem", "decisionItem":
			content := c.Content
			if c.Type == "taskItem" {
				box := "☐ "
				if s, _ := c.Attrs["state"].(string); s == "DONE" {
					box = "☑ "
				}
				content = append([]*Node{{Type: "text", Text: box}}, content...)
			}
			list.Content = append(list.Content, &Node{Type: "listItem", Content: []*Node{{Type: "paragraph", Content: content}}})
		case "taskList":
			if len(list.Content) == 0 {
				list.Content = append(list.Content, &Node{Type: "listItem"})
			}
			last := list.Content[len(list.Content)-1]
			last.Content = append(last.Content, taskAsList(c))
		}
	}
	return list
}

// list renders a list as lines; prefix holds the markers of the enclosing
// lists ("*#" for a numbered list inside a bullet list). Wiki list items are
// one line each: a second paragraph joins the first after a line break, and
// blocks wiki cannot put in a list (code) follow the item's lines.
func (r *wikiRenderer) list(n *Node, prefix string, depth int) []string {
	if depth > renderDepthLimit {
		return nil
	}
	marker := "*"
	if n.Type == "orderedList" {
		marker = "#"
	}
	p := prefix + marker
	var lines []string
	for _, item := range n.Content {
		if item == nil {
			continue
		}
		var inline []run
		var after []string
		for _, c := range item.Content {
			if c == nil {
				continue
			}
			switch c.Type {
			case "paragraph", "heading":
				rs := normalizeRuns(runsFromADF(nil, c.Content, depth+1))
				if len(rs) == 0 {
					continue
				}
				if len(inline) > 0 {
					inline = append(inline, run{brk: true})
				}
				inline = append(inline, rs...)
			case "bulletList", "orderedList":
				after = append(after, r.list(c, p, depth+1)...)
			case "taskList", "decisionList":
				after = append(after, r.list(taskAsList(c), p, depth+1)...)
			default:
				if s := r.block(c, depth+1); s != "" {
					after = append(after, s)
				}
			}
		}
		lines = append(lines, p+" "+renderWikiInline(inline, wikiItem))
		lines = append(lines, after...)
	}
	return lines
}

func (r *wikiRenderer) table(n *Node, depth int) string {
	var lines []string
	for _, row := range n.Content {
		if row == nil {
			continue
		}
		var b strings.Builder
		last := "|"
		for _, cell := range row.Content {
			if cell == nil {
				continue
			}
			sep := "|"
			if cell.Type == "tableHeader" {
				sep = "||"
			}
			text := renderWikiInline(blockRuns(cell.Content, depth+1), wikiCell)
			if text == "" {
				text = " "
			}
			b.WriteString(sep + text)
			last = sep
		}
		if b.Len() == 0 {
			continue
		}
		b.WriteString(last)
		lines = append(lines, b.String())
	}
	return strings.Join(lines, "\n")
}

func wikiMedia(m *Node) string {
	alt, _ := m.Attrs["alt"].(string)
	if t, _ := m.Attrs["type"].(string); t == "external" {
		u, _ := m.Attrs["url"].(string)
		if u == "" || strings.ContainsAny(u, "! \t\n|") {
			return ""
		}
		return "!" + u + "!"
	}
	if alt == "" || strings.ContainsAny(alt, "!\n|") {
		return ""
	}
	return "!" + alt + "!"
}

// wikiCode writes a {code} block, or {noformat} when there is no language
// (Jira would otherwise highlight it as Java). The content cannot be
// escaped, so the macro whose end tag it does not contain is chosen.
func wikiCode(lang, code string) string {
	lang = languageName(lang)
	hasCode := strings.Contains(code, "{code}")
	hasNoformat := strings.Contains(code, "{noformat}")
	useCode := lang != "" && !hasCode || hasNoformat && !hasCode
	if useCode {
		open := "{code}"
		if lang != "" {
			open = "{code:" + lang + "}"
		}
		return open + "\n" + code + "\n{code}"
	}
	if hasNoformat {
		// Both end tags occur: break the one that would end the block.
		code = strings.ReplaceAll(code, "{noformat}", "{noformat }")
	}
	return "{noformat}\n" + code + "\n{noformat}"
}

// Inline rendering modes: where a line break is a newline (paragraphs), a
// "\\" (table cells and list items, which are one line) or a space.
const (
	wikiPara = iota
	wikiHeading
	wikiCell
	wikiItem
)

var wikiDelims = []struct {
	bit   markSet
	delim string
}{{mStrong, "*"}, {mEm, "_"}, {mStrike, "-"}, {mUnderline, "+"}, {mSup, "^"}, {mSub, "~"}}

const wikiEffects = mStrong | mEm | mStrike | mUnderline | mSup | mSub

var wikiOrder = []markSet{mStrong, mEm, mStrike, mUnderline, mSup, mSub}

func wikiDelim(bit markSet) string {
	for _, d := range wikiDelims {
		if d.bit == bit {
			return d.delim
		}
	}
	return ""
}

type wikiWriter struct {
	b         []byte
	mode      int
	lineStart bool
}

func renderWikiInline(rs []run, mode int) string {
	rs = normalizeRuns(rs)
	if mode == wikiHeading {
		for i := range rs {
			if rs[i].brk {
				rs[i] = run{text: " "}
			}
		}
		rs = normalizeRuns(rs)
	}
	w := &wikiWriter{mode: mode, lineStart: mode == wikiPara}
	w.runs(rs, 0)
	return string(w.b)
}

func (w *wikiWriter) raw(s string) {
	if n := len(w.b); n > 0 && w.b[n-1] == '!' && (n < 2 || w.b[n-2] != '\\') && s != "" && s[0] != ' ' && s[0] != '\n' {
		// Text ending in "!" right before markup would open an image.
		w.b = append(w.b[:n-1], '\\', '!')
	}
	w.b = append(w.b, s...)
	if s != "" {
		w.lineStart = false
	}
}

func (w *wikiWriter) text(s string) {
	if s == "" {
		return
	}
	w.b = append(w.b, escapeWikiText(s, w.lineStart)...)
	w.lineStart = false
}

func (w *wikiWriter) lastIsAlnum() bool {
	r, _ := utf8.DecodeLastRune(w.b)
	return len(w.b) > 0 && isAlnum(r)
}

// runs writes runs with effect delimiters kept on a stack. Jira only reads
// "*" as bold when the outside neighbour is not a letter or digit; where it
// is, the braced form "{*}" is written instead.
func (w *wikiWriter) runs(rs []run, base markSet) {
	var open []markSet
	pending := ""
	openSet := func() markSet {
		var s markSet
		for _, o := range open {
			s |= o
		}
		return s
	}
	closeTo := func(keep markSet, nextAlnum bool) {
		k := 0
		for k < len(open) && keep&open[k] != 0 {
			k++
		}
		for j := len(open) - 1; j >= k; j-- {
			d := wikiDelim(open[j])
			if j == k && nextAlnum {
				d = "{" + d + "}"
			}
			w.raw(d)
		}
		open = open[:k]
	}
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case r.brk:
			closeTo(0, false)
			w.text(pending)
			pending = ""
			switch w.mode {
			case wikiPara:
				if w.lineStart && len(w.b) > 0 {
					// An empty line would end the paragraph.
					w.raw("\\\\\n")
				} else {
					w.raw("\n")
				}
				w.lineStart = true
			default:
				w.raw("\\\\")
			}
			i++
			continue
		case r.atom != nil:
			closeTo(openSet(), false)
			w.text(pending)
			pending = ""
			if r.atom.Type == "mention" {
				id, _ := r.atom.Attrs["id"].(string)
				id = strings.NewReplacer("]", "", "|", "", "\n", "").Replace(id)
				switch {
				case isAccountID(id):
					w.raw("[~accountid:" + id + "]")
				case id != "":
					w.raw("[~" + id + "]")
				}
			} else {
				text, _ := atomText(r.atom)
				w.text(text)
			}
			i++
			continue
		case r.href != "":
			j, common := i, wikiEffects
			for j < len(rs) && rs[j].isText() && rs[j].href == r.href {
				common &= rs[j].marks
				j++
			}
			closeTo(common, false)
			w.text(pending)
			pending = ""
			group := make([]run, 0, j-i)
			for _, g := range rs[i:j] {
				g.href = ""
				group = append(group, g)
			}
			w.link(group, r.href, base|openSet())
			i = j
			continue
		}
		want := r.marks & wikiEffects &^ base
		code := r.marks&mCode != 0
		lead, core, trail := "", r.text, ""
		if !code {
			lead, core, trail = splitSpace(r.text)
		}
		if core == "" {
			want = openSet() & nextMarks(rs, i)
		}
		// The marks still open after closing down to want, and so those
		// to open: they decide what follows the closing delimiters.
		var kept markSet
		for _, o := range open {
			if want&o == 0 {
				break
			}
			kept |= o
		}
		opening := openOrder(rs, i, want&^kept, wikiOrder)
		nextAlnum := pending == "" && lead == "" && len(opening) == 0 && !code && isAlnum(firstRune(core))
		closeTo(want, nextAlnum)
		w.text(pending)
		w.text(lead)
		for _, bit := range opening {
			delim := wikiDelim(bit)
			if w.lastIsAlnum() {
				delim = "{" + delim + "}"
			}
			w.raw(delim)
			open = append(open, bit)
		}
		if code {
			w.raw("{{" + escapeWikiText(core, false) + "}}")
		} else {
			w.text(core)
		}
		pending = trail
		i++
	}
	closeTo(0, false)
	w.text(pending)
}

// link writes [text|url], or [url] when the text is the URL itself.
func (w *wikiWriter) link(group []run, href string, base markSet) {
	target := wikiURL(href)
	if len(group) == 1 && group[0].marks&^base&(wikiEffects|mCode) == 0 && group[0].text == href && target == href && isURL(href) {
		w.raw("[" + target + "]")
		return
	}
	w.raw("[")
	inner := &wikiWriter{mode: wikiItem}
	inner.runs(group, base)
	w.raw(string(inner.b) + "|" + target + "]")
}

// wikiURL escapes the characters that would end a wiki link early.
func wikiURL(u string) string {
	return strings.NewReplacer("|", "\\|", "[", "\\[", "]", "\\]").Replace(canonicalHref(u))
}

// wikiEmoticons are the character sequences Jira replaces with icons.
var wikiEmoticons = []string{
	"(?)", "(!)", "(/)", "(x)", "(y)", "(n)", "(i)", "(on)", "(off)", "(*)", "(*r)", "(*g)",
	"(*b)", "(*y)", "(flag)", "(flagoff)", "(+)", "(-)", "(u)", "(^)", ":)", ":(", ";)", ":P", ":D",
}

// escapeWikiText backslash-escapes what Jira would read as markup. Effect
// characters between two letters or digits ("snake_case", "CVE-2024-1") are
// inert and left alone; a backslash, which wiki markup cannot escape (a
// doubled one is a line break), is written as an entity.
func escapeWikiText(s string, lineStart bool) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	if lineStart {
		switch {
		case strings.HasPrefix(s, "#"):
			b.WriteString("\\#")
			s = s[1:]
		case len(s) >= 3 && s[0] == 'h' && s[1] >= '1' && s[1] <= '6' && s[2] == '.':
			b.WriteString(s[:2] + "\\.")
			s = s[3:]
		case strings.HasPrefix(s, "bq."):
			b.WriteString("bq\\.")
			s = s[3:]
		}
	}
	prev := rune(-1)
	for i := 0; i < len(s); {
		ch, size := utf8.DecodeRuneInString(s[i:])
		next := rune(-1)
		if i+size < len(s) {
			next, _ = utf8.DecodeRuneInString(s[i+size:])
		}
		inWord := prev >= 0 && next >= 0 && isAlnum(prev) && isAlnum(next)
		switch ch {
		case '\\':
			b.WriteString("&#92;")
			prev = ch
			i += size
			continue
		case '*', '_', '+', '^', '~':
			if !inWord {
				b.WriteByte('\\')
			}
		case '-':
			if !inWord && !(prev == ' ' && next == ' ') {
				b.WriteByte('\\')
			}
		case '?':
			if prev == '?' || next == '?' {
				b.WriteByte('\\')
			}
		case '{', '}', '[', ']', '|':
			b.WriteByte('\\')
		case '!':
			if next >= 0 && next != ' ' && next != '\t' {
				b.WriteByte('\\')
			}
		case '&':
			if looksLikeEntity(s[i:]) {
				b.WriteByte('\\')
			}
		case ':':
			low := strings.ToLower(s[max(0, i-6):i])
			if strings.HasSuffix(low, "http") || strings.HasSuffix(low, "https") || strings.HasSuffix(low, "ftp") || strings.HasSuffix(low, "mailto") {
				// Keep a URL in text from becoming a link.
				b.WriteByte('\\')
				break
			}
			fallthrough
		case '(', ';':
			for _, e := range wikiEmoticons {
				if strings.HasPrefix(s[i:], e) {
					b.WriteByte('\\')
					break
				}
			}
		}
		b.WriteString(s[i : i+size])
		prev = ch
		i += size
	}
	return b.String()
}

// isAccountID reports whether a mention id is a Jira Cloud account id
// ("5b10ac8d82e05b22cc7d4ef5", "557058:f58131cb-..."), which Cloud's wiki
// markup writes as [~accountid:...]; other ids are Data Center user names.
func isAccountID(id string) bool {
	if strings.Contains(id, ":") {
		return true
	}
	if len(id) != 24 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
