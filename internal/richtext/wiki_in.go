package richtext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Jira wiki markup has no grammar and no maintained Go parser, so this is a
// small line-oriented one for the constructs Jira users and Jira itself
// write: headings (h1.), bq., {quote}, {code}, {noformat}, {panel}, lists
// (* # -, nested ** #* ...), tables (||head|| |cell|), rules (----), and
// inline *bold* _italic_ -strike- +underline+ ^sup^ ~sub~ ??cite?? {{mono}},
// the braced forms {*}...{*}, links [text|url], mentions [~user], images
// !file!, bare URLs, \\ line breaks, backslash escapes and entities.
// Anything it does not recognise is kept as literal text.

// Limits on nesting inside wiki markup: block macros ({quote} in {panel} ...)
// and inline effects. Past them the markup is read as text.
const (
	maxWikiBlockDepth  = 4
	maxWikiInlineDepth = 12
)

func wikiToADF(wiki string) *Node {
	s := strings.ReplaceAll(wiki, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	doc := &Node{Type: "doc", Version: 1, Content: wikiBlocks(s, 0)}
	return sanitizeDoc(doc)
}

// lineAt returns the line starting at pos (without its newline) and the
// position of the next line.
func lineAt(s string, pos int) (string, int) {
	i := strings.IndexByte(s[pos:], '\n')
	if i < 0 {
		return s[pos:], len(s)
	}
	return s[pos : pos+i], pos + i + 1
}

var wikiBlockMacros = []string{"code", "noformat", "quote", "panel"}

// blockMacroIndex finds the first block macro tag ({code...}, {noformat},
// {quote}, {panel...}) in a line, or -1.
func blockMacroIndex(line string, depth int) (int, string) {
	if depth >= maxWikiBlockDepth {
		return -1, ""
	}
	monoOpen := true // a "}}" may still close a "{{" on this line
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '{':
			if strings.HasPrefix(line[i:], "{{") {
				// {{monospace}} may mention {code} without being one.
				k := -1
				if monoOpen {
					k = indexUnescaped(line[i+2:], "}}")
				}
				if k >= 0 {
					i += k + 3
				} else {
					monoOpen = false
					i++
				}
				continue
			}
			for _, name := range wikiBlockMacros {
				rest := line[i+1:]
				if !strings.HasPrefix(rest, name) {
					continue
				}
				after := rest[len(name):]
				if strings.HasPrefix(after, "}") || (name != "quote" && strings.HasPrefix(after, ":") && strings.Contains(after, "}")) {
					return i, name
				}
			}
		}
	}
	return -1, ""
}

func headingLine(t string) (int, string, bool) {
	if len(t) < 3 || t[0] != 'h' || t[1] < '1' || t[1] > '6' || t[2] != '.' {
		return 0, "", false
	}
	if len(t) > 3 && t[3] != ' ' && t[3] != '\t' {
		return 0, "", false
	}
	return int(t[1] - '0'), trimBlank(t[3:]), true
}

func bqLine(t string) (string, bool) {
	if !strings.HasPrefix(t, "bq.") || (len(t) > 3 && t[3] != ' ' && t[3] != '\t') {
		return "", false
	}
	return trimBlank(t[3:]), true
}

// listLine reads a list item line: markers ("*", "#", "**", "*#", or a
// single "-") then a space.
func listLine(t string) (string, string, bool) {
	i := 0
	for i < len(t) && (t[i] == '*' || t[i] == '#') {
		i++
	}
	if i == 0 && strings.HasPrefix(t, "-") {
		i = 1
	}
	if i == 0 || i >= len(t) || (t[i] != ' ' && t[i] != '\t') {
		return "", "", false
	}
	return t[:i], trimBlank(t[i+1:]), true
}

func isRuleLine(t string) bool { return trimBlank(t) == "----" }

// startsBlock reports whether a line begins a block other than a paragraph.
func startsBlock(t string, depth int) bool {
	if _, _, ok := headingLine(t); ok {
		return true
	}
	if _, ok := bqLine(t); ok {
		return true
	}
	if _, _, ok := listLine(t); ok {
		return true
	}
	if i, _ := blockMacroIndex(t, depth); i == 0 {
		return true
	}
	return isRuleLine(t) || strings.HasPrefix(t, "|")
}

