package web

import (
	"bytes"
	"html/template"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// Item descriptions and comments are Markdown (they come from people, from
// scanner reports and from Jira). They are rendered with goldmark (GitHub
// flavoured: tables, strikethrough, autolinks, task lists), which already
// leaves raw HTML out and drops dangerous link destinations, and the result
// passes bluemonday's policy for user-generated content before the
// template may trust it: two independent layers, so a parser bug alone
// cannot put script on the page.
var (
	mdRenderer = goldmark.New(goldmark.WithExtensions(extension.GFM))
	mdPolicy   = func() *bluemonday.Policy {
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
