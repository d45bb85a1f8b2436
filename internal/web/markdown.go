package web

import (
	"bytes"
	"html/template"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"
)

// Item descriptions and comments are Markdown (they come from people, from
// scanner reports and from Jira). They are rendered with goldmark (GitHub
// flavoured: tables, strikethrough, autolinks, task lists), which drops
// dangerous link destinations; raw HTML in the text is shown as the text it
// is (a report's payload must stay readable, never run nor vanish), and the
// result passes bluemonday's policy for user-generated content before the
// template may trust it: two independent layers, so a parser bug alone
// cannot put script on the page.
var (
	mdRenderer = goldmark.New(goldmark.WithExtensions(extension.GFM),
		goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(rawHTMLAsText{}, 100))))
	mdPolicy = func() *bluemonday.Policy {
		p := bluemonday.UGCPolicy()
		p.RequireNoReferrerOnLinks(true)
		p.AddTargetBlankToFullyQualifiedLinks(true)
		p.AllowAttrs("class").Matching(bluemonday.SpaceSeparatedTokens).OnElements("code")
		return p
	}()
)

// renderMarkdown turns Markdown into sanitised HTML; text that cannot be
// rendered is shown escaped, as written.
func renderMarkdown(src string) template.HTML {
	var buf bytes.Buffer
	if err := mdRenderer.Convert([]byte(src), &buf); err != nil {
		return template.HTML("<pre class=\"prose\">" + template.HTMLEscapeString(src) + "</pre>")
	}
	return template.HTML(mdPolicy.SanitizeBytes(buf.Bytes())) //nolint:gosec // sanitised by bluemonday just above
}

// rawHTMLAsText renders HTML written in Markdown as escaped text: inline
// HTML inline, an HTML block as a code block. Registered with a lower
// priority value than goldmark's HTML renderer (1000), it takes precedence over
// goldmark's renderer, which would leave "raw HTML omitted".
type rawHTMLAsText struct{}

// RegisterFuncs implements renderer.NodeRenderer.
func (rawHTMLAsText) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindRawHTML, func(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			segs := node.(*ast.RawHTML).Segments
			for i := range segs.Len() {
				seg := segs.At(i)
				template.HTMLEscape(w, seg.Value(source))
			}
		}
		return ast.WalkSkipChildren, nil
	})
	reg.Register(ast.KindHTMLBlock, func(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		n := node.(*ast.HTMLBlock)
		if entering {
			_, _ = w.WriteString("<pre><code>")
			for i := range n.Lines().Len() {
				line := n.Lines().At(i)
				template.HTMLEscape(w, line.Value(source))
			}
			return ast.WalkContinue, nil
		}
		if n.HasClosure() {
			template.HTMLEscape(w, n.ClosureLine.Value(source))
		}
		_, _ = w.WriteString("</code></pre>\n")
		return ast.WalkContinue, nil
	})
}