func wikiBlocks(s string, depth int) []*Node {
	var out []*Node
	pos := 0
	for pos < len(s) {
		line, next := lineAt(s, pos)
		t := strings.TrimLeft(line, " \t")
		if trimBlank(t) == "" {
			pos = next
			continue
		}
		start := pos + len(line) - len(t)
		if i, name := blockMacroIndex(t, depth); i == 0 {
			node, end := wikiMacro(s, start, name, depth)
			if node != nil {
				out = append(out, node)
			}
			pos = end
			continue
		}
		if level, rest, ok := headingLine(t); ok {
			out = append(out, &Node{Type: "heading", Attrs: map[string]any{"level": level}, Content: wikiInlineNodes(rest)})
			pos = next
			continue
		}
		if rest, ok := bqLine(t); ok {
			out = append(out, &Node{Type: "blockquote", Content: []*Node{{Type: "paragraph", Content: wikiInlineNodes(rest)}}})
			pos = next
			continue
		}
		if isRuleLine(t) {
			out = append(out, &Node{Type: "rule"})
			pos = next
			continue
		}
		if _, _, ok := listLine(t); ok {
			var items []wikiListItem
			for pos < len(s) {
				line, next := lineAt(s, pos)
				markers, text, ok := listLine(strings.TrimLeft(line, " \t"))
				if !ok {
					break
				}
				items = append(items, wikiListItem{markers, text})
				pos = next
			}
			out = append(out, wikiLists(items)...)
			continue
		}
		if strings.HasPrefix(t, "|") {
			tbl := &Node{Type: "table"}
			for pos < len(s) {
				line, next := lineAt(s, pos)
				t := trimBlank(line)
				if !strings.HasPrefix(t, "|") {
					break
				}
				row := &Node{Type: "tableRow"}
				for _, c := range splitWikiRow(t) {
					typ := "tableCell"
					if c.header {
						typ = "tableHeader"
					}
					row.Content = append(row.Content, &Node{Type: typ, Content: []*Node{{Type: "paragraph", Content: wikiInlineNodes(trimBlank(c.text))}}})
				}
				tbl.Content = append(tbl.Content, row)
				pos = next
			}
			out = append(out, tbl)
			continue
		}
		// A paragraph: lines up to a blank line or another block; a block
		// macro in the middle of a line ends it there.
		var lines []string
		for pos < len(s) {
			line, next := lineAt(s, pos)
			t := strings.TrimLeft(line, " \t")
			if trimBlank(t) == "" || (len(lines) > 0 && startsBlock(t, depth)) {
				break
			}
			if i, _ := blockMacroIndex(t, depth); i > 0 {
				lines = append(lines, t[:i])
				pos += len(line) - len(t) + i
				break
			}
			lines = append(lines, strings.TrimRight(t, " \t"))
			pos = next
		}
		out = append(out, &Node{Type: "paragraph", Content: wikiInlineNodes(strings.Join(lines, "\n"))})
	}
	return out
}

// wikiMacro parses the block macro whose tag starts at s[start] and returns
// the node and where parsing continues.
func wikiMacro(s string, start int, name string, depth int) (*Node, int) {
	tagEnd := start + strings.IndexByte(s[start:], '}') + 1
	params := strings.TrimPrefix(s[start+1+len(name):tagEnd-1], ":")
	closeTag := "{" + name + "}"
	body, end := s[tagEnd:], len(s)
	if k := strings.Index(s[tagEnd:], closeTag); k >= 0 {
		body, end = s[tagEnd:tagEnd+k], tagEnd+k+len(closeTag)
	}
	// What follows the end tag on its line, if only blanks, goes with it.
	if rest, next := lineAt(s, end); trimBlank(rest) == "" {
		end = next
	}
	switch name {
	case "code", "noformat":
		body = strings.TrimPrefix(body, "\n")
		body = strings.TrimSuffix(body, "\n")
		lang := ""
		if name == "code" {
			lang = codeLanguage(params)
		}
		return codeBlock(lang, body), end
	case "quote":
		kids := wikiBlocks(body, depth+1)
		if len(kids) == 0 {
			return nil, end
		}
		return &Node{Type: "blockquote", Content: kids}, end
	default: // panel
		kids := wikiBlocks(body, depth+1)
		if title := macroParam(params, "title"); title != "" {
			kids = append([]*Node{{Type: "paragraph", Content: runsToADF([]run{{text: title, marks: mStrong}})}}, kids...)
		}
		if len(kids) == 0 {
			return nil, end
		}
		return &Node{Type: "panel", Attrs: map[string]any{"panelType": "info"}, Content: kids}, end
	}
}

