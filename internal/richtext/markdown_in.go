package richtext

import (
	"bytes"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// mdParser is CommonMark plus the GitHub extensions vulnsync's users expect:
// tables, ~~strikethrough~~ and bare URLs as links. Task lists are left out
// (ADF task items need ids Jira assigns). goldmark parsers hold no per-call
// state, so one serves every goroutine.
var mdParser parser.Parser = goldmark.New(goldmark.WithExtensions(
	extension.Table, extension.Strikethrough, extension.Linkify,
)).Parser()

func markdownToADF(md string) *Node {
	// CommonMark line endings are \n, \r\n and a lone \r; goldmark splits
	// on \n only.
	md = strings.ReplaceAll(md, "\r\n", "\n")
	md = strings.ReplaceAll(md, "\r", "\n")
	// CommonMark replaces NUL with U+FFFD; do it before raw HTML sees it.
	md = strings.ReplaceAll(md, "\x00", "\uFFFD")
	src := []byte(md)
	root := mdParser.Parse(text.NewReader(src))
	c := &mdConv{src: src}
	doc := &Node{Type: "doc", Version: 1, Content: c.blocks(root)}
	return sanitizeDoc(doc)
}

// mdConv walks goldmark's AST and builds a naive ADF tree; sanitizeDoc then
// applies ADF's nesting rules.
type mdConv struct {
	src []byte
}

func (c *mdConv) blocks(parent ast.Node) []*Node {
	var out []*Node
	for n := parent.FirstChild(); n != nil; n = n.NextSibling() {
		out = append(out, c.block(n)...)
	}
	return out
}

func (c *mdConv) block(n ast.Node) []*Node {
	switch n := n.(type) {
	case *ast.Paragraph, *ast.TextBlock:
		return []*Node{{Type: "paragraph", Content: c.inlines(n)}}
	case *ast.Heading:
		return []*Node{{Type: "heading", Attrs: map[string]any{"level": n.Level}, Content: c.inlines(n)}}
	case *ast.ThematicBreak:
		return []*Node{{Type: "rule"}}
	case *ast.FencedCodeBlock:
		lang := ""
		if n.Info != nil {
			lang = unescapeMarkdown(n.Language(c.src))
		}
		return []*Node{codeBlock(lang, c.lines(n))}
	case *ast.CodeBlock:
		return []*Node{codeBlock("", c.lines(n))}
	case *ast.Blockquote:
		return []*Node{{Type: "blockquote", Content: c.blocks(n)}}
	case *ast.List:
		list := &Node{Type: "bulletList"}
		if n.IsOrdered() {
			list.Type = "orderedList"
			list.Attrs = map[string]any{"order": n.Start}
		}
		for item := n.FirstChild(); item != nil; item = item.NextSibling() {
			list.Content = append(list.Content, &Node{Type: "listItem", Content: c.blocks(item)})
		}
		return []*Node{list}
	case *ast.HTMLBlock:
		// Jira renders no HTML: keep the markup as literal text.
		var rs []run
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			rs = textRuns(rs, string(seg.Value(c.src)), 0, "")
		}
		if n.HasClosure() {
			rs = textRuns(rs, string(n.ClosureLine.Value(c.src)), 0, "")
		}
		return []*Node{{Type: "paragraph", Content: runsToADF(rs)}}
	case *east.Table:
		return []*Node{c.table(n)}
	}
	if n.HasChildren() {
		return c.blocks(n)
	}
	return nil
}

func (c *mdConv) table(n *east.Table) *Node {
	tbl := &Node{Type: "table"}
	cols := 0
	for row := n.FirstChild(); row != nil; row = row.NextSibling() {
		cellType := "tableCell"
		if _, ok := row.(*east.TableHeader); ok {
			cellType = "tableHeader"
		}
		r := &Node{Type: "tableRow"}
		for cell := row.FirstChild(); cell != nil; cell = cell.NextSibling() {
			if cols > 0 && len(r.Content) == cols {
				break
			}
			r.Content = append(r.Content, &Node{Type: cellType, Content: []*Node{{Type: "paragraph", Content: c.inlines(cell)}}})
		}
		if cols == 0 {
			cols = len(r.Content)
		}
		for len(r.Content) < cols {
			r.Content = append(r.Content, &Node{Type: cellType, Content: []*Node{{Type: "paragraph"}}})
		}
		tbl.Content = append(tbl.Content, r)
	}
	return tbl
}

