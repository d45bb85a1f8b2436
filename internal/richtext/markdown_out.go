package richtext

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark/text"
)

func adfToMarkdown(doc *Node) string {
	if doc == nil {
		return ""
	}
	r := &mdRenderer{}
	return r.blocks(doc.Content, 0)
}

// mdRenderer writes canonical Markdown from ADF. Each block renders to a
// string without a trailing newline; containers prefix their children's
// lines (quote markers, list indentation).
type mdRenderer struct{}

// blocks renders sibling blocks separated by a blank line. Two lists of the
// same kind in a row would merge into one in Markdown, so the second uses
// the other bullet ("*") or number delimiter (")").
func (r *mdRenderer) blocks(nodes []*Node, depth int) string {
	if depth > renderDepthLimit {
		return ""
	}
	var parts []string
	prevList, alt := "", false
	for _, n := range nodes {
		if n == nil {
			continue
		}
		var s string
		isList := n.Type == "bulletList" || n.Type == "orderedList"
		if isList {
			alt = prevList == n.Type && !alt
			s = r.list(n, alt, depth)
		} else {
			s = r.block(n, depth)
		}
		if s == "" {
			continue
		}
		if isList {
			prevList = n.Type
		} else {
			prevList, alt = "", false
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "\n\n")
}

func (r *mdRenderer) block(n *Node, depth int) string {
	switch n.Type {
	case "paragraph", "taskItem", "decisionItem", "caption":
		return renderMDInline(runsFromADF(nil, n.Content, depth+1), mdPara)
	case "heading":
		level, _ := intAttr(n.Attrs["level"])
		level = min(max(level, 1), 6)
		text := renderMDInline(runsFromADF(nil, n.Content, depth+1), mdHeading)
		marker := strings.Repeat("#", level)
		if text == "" {
			return marker
		}
		return marker + " " + text
	case "codeBlock":
		lang, _ := n.Attrs["language"].(string)
		return fencedCode(lang, codeText(n))
	case "rule":
		return "---"
	case "blockquote", "panel":
		return quoteLines(r.blocks(n.Content, depth+1))
	case "table":
		return r.table(n, depth)
	case "mediaSingle", "mediaGroup":
		var parts []string
		for _, m := range n.Content {
			if m != nil && m.Type == "media" {
				parts = append(parts, mdMedia(m))
			}
		}
		return strings.Join(parts, "\n\n")
	case "media":
		return mdMedia(n)
	case "taskList", "decisionList":
		return r.taskList(n, depth)
	case "expand", "nestedExpand":
		title, _ := n.Attrs["title"].(string)
		body := r.blocks(n.Content, depth+1)
		if title == "" {
			return body
		}
		head := renderMDInline([]run{{text: title, marks: mStrong}}, mdPara)
		if body == "" {
			return head
		}
		return head + "\n\n" + body
	case "blockCard", "embedCard", "inlineCard":
		text, href := atomText(n)
		return renderMDInline([]run{{text: text, href: href}}, mdPara)
	case "extension", "inlineExtension":
		return ""
	}
	// Unknown or purely structural (layoutSection, bodiedExtension, ...):
	// render what it holds.
	if len(n.Content) > 0 {
		if first := n.Content[0]; first != nil && nodeSpecs[first.Type] != nil && nodeSpecs[first.Type].inline {
			return renderMDInline(runsFromADF(nil, n.Content, depth+1), mdPara)
		}
		return r.blocks(n.Content, depth+1)
	}
	if n.Text != "" {
		return renderMDInline(textRuns(nil, n.Text, 0, ""), mdPara)
	}
	return ""
}

func codeText(n *Node) string {
	var b strings.Builder
	for _, t := range n.Content {
		if t != nil {
			b.WriteString(t.Text)
		}
	}
	return strings.ReplaceAll(b.String(), "\r", "")
}

func mdMedia(m *Node) string {
	alt, _ := m.Attrs["alt"].(string)
	if t, _ := m.Attrs["type"].(string); t == "external" {
		u, _ := m.Attrs["url"].(string)
		return "![" + escapeMDText(alt, mdPara, false, false) + "](" + mdDestination(u) + ")"
	}
	if alt == "" {
		alt = "attachment"
	}
	return renderMDInline([]run{{text: alt, marks: mEm}}, mdPara)
}

// listStart is the first number of an ordered list as rendered (1 for
// other lists).
func listStart(n *Node) int {
	start := 1
	if n.Type == "orderedList" {
		if v, ok := intAttr(n.Attrs["order"]); ok {
			start = v
		}
		// CommonMark allows at most nine digits.
		start = min(max(start, 0), 999999999-len(n.Content))
	}
	return start
}

// list renders a list; alt selects the other marker style.
func (r *mdRenderer) list(n *Node, alt bool, depth int) string {
	ordered := n.Type == "orderedList"
	start := listStart(n)
	var out []string
	i := 0
	for _, item := range n.Content {
		if item == nil {
			continue
		}
		var marker string
		switch {
		case ordered && alt:
			marker = strconv.Itoa(start+i) + ")"
		case ordered:
			marker = strconv.Itoa(start+i) + "."
		case alt:
			marker = "*"
		default:
			marker = "-"
		}
		i++
		out = append(out, prefixLines(marker, r.itemBody(item, depth+1)))
	}
	return strings.Join(out, "\n")
}

// itemBody renders a list item's blocks; a nested list follows the line
// before it directly, other blocks are separated by a blank line.
func (r *mdRenderer) itemBody(item *Node, depth int) string {
	if depth > renderDepthLimit {
		return ""
	}
	var b strings.Builder
	prevList, alt := "", false
	for _, c := range item.Content {
		if c == nil {
			continue
		}
		isList := c.Type == "bulletList" || c.Type == "orderedList"
		var s string
		if isList {
			alt = prevList == c.Type && !alt
			s = r.list(c, alt, depth)
		} else {
			s = r.block(c, depth)
		}
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			// An ordered list that does not start at 1 cannot interrupt
			// a paragraph (CommonMark): it would read as the
			// paragraph's next line, so a blank line goes first.
			if isList && prevList == "" && listStart(c) == 1 {
				b.WriteString("\n")
			} else {
				b.WriteString("\n\n")
			}
		}
		if isList {
			prevList = c.Type
		} else {
			prevList, alt = "", false
		}
		b.WriteString(s)
	}
	return b.String()
}