// codeLanguage reads the language of {code:java} or {code:language=java|...}.
func codeLanguage(params string) string {
	if params == "" {
		return ""
	}
	if v := macroParam(params, "language"); v != "" {
		return v
	}
	first := strings.SplitN(params, "|", 2)[0]
	if strings.Contains(first, "=") {
		return ""
	}
	return trimBlank(first)
}

func macroParam(params, key string) string {
	for _, p := range strings.Split(params, "|") {
		k, v, ok := strings.Cut(p, "=")
		if ok && strings.EqualFold(trimBlank(k), key) {
			return trimBlank(v)
		}
	}
	return ""
}

type wikiListItem struct {
	markers string
	text    string
}

// wikiLists builds lists from item lines; a change of marker at some depth
// starts a new list there, a deeper marker nests inside the last item.
func wikiLists(items []wikiListItem) []*Node {
	listType := func(c byte) string {
		if c == '#' {
			return "orderedList"
		}
		return "bulletList"
	}
	newList := func(c byte) *Node {
		n := &Node{Type: listType(c)}
		if c == '#' {
			n.Attrs = map[string]any{"order": 1}
		}
		return n
	}
	var roots, stack []*Node
	for _, it := range items {
		m := it.markers
		if len(m) > maxListDepth {
			m = m[:maxListDepth]
		}
		d := len(m)
		if len(stack) > d {
			stack = stack[:d]
		}
		for k := range stack {
			if stack[k].Type != listType(m[k]) {
				stack = stack[:k]
				break
			}
		}
		for len(stack) < d {
			k := len(stack)
			nl := newList(m[k])
			if k == 0 {
				roots = append(roots, nl)
			} else {
				parent := stack[k-1]
				if len(parent.Content) == 0 {
					parent.Content = append(parent.Content, &Node{Type: "listItem"})
				}
				last := parent.Content[len(parent.Content)-1]
				last.Content = append(last.Content, nl)
			}
			stack = append(stack, nl)
		}
		top := stack[d-1]
		top.Content = append(top.Content, &Node{Type: "listItem", Content: []*Node{{Type: "paragraph", Content: wikiInlineNodes(it.text)}}})
	}
	return roots
}

type rowCell struct {
	header bool
	text   string
}

// splitWikiRow cuts "||a||b||" or "|a|b|" into cells; a "|" inside a link
// or a {{monospace}} span, or escaped, does not separate cells.
func splitWikiRow(line string) []rowCell {
	var cells []rowCell
	i := 0
	// Once a search for "]" or "}}" fails, later ones on the line fail too.
	linkOpen, monoOpen := true, true
	for i < len(line) && line[i] == '|' {
		header := strings.HasPrefix(line[i:], "||")
		if header {
			i += 2
		} else {
			i++
		}
		j := i
	scan:
		for j < len(line) {
			switch {
			case line[j] == '\\':
				j += 2
			case line[j] == '|':
				break scan
			case line[j] == '[' && linkOpen:
				if k := indexUnescaped(line[j+1:], "]"); k >= 0 {
					j += k + 2
				} else {
					linkOpen = false
					j++
				}
			case strings.HasPrefix(line[j:], "{{") && monoOpen:
				if k := indexUnescaped(line[j+2:], "}}"); k >= 0 {
					j += k + 4
				} else {
					monoOpen = false
					j += 2
				}
			default:
				j++
			}
		}
		j = min(j, len(line))
		text := line[i:j]
		if j >= len(line) && trimBlank(text) == "" {
			break
		}
		cells = append(cells, rowCell{header, text})
		i = j
	}
	return cells
}

// indexUnescaped finds sub in s, skipping backslash escapes and stopping at
// the end of the line.
func indexUnescaped(s, sub string) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case s[i] == '\n':
			return -1
		case strings.HasPrefix(s[i:], sub):
			return i
		}
	}
	return -1
}

func wikiInlineNodes(s string) []*Node {
	return runsToADF(parseWikiInline(nil, s, 0, "", 0))
}