func (c *mdConv) lines(n ast.Node) string {
	var b strings.Builder
	lines := n.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		b.Write(seg.Value(c.src))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func codeBlock(lang, code string) *Node {
	n := &Node{Type: "codeBlock"}
	lang = languageName(lang)
	if lang != "" {
		n.Attrs = map[string]any{"language": lang}
	}
	code = strings.ReplaceAll(code, "\r", "")
	if code != "" {
		n.Content = []*Node{{Type: "text", Text: code}}
	}
	return n
}

func (c *mdConv) inlines(parent ast.Node) []*Node {
	return runsToADF(c.inline(nil, parent, 0, ""))
}

// inline collects the runs under parent, carrying the marks and link of the
// enclosing emphasis and link nodes.
func (c *mdConv) inline(out []run, parent ast.Node, ms markSet, href string) []run {
	for n := parent.FirstChild(); n != nil; n = n.NextSibling() {
		switch n := n.(type) {
		case *ast.Text:
			v := n.Segment.Value(c.src)
			s := string(v)
			if !n.IsRaw() {
				s = unescapeMarkdown(v)
			}
			if n.SoftLineBreak() {
				s = strings.TrimRight(s, " \t") + " "
			}
			out = textRuns(out, s, ms, href)
			if n.HardLineBreak() {
				out = append(out, run{brk: true})
			}
		case *ast.String:
			s := string(n.Value)
			if !n.IsRaw() && !n.IsCode() {
				s = unescapeMarkdown(n.Value)
			}
			out = textRuns(out, s, ms, href)
		case *ast.CodeSpan:
			var b bytes.Buffer
			for t := n.FirstChild(); t != nil; t = t.NextSibling() {
				if tt, ok := t.(*ast.Text); ok {
					v := tt.Segment.Value(c.src)
					if bytes.HasSuffix(v, []byte("\n")) {
						v = append(v[:len(v)-1:len(v)-1], ' ')
					}
					b.Write(v)
				} else if s, ok := t.(*ast.String); ok {
					b.Write(s.Value)
				}
			}
			out = append(out, run{text: b.String(), marks: ms | mCode, href: href})
		case *ast.Emphasis:
			bit := mEm
			if n.Level >= 2 {
				bit = mStrong
			}
			out = c.inline(out, n, ms|bit, href)
		case *east.Strikethrough:
			out = c.inline(out, n, ms|mStrike, href)
		case *ast.Link:
			dest := unescapeMarkdown(n.Destination)
			before := len(out)
			out = c.inline(out, n, ms, dest)
			if len(out) == before {
				out = append(out, run{text: dest, marks: ms, href: dest})
			}
		case *ast.AutoLink:
			label := string(n.Label(c.src))
			u := string(n.URL(c.src))
			if n.AutoLinkType == ast.AutoLinkEmail && !strings.HasPrefix(strings.ToLower(u), "mailto:") {
				u = "mailto:" + u
			}
			out = append(out, run{text: label, marks: ms, href: u})
		case *ast.Image:
			// ADF has no inline image that needs no upload: link to it.
			dest := unescapeMarkdown(n.Destination)
			alt := strings.TrimSpace(plainText(c.inline(nil, n, 0, "")))
			if alt == "" {
				alt = dest
			}
			link := href
			if link == "" {
				link = dest
			}
			out = textRuns(out, alt, ms, link)
		case *ast.RawHTML:
			var b strings.Builder
			for i := 0; i < n.Segments.Len(); i++ {
				seg := n.Segments.At(i)
				b.Write(seg.Value(c.src))
			}
			raw := b.String()
			if isBreakTag(raw) {
				out = append(out, run{brk: true})
			} else {
				out = append(out, run{text: strings.ReplaceAll(raw, "\n", " "), marks: ms, href: href})
			}
		default:
			if n.HasChildren() {
				out = c.inline(out, n, ms, href)
			}
		}
	}
	return out
}

func plainText(rs []run) string {
	var b strings.Builder
	for _, r := range rs {
		if r.brk {
			b.WriteByte(' ')
		}
		b.WriteString(r.text)
	}
	return b.String()
}

// isBreakTag reports whether raw HTML is a <br> tag, the usual way to break
// a line inside a GFM table cell; it becomes an ADF hardBreak.
func isBreakTag(raw string) bool {
	s := strings.ToLower(strings.Join(strings.Fields(raw), ""))
	return s == "<br>" || s == "<br/>"
}

// unescapeMarkdown resolves backslash escapes and entity references the way
// CommonMark does for text, link destinations and info strings.
func unescapeMarkdown(v []byte) string {
	if bytes.IndexAny(v, "\\&\x00") < 0 {
		return string(v)
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		ch := v[i]
		switch {
		case ch == '\\' && i+1 < len(v) && util.IsPunct(v[i+1]):
			b.WriteByte(v[i+1])
			i++
		case ch == '&':
			if s, n := entityAt(v[i:]); n > 0 {
				b.WriteString(s)
				i += n - 1
			} else {
				b.WriteByte('&')
			}
		case ch == 0:
			b.WriteString("\uFFFD")
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// entityAt decodes an HTML entity reference at the start of v, returning the
// characters and the length consumed (0 when there is none).
func entityAt(v []byte) (string, int) {
	if len(v) < 3 || v[0] != '&' {
		return "", 0
	}
	end := bytes.IndexByte(v[:min(len(v), 40)], ';')
	if end < 2 {
		return "", 0
	}
	body := v[1:end]
	if body[0] == '#' {
		num := body[1:]
		base, maxLen := 10, 7
		if len(num) > 0 && (num[0] == 'x' || num[0] == 'X') {
			num, base, maxLen = num[1:], 16, 6
		}
		if len(num) == 0 || len(num) > maxLen {
			return "", 0
		}
		var r rune
		for _, d := range num {
			var x rune
			switch {
			case d >= '0' && d <= '9':
				x = rune(d - '0')
			case base == 16 && d >= 'a' && d <= 'f':
				x = rune(d-'a') + 10
			case base == 16 && d >= 'A' && d <= 'F':
				x = rune(d-'A') + 10
			default:
				return "", 0
			}
			r = r*rune(base) + x
		}
		return string(util.ToValidRune(r)), end + 1
	}
	for _, ch := range body {
		if !util.IsAlphaNumeric(ch) {
			return "", 0
		}
	}
	if e, ok := util.LookUpHTML5EntityByName(string(body)); ok {
		return string(e.Characters), end + 1
	}
	return "", 0
}

// languageName keeps the part of a code block's language that all three
// formats can carry: letters, digits and "+#_.-" ("c++", "objective-c").
func languageName(lang string) string {
	for i := 0; i < len(lang); i++ {
		c := lang[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+#_.-", c) >= 0) {
			return lang[:i]
		}
	}
	return lang
}