// prefixLines puts a list marker before the first line of body and indents
// the others by the marker's width.
func prefixLines(marker, body string) string {
	if body == "" {
		return marker
	}
	indent := strings.Repeat(" ", len(marker)+1)
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		switch {
		case i == 0:
			lines[i] = marker + " " + l
		case l != "":
			lines[i] = indent + l
		}
	}
	return strings.Join(lines, "\n")
}

func quoteLines(body string) string {
	if body == "" {
		return ""
	}
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		if l == "" {
			lines[i] = ">"
		} else {
			lines[i] = "> " + l
		}
	}
	return strings.Join(lines, "\n")
}

func (r *mdRenderer) taskList(n *Node, depth int) string {
	var items []*Node
	for _, c := range n.Content {
		if c == nil {
			continue
		}
		switch c.Type {
		case "taskItem", "decisionItem", "blockTaskItem":
			content := c.Content
			if c.Type == "taskItem" {
				box := "☐ "
				if s, _ := c.Attrs["state"].(string); s == "DONE" {
					box = "☑ "
				}
				content = append([]*Node{{Type: "text", Text: box}}, content...)
				content = []*Node{{Type: "paragraph", Content: content}}
			} else if c.Type == "decisionItem" {
				content = []*Node{{Type: "paragraph", Content: content}}
			}
			items = append(items, &Node{Type: "listItem", Content: content})
		case "taskList":
			if len(items) == 0 {
				items = append(items, &Node{Type: "listItem"})
			}
			last := items[len(items)-1]
			last.Content = append(last.Content, &Node{Type: "bulletList", Content: []*Node{{Type: "listItem", Content: []*Node{c}}}})
		}
	}
	return r.list(&Node{Type: "bulletList", Content: items}, false, depth)
}