// wikiInlineParser reads inline wiki markup into runs.
type wikiInlineParser struct {
	s     string
	out   []run
	buf   strings.Builder
	marks markSet
	href  string
	depth int
	// noCloser remembers, per delimiter, a span [from, to) of the input in
	// which a search for a closing delimiter already failed: any opener in
	// it fails too, which keeps the parser linear on "*a *b *c ...".
	noCloser map[string][2]int
}

func parseWikiInline(out []run, s string, ms markSet, href string, depth int) []run {
	p := &wikiInlineParser{s: s, out: out, marks: ms, href: href, depth: depth}
	p.parse()
	return p.out
}

func (p *wikiInlineParser) flush() {
	if p.buf.Len() > 0 {
		p.out = append(p.out, run{text: p.buf.String(), marks: p.marks, href: p.href})
		p.buf.Reset()
	}
}

// find is indexUnescaped(p.s[from:], sub), remembering failures: when no
// sub follows from on its line, none follows any later start either.
func (p *wikiInlineParser) find(from int, sub string) int {
	if span, ok := p.noCloser[sub]; ok && from >= span[0] && from < span[1] {
		return -1
	}
	k := indexUnescaped(p.s[from:], sub)
	if k < 0 {
		lineEnd := len(p.s)
		if e := strings.IndexByte(p.s[from:], '\n'); e >= 0 {
			lineEnd = from + e
		}
		if p.noCloser == nil {
			p.noCloser = make(map[string][2]int)
		}
		p.noCloser[sub] = [2]int{from, lineEnd}
	}
	return k
}

func (p *wikiInlineParser) prevRune(i int) rune {
	if i == 0 {
		return -1
	}
	r, _ := utf8.DecodeLastRuneInString(p.s[:i])
	return r
}

func (p *wikiInlineParser) parse() {
	s := p.s
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && s[i+1] == '\\' {
				p.flush()
				p.out = append(p.out, run{brk: true})
				i += 2
				if i < len(s) && s[i] == '\n' {
					i++
				}
				continue
			}
			if i+1 < len(s) && isASCIIPunct(s[i+1]) {
				p.buf.WriteByte(s[i+1])
				i += 2
				continue
			}
		case '\n':
			p.flush()
			p.out = append(p.out, run{brk: true})
			i++
			continue
		case '&':
			if str, n := entityAt([]byte(s[i:min(len(s), i+40)])); n > 0 {
				p.buf.WriteString(str)
				i += n
				continue
			}
		case '{':
			if strings.HasPrefix(s[i:], "{{") {
				if k := p.find(i+2, "}}"); k > 0 {
					p.flush()
					p.out = append(p.out, run{text: unescapeWiki(s[i+2 : i+2+k]), marks: p.marks | mCode, href: p.href})
					i += k + 4
					continue
				}
			}
			if d := bracedDelim(s[i:]); d != "" {
				if n, ok := p.effect(i, d, true); ok {
					i = n
					continue
				}
			}
			if n, ok := p.color(i); ok {
				i = n
				continue
			}
		case '[':
			if n, ok := p.link(i); ok {
				i = n
				continue
			}
		case '!':
			if n, ok := p.image(i); ok {
				i = n
				continue
			}
		case '*', '_', '-', '+', '^', '~':
			if n, ok := p.effect(i, s[i:i+1], false); ok {
				i = n
				continue
			}
		case '?':
			if strings.HasPrefix(s[i:], "??") {
				if n, ok := p.effect(i, "??", false); ok {
					i = n
					continue
				}
			}
		case 'h', 'f', 'm', 'H', 'F', 'M':
			if n, ok := p.bareURL(i); ok {
				i = n
				continue
			}
		}
		p.buf.WriteByte(c)
		i++
	}
	p.flush()
}

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}

var wikiEffectBits = map[string]markSet{
	"*": mStrong, "_": mEm, "??": mEm, "-": mStrike, "+": mUnderline, "^": mSup, "~": mSub,
}

// bracedDelim recognises "{*}", "{_}", ... at the start of s.
func bracedDelim(s string) string {
	for d := range wikiEffectBits {
		if strings.HasPrefix(s, "{"+d+"}") {
			return d
		}
	}
	return ""
}

