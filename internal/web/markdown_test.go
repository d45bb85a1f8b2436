package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

func TestRenderMarkdownIsSafe(t *testing.T) {
	cases := []struct {
		in        string
		want      []string // in the output
		forbidden []string // never in the output
	}{
		{"**Impact:** full read access.\n\n```\nGET /search?q=x'--\n```", []string{"<strong>Impact:</strong>", "<pre><code>GET /search?q=x&#39;--\n</code></pre>"}, nil},
		{"<script>alert(1)</script>", []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}, []string{"<script", "alert(1)</script>"}},
		{"before <script>alert(1)</script> after", []string{"before &lt;script&gt;alert(1)&lt;/script&gt; after"}, []string{"<script"}},
		{"[click](javascript:alert(1))", []string{"click"}, []string{"javascript:", "href=\"javascript"}},
		{"[click](JaVaScRiPt:alert(1))", nil, []string{"avascript:", "alert(1)\""}},
		{"<a href=\"javascript:alert(1)\">x</a>", []string{"&lt;a href=&#34;javascript:alert(1)&#34;&gt;x&lt;/a&gt;"}, []string{"<a href"}},
		{"![x](https://example.test/x.png \"t\") <img src=x onerror=alert(2)>", []string{"&lt;img src=x onerror=alert(2)&gt;"}, []string{"<img src=x", "onerror=\""}},
		{"[OWASP](https://owasp.org/Top10/)", []string{`href="https://owasp.org/Top10/"`, `rel="nofollow noreferrer noopener"`, `target="_blank"`}, nil},
		{"| a | b |\n|---|---|\n| 1 | 2 |", []string{"<table>", "<td>1</td>"}, nil},
	}
	for _, c := range cases {
		got := string(renderMarkdown(c.in))
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("markdown %q rendered %q: lacks %q", c.in, got, w)
			}
		}
		for _, f := range c.forbidden {
			if strings.Contains(strings.ToLower(got), strings.ToLower(f)) {
				t.Errorf("markdown %q rendered %q: contains %q", c.in, got, f)
			}
		}
	}
}

func TestItemPageRendersMarkdownSafely(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	tg, err := e.svc.CreateTarget(ctx, tracker.Target{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	it, err := e.svc.CreateItem(ctx, service.System, tg.ID, tracker.NewItem{Kind: "vulnerability", Title: "XSS", Severity: "high",
		Description: "Reviews run **script**: <script>alert(1)</script>\n\n[proof](javascript:alert(document.cookie))"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddComment(ctx, service.System, it.ID, "Retested: _still open_. <img src=x onerror=alert(2)>"); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn()
	a := b.get("/items/" + it.ID)
	if a.status != http.StatusOK {
		t.Fatalf("item page: %d", a.status)
	}
	for _, w := range []string{"Reviews run <strong>script</strong>: &lt;script&gt;alert(1)&lt;/script&gt;", "Retested: <em>still open</em>. &lt;img src=x onerror=alert(2)&gt;"} {
		if !strings.Contains(a.body, w) {
			t.Errorf("the page lacks the rendered %q", w)
		}
	}
	// (The history shows the raw text, escaped: look for markup only.)
	for _, f := range []string{"<script>alert", `href="javascript`, "<img src=x onerror"} {
		if strings.Contains(a.body, f) {
			t.Errorf("the page contains %q", f)
		}
	}
}