func (r *mdRenderer) table(n *Node, depth int) string {
	var rows [][]string
	cols := 0
	for _, row := range n.Content {
		if row == nil {
			continue
		}
		var cells []string
		for _, cell := range row.Content {
			if cell == nil {
				continue
			}
			cells = append(cells, renderMDInline(blockRuns(cell.Content, depth+1), mdCell))
		}
		cols = max(cols, len(cells))
		rows = append(rows, cells)
	}
	if cols == 0 {
		return ""
	}
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for i := 0; i < cols; i++ {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteString(" " + c + " |")
		}
	}
	for i, cells := range rows {
		if i > 0 {
			b.WriteString("\n")
		}
		line(cells)
		if i == 0 {
			b.WriteString("\n|" + strings.Repeat(" --- |", cols))
		}
	}
	return b.String()
}

// fencedCode writes a fenced code block whose fence is longer than any
// backtick run in the code, so the code can hold anything.
func fencedCode(lang, code string) string {
	longest, cur := 0, 0
	for i := 0; i < len(code); i++ {
		if code[i] == '`' {
			cur++
			longest = max(longest, cur)
		} else {
			cur = 0
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	lang = languageName(lang)
	if code == "" {
		return fence + lang + "\n" + fence
	}
	return fence + lang + "\n" + code + "\n" + fence
}

// Inline rendering modes.
const (
	mdPara = iota
	mdHeading
	mdCell
)

// mdInline writes inline Markdown: runs are wrapped in emphasis delimiters
// kept on a stack, so that formatting shared by neighbouring runs is opened
// once; whitespace at the edge of a formatted run is moved outside the
// delimiters (CommonMark ignores "** bold**").
type mdInline struct {
	b         []byte
	mode      int
	lineStart bool
	inLink    bool // writing a link's text, where nothing is linkified
}

var mdDelims = []struct {
	bit   markSet
	delim string
}{{mStrike, "~~"}, {mStrong, "**"}, {mEm, "*"}}

const mdEmphasis = mStrike | mStrong | mEm

var mdOrder = []markSet{mStrike, mStrong, mEm}

func renderMDInline(rs []run, mode int) string {
	rs = normalizeRuns(rs)
	for i := range rs {
		r := &rs[i]
		switch {
		case r.atom != nil:
			text, href := atomText(r.atom)
			*r = run{text: text, href: href}
		case r.brk && mode == mdHeading:
			*r = run{text: " "}
		}
		r.marks &= mdEmphasis | mCode
	}
	rs = normalizeRuns(rs)
	hasEmphasis := false
	for _, r := range rs {
		hasEmphasis = hasEmphasis || r.marks&mdEmphasis != 0
	}
	out := writeMDInline(rs, mode)
	// CommonMark's emphasis rules have corners (a delimiter between a
	// letter and punctuation, runs of three) where what is written does not
	// read back the same. Read it back, and where it differs, drop the
	// formatting around the first difference and write it again, so that
	// canonical Markdown is always a fixed point of Markdown → ADF →
	// Markdown (the sync relies on that to recognise its own writes).
	for attempt := 0; hasEmphasis && attempt < 8; attempt++ {
		k := firstDifference(rs, readMDInline(out, mode))
		if k < 0 {
			break
		}
		if attempt == 6 {
			k = -1 // give up on this paragraph's formatting
		}
		dropEmphasisAround(rs, k)
		rs = normalizeRuns(rs)
		out = writeMDInline(rs, mode)
	}
	return out
}

func writeMDInline(rs []run, mode int) string {
	w := &mdInline{mode: mode, lineStart: mode == mdPara}
	w.runs(rs, 0)
	out := string(w.b)
	if mode == mdHeading {
		out = escapeClosingHashes(out)
	}
	return out
}

// readMDInline parses inline Markdown written by writeMDInline back into
// runs, in the context it was written for.
func readMDInline(md string, mode int) []run {
	src := md
	switch mode {
	case mdHeading:
		src = "# " + md
	case mdCell:
		src = "| " + md + " |\n| --- |"
	}
	b := []byte(src)
	root := mdParser.Parse(text.NewReader(b))
	c := &mdConv{src: b}
	block := root.FirstChild()
	if block == nil || block.NextSibling() != nil {
		return nil
	}
	if mode == mdCell {
		// table → header row → first cell
		if block.FirstChild() == nil || block.FirstChild().FirstChild() == nil {
			return nil
		}
		block = block.FirstChild().FirstChild()
	}
	rs := c.inline(nil, block, 0, "")
	for i := range rs {
		rs[i].marks &= mdEmphasis | mCode
	}
	return normalizeRuns(rs)
}

// firstDifference is the index of the first run in want that got does not
// match, or -1 when they are equal.
func firstDifference(want, got []run) int {
	for i, w := range want {
		if i >= len(got) {
			return i
		}
		g := got[i]
		if w.brk != g.brk || w.text != g.text || w.marks != g.marks || w.href != g.href {
			return i
		}
	}
	if len(got) > len(want) {
		return max(len(want)-1, 0)
	}
	return -1
}

// dropEmphasisAround removes the emphasis of run k and of the runs next to
// it that share it (all runs when k < 0).
func dropEmphasisAround(rs []run, k int) {
	if k < 0 || k >= len(rs) {
		for i := range rs {
			rs[i].marks &^= mdEmphasis
		}
		return
	}
	m := rs[k].marks & mdEmphasis
	if k > 0 {
		m |= rs[k-1].marks & mdEmphasis
	}
	if m == 0 {
		m = mdEmphasis
	}
	for i := k; i < len(rs) && (rs[i].marks&m != 0 || !rs[i].isText() || strings.TrimSpace(rs[i].text) == ""); i++ {
		if rs[i].brk {
			break
		}
		rs[i].marks &^= m
	}
	for i := k - 1; i >= 0 && (rs[i].marks&m != 0 || !rs[i].isText() || strings.TrimSpace(rs[i].text) == ""); i-- {
		if rs[i].brk {
			break
		}
		rs[i].marks &^= m
	}
}

func (w *mdInline) raw(s string) {
	w.b = append(w.b, s...)
	if s != "" {
		w.lineStart = false
	}
}

func (w *mdInline) text(s string) {
	if s == "" {
		return
	}
	w.b = append(w.b, escapeMDText(s, w.mode, w.lineStart, !w.inLink)...)
	w.lineStart = false
}

func (w *mdInline) runs(rs []run, base markSet) {
	var open []markSet
	pending := "" // whitespace owed after the next closing delimiters
	openSet := func() markSet {
		var s markSet
		for _, o := range open {
			s |= o
		}
		return s
	}
	closeTo := func(keep markSet) {
		k := 0
		for k < len(open) && keep&open[k] != 0 {
			k++
		}
		for j := len(open) - 1; j >= k; j-- {
			w.raw(mdDelim(open[j]))
		}
		open = open[:k]
	}
	// renderMDInline has turned atoms into text already.
	for i := 0; i < len(rs); {
		r := rs[i]
		if r.brk {
			w.text(pending)
			pending = ""
			if w.mode == mdCell {
				w.raw("<br>")
			} else {
				if n := len(w.b); n >= 2 && w.b[n-1] == '\\' && w.b[n-2] == '\\' {
					// goldmark reads "\\\" at a line end as text: write
					// the literal backslash as an entity.
					w.b = append(w.b[:n-2], "&#92;"...)
				}
				w.raw("\\\n")
				w.lineStart = true
			}
			i++
			continue
		}
		if r.href != "" {
			j, common := i, mdEmphasis
			for j < len(rs) && rs[j].isText() && rs[j].href == r.href {
				common &= rs[j].marks
				j++
			}
			closeTo(common)
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
		want := r.marks & mdEmphasis &^ base
		lead, core, trail := r.text, "", ""
		code := r.marks&mCode != 0
		if code {
			lead, core = "", r.text
		} else {
			lead, core, trail = splitSpace(r.text)
		}
		if core == "" {
			// Whitespace alone: inside the formatting it shares with
			// the next run, outside the rest.
			want = openSet() & nextMarks(rs, i)
		}
		closeTo(want)
		w.text(pending)
		w.text(lead)
		for _, bit := range openOrder(rs, i, want&^openSet(), mdOrder) {
			if bit == mStrike && len(w.b) >= 2 && string(w.b[len(w.b)-2:]) == "\\~" {
				// goldmark reads no "~~" right after an escaped "~": write
				// that one as an entity.
				w.b = append(w.b[:len(w.b)-2], "&#126;"...)
			}
			w.raw(mdDelim(bit))
			open = append(open, bit)
		}
		if code {
			w.raw(codeSpan(core, w.mode == mdCell))
		} else {
			w.text(core)
		}
		pending = trail
		i++
	}
	closeTo(0)
	w.text(pending)
}

// nextMarks is the formatting of the next run after i that shows (not
// whitespace alone), or none when a break or a link comes first.
func nextMarks(rs []run, i int) markSet {
	for j := i + 1; j < len(rs); j++ {
		r := rs[j]
		if !r.isText() || r.href != "" {
			return 0
		}
		if r.marks&mCode != 0 || strings.TrimSpace(r.text) != "" {
			return r.marks
		}
	}
	return 0
}

func mdDelim(bit markSet) string {
	for _, d := range mdDelims {
		if d.bit == bit {
			return d.delim
		}
	}
	return ""
}

// link writes [text](url), or <url> when the text is the URL itself.
func (w *mdInline) link(group []run, href string, base markSet) {
	if len(group) == 1 && group[0].marks&^base&(mdEmphasis|mCode) == 0 && group[0].text == href && autolinkable(href) {
		w.raw("<" + href + ">")
		return
	}
	if n := len(w.b); n > 0 && w.b[n-1] == '!' && (n < 2 || w.b[n-2] != '\\') {
		// "!" before "[" would make an image.
		w.b = append(w.b[:n-1], '\\', '!')
	}
	w.raw("[")
	was := w.inLink
	w.inLink = true
	w.runs(group, base)
	w.inLink = was
	w.raw("](" + mdDestination(href) + ")")
}

// autolinkable reports whether u can be written as a CommonMark autolink.
func autolinkable(u string) bool {
	colon := strings.IndexByte(u, ':')
	if colon < 2 || colon > 32 {
		return false
	}
	for i := 0; i < colon; i++ {
		c := u[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '.' || c == '-')
		if !ok {
			return false
		}
	}
	for _, ch := range u {
		if ch <= ' ' || ch == '<' || ch == '>' || ch == 0x7f {
			return false
		}
	}
	return true
}

func mdDestination(u string) string {
	u = strings.NewReplacer("\n", "", "\r", "").Replace(u)
	needsAngle := u == ""
	for _, ch := range u {
		if ch <= ' ' || ch == 0x7f {
			needsAngle = true
		}
	}
	var b strings.Builder
	if needsAngle {
		b.WriteByte('<')
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c == '\\' || c == '<' || c == '>' || (!needsAngle && (c == '(' || c == ')')):
			b.WriteByte('\\')
		case c == '&' && looksLikeEntity(u[i:]):
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	if needsAngle {
		b.WriteByte('>')
	}
	return b.String()
}

// looksLikeEntity reports whether s starts with something Markdown would
// read as an entity reference.
func looksLikeEntity(s string) bool {
	_, n := entityAt([]byte(s))
	return n > 0
}

// codeSpan writes a code span whose backtick fence is longer than any run of
// backticks inside it.
func codeSpan(s string, inTable bool) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if inTable {
		s = strings.ReplaceAll(s, "|", "\\|")
	}
	longest, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			cur++
			longest = max(longest, cur)
		} else {
			cur = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") ||
		(strings.HasPrefix(s, " ") && strings.HasSuffix(s, " ") && strings.Trim(s, " ") != "") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}

// escapeMDText backslash-escapes what Markdown would read as syntax, and
// nothing more where that is safe (an underscore inside a word, "<" before a
// space), to keep the text readable. With unlink, it also escapes what the
// GFM autolink extension would turn into a link (a URL's "://", "www.", an
// e-mail's "@"), so that text stays text when the Markdown is read again.
func escapeMDText(s string, mode int, lineStart, unlink bool) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	if lineStart && mode != mdCell {
		s = escapeLineStart(s, &b)
	}
	prev := rune(-1)
	for i := 0; i < len(s); {
		ch, size := utf8.DecodeRuneInString(s[i:])
		next := rune(-1)
		if i+size < len(s) {
			next, _ = utf8.DecodeRuneInString(s[i+size:])
		}
		switch ch {
		case '\\', '`', '*', '[', ']', '~':
			b.WriteByte('\\')
		case '_':
			if !(prev >= 0 && next >= 0 && isAlnum(prev) && isAlnum(next)) {
				b.WriteByte('\\')
			}
		case '<':
			if next == '/' || next == '!' || next == '?' || isASCIILetter(next) {
				b.WriteByte('\\')
			}
		case '&':
			if looksLikeEntity(s[i:]) {
				b.WriteByte('\\')
			}
		case '|':
			if mode == mdCell {
				b.WriteByte('\\')
			}
		case ':':
			if unlink && strings.HasPrefix(s[i:], "://") && (strings.HasSuffix(s[:i], "http") || strings.HasSuffix(s[:i], "https") || strings.HasSuffix(s[:i], "ftp")) {
				b.WriteByte('\\')
			}
		case '.':
			if unlink && strings.HasSuffix(s[:i], "www") && (i == 3 || !isAlnum(lastRune(s[:i-3]))) {
				b.WriteByte('\\')
			}
		case '@':
			if unlink && prev >= 0 && next >= 0 && (isAlnum(prev) || strings.ContainsRune(".-_+", prev)) && isAlnum(next) {
				b.WriteByte('\\')
			}
		}
		b.WriteString(s[i : i+size])
		prev = ch
		i += size
	}
	return b.String()
}

func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// escapeLineStart escapes the first character of a line where it would
// start a block: a heading, quote, list item, rule or setext underline. It
// writes the escaped prefix to b and returns the rest of s.
func escapeLineStart(s string, b *strings.Builder) string {
	if s == "" {
		return s
	}
	switch c := s[0]; c {
	case '#', '>', '+', '-', '=':
		if c == '#' || c == '+' || c == '-' {
			rest := strings.TrimLeft(s, string(c))
			if c == '#' && (len(s)-len(rest) > 6 || (rest != "" && rest[0] != ' ' && rest[0] != '\t')) {
				return s
			}
			if c == '+' && rest != "" && rest[0] != ' ' && rest[0] != '\t' && len(s)-len(rest) == 1 {
				return s
			}
			if c == '-' && len(s)-len(rest) == 1 && rest != "" && rest[0] != ' ' && rest[0] != '\t' && strings.Trim(rest, "- \t") != "" {
				return s
			}
		}
		if c == '=' && strings.Trim(s, "= \t") != "" {
			return s
		}
		b.WriteByte('\\')
		b.WriteByte(c)
		return s[1:]
	}
	// "1. " or "1) " starts an ordered list.
	i := 0
	for i < len(s) && i < 10 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && i < len(s) && (s[i] == '.' || s[i] == ')') && (i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\t') {
		b.WriteString(s[:i])
		b.WriteByte('\\')
		b.WriteByte(s[i])
		return s[i+1:]
	}
	return s
}

// escapeClosingHashes keeps trailing "#"s in a heading's text from being
// read as the optional closing sequence of an ATX heading.
func escapeClosingHashes(s string) string {
	if !strings.HasSuffix(s, "#") {
		return s
	}
	k := len(strings.TrimRight(s, "#"))
	if k > 0 && s[k-1] != ' ' && s[k-1] != '\t' {
		return s
	}
	if k > 0 && s[k-1] == '\\' {
		return s
	}
	return s[:k] + "\\" + s[k:]
}