// effect tries to read a formatted span opening with delim at i. A plain
// opener needs no letter or digit before it and no space after it; a plain
// closer needs no space before it and no letter or digit after it; the
// braced forms need neither. Spans do not cross lines.
func (p *wikiInlineParser) effect(i int, delim string, braced bool) (int, bool) {
	s := p.s
	bit := wikiEffectBits[delim]
	if p.depth >= maxWikiInlineDepth || p.marks&bit != 0 {
		return 0, false
	}
	openLen := len(delim)
	if braced {
		openLen += 2
	}
	from := i + openLen
	if from >= len(s) {
		return 0, false
	}
	if !braced {
		if prev := p.prevRune(i); prev >= 0 && isAlnum(prev) {
			return 0, false
		}
		next, _ := utf8.DecodeRuneInString(s[from:])
		if unicode.IsSpace(next) || strings.HasPrefix(s[from:], delim) {
			return 0, false
		}
	}
	if span, ok := p.noCloser[delim]; ok && i >= span[0] && i < span[1] {
		return 0, false
	}
	lineEnd := len(s)
	if k := strings.IndexByte(s[from:], '\n'); k >= 0 {
		lineEnd = from + k
	}
	for j := from; j < lineEnd; j++ {
		if s[j] == '\\' {
			j++
			continue
		}
		if j == from {
			continue // the content is not empty
		}
		closeLen := 0
		switch {
		case strings.HasPrefix(s[j:], "{"+delim+"}"):
			closeLen = len(delim) + 2
		case strings.HasPrefix(s[j:], delim):
			prev := p.prevRune(j)
			next, _ := utf8.DecodeRuneInString(s[j+len(delim):])
			if j+len(delim) >= len(s) {
				next = -1
			}
			if !unicode.IsSpace(prev) && (next < 0 || !isAlnum(next)) {
				closeLen = len(delim)
			}
		}
		if closeLen == 0 {
			continue
		}
		p.flush()
		p.out = parseWikiInline(p.out, s[from:j], p.marks|bit, p.href, p.depth+1)
		return j + closeLen, true
	}
	if p.noCloser == nil {
		p.noCloser = make(map[string][2]int)
	}
	p.noCloser[delim] = [2]int{i, lineEnd}
	return 0, false
}

// color reads {color:red}text{color}; vulnsync keeps the text.
func (p *wikiInlineParser) color(i int) (int, bool) {
	s := p.s
	if !strings.HasPrefix(s[i:], "{color") || p.depth >= maxWikiInlineDepth {
		return 0, false
	}
	tagEnd := strings.IndexByte(s[i:], '}')
	if tagEnd < 0 {
		return 0, false
	}
	from := i + tagEnd + 1
	k := p.find(from, "{color}")
	if k < 0 {
		return 0, false
	}
	p.flush()
	p.out = parseWikiInline(p.out, s[from:from+k], p.marks, p.href, p.depth+1)
	return from + k + len("{color}"), true
}

// link reads [text|url], [url], [~user] (a mention), [^attachment] and
// [#anchor]. Targets that are not URLs (issue keys, page names) keep only
// their text.
func (p *wikiInlineParser) link(i int) (int, bool) {
	s := p.s
	k := p.find(i+1, "]")
	if k <= 0 {
		return 0, false
	}
	inner := s[i+1 : i+1+k]
	end := i + k + 2
	p.flush()
	parts := splitUnescaped(inner, '|')
	switch inner[0] {
	case '~':
		if len(parts) > 1 {
			break
		}
		id := strings.TrimPrefix(inner[1:], "accountid:")
		if id == "" {
			return 0, false
		}
		p.out = append(p.out, run{atom: &Node{Type: "mention", Attrs: map[string]any{"id": id, "text": "@" + id}}})
		return end, true
	case '^', '#':
		if len(parts) > 1 {
			break
		}
		p.out = append(p.out, run{text: unescapeWiki(inner[1:]), marks: p.marks, href: p.href})
		return end, true
	}
	text, target := "", unescapeWiki(trimBlank(parts[0]))
	if len(parts) > 1 {
		text, target = parts[0], unescapeWiki(trimBlank(parts[1]))
	}
	href := target
	if p.href != "" || p.depth >= maxWikiInlineDepth || (!isURL(target) && (len(parts) == 1 || isIssueKey(target) || !isRelativeTarget(target))) {
		href = p.href
	}
	if text == "" {
		p.out = append(p.out, run{text: target, marks: p.marks, href: href})
		return end, true
	}
	p.out = parseWikiInline(p.out, text, p.marks, href, p.depth+1)
	return end, true
}

func splitUnescaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// isURL reports whether a link target is an absolute URL.
func isURL(u string) bool {
	if strings.HasPrefix(strings.ToLower(u), "mailto:") {
		return len(u) > len("mailto:") && !strings.ContainsAny(u, " \t\n\r")
	}
	k := strings.Index(u, "://")
	if k <= 0 {
		return false
	}
	for j := 0; j < k; j++ {
		c := u[j]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '.' || c == '-')) {
			return false
		}
	}
	if len(u) <= k+3 {
		return false
	}
	for i := 0; i < len(u); i++ {
		if u[i] <= ' ' || u[i] == 0x7f {
			return false
		}
	}
	return true
}

// image reads !file.png! or !file.png|thumbnail!; vulnsync has no media to
// attach it to, so it keeps the name (linked when it is a URL).
func (p *wikiInlineParser) image(i int) (int, bool) {
	s := p.s
	k := strings.IndexAny(s[i+1:], "!\n")
	if k <= 0 || s[i+1+k] != '!' {
		return 0, false
	}
	content := s[i+1 : i+1+k]
	if trimBlank(content) != content || strings.ContainsAny(content, "[]{}") {
		return 0, false
	}
	name, _, _ := strings.Cut(content, "|")
	if name == "" {
		return 0, false
	}
	p.flush()
	href := p.href
	if isURL(name) && href == "" {
		href = name
	}
	p.out = append(p.out, run{text: name, marks: p.marks, href: href})
	return i + k + 2, true
}

// bareURL reads a URL written as plain text, which Jira turns into a link.
func (p *wikiInlineParser) bareURL(i int) (int, bool) {
	s := p.s
	if p.href != "" {
		return 0, false
	}
	if prev := p.prevRune(i); prev >= 0 && isAlnum(prev) {
		return 0, false
	}
	rest := s[i:]
	lower := strings.ToLower(rest[:min(len(rest), 8)])
	ok := false
	for _, scheme := range []string{"http://", "https://", "ftp://", "mailto:"} {
		if strings.HasPrefix(lower, scheme) {
			ok = true
		}
	}
	if !ok {
		return 0, false
	}
	j := 0
	for j < len(rest) && rest[j] > ' ' && rest[j] != 0x7f && !strings.ContainsRune("|[]{}<>\"\\", rune(rest[j])) {
		j++
	}
	u := strings.TrimRight(rest[:j], ".,;:!?'")
	if strings.HasSuffix(u, ")") && !strings.Contains(u, "(") {
		u = strings.TrimRight(u, ")")
	}
	if !isURL(u) {
		return 0, false
	}
	p.flush()
	p.out = append(p.out, run{text: u, marks: p.marks, href: u})
	return i + len(u), true
}

// unescapeWiki resolves backslash escapes and entities in text taken as is
// ({{monospace}}, link targets).
func unescapeWiki(s string) string {
	if !strings.ContainsAny(s, "\\&") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]):
			b.WriteByte(s[i+1])
			i++
		case c == '&':
			if str, n := entityAt([]byte(s[i:min(len(s), i+40)])); n > 0 {
				b.WriteString(str)
				i += n - 1
			} else {
				b.WriteByte(c)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// isIssueKey reports whether a link target is a Jira issue key (ABC-123),
// which Jira links itself and vulnsync keeps as text.
func isIssueKey(s string) bool {
	dash := strings.LastIndexByte(s, '-')
	if dash < 1 || dash == len(s)-1 {
		return false
	}
	for i := 0; i < dash; i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '_')) {
			return false
		}
	}
	for i := dash + 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isRelativeTarget reports whether a link target that is not an absolute URL
// can still be kept as a link (a path, a page name): one word, no controls.
func isRelativeTarget(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] == 0x7f {
			return false
		}
	}
	return true
}

// trimBlank trims spaces and tabs, the blanks of wiki markup (and of
// Markdown: a form feed is text to both).
func trimBlank(s string) string { return strings.Trim(s, " \t") }
