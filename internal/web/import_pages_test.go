package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// TestImportForm imports a report through the target page: the counts come
// back as a flash and in the list of imports; a truncated report shows the
// place of the problem and imports nothing.
func TestImportForm(t *testing.T) {
	e := newEnv(t, envOptions{maxUpload: 1 << 20})
	b := e.browser()
	b.signIn()
	tok := b.csrf("/targets")
	a := b.post("/targets", url.Values{"csrf_token": {tok}, "name": {"payments"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("create target: got %d", a.status)
	}
	tpath := a.header.Get("Location")
	report, err := os.ReadFile("../scanreport/testdata/gosec.sarif")
	if err != nil {
		t.Fatal(err)
	}
	send := func(fields map[string]string, content []byte) answer {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("csrf_token", tok)
		for k, v := range fields {
			_ = mw.WriteField(k, v)
		}
		fw, _ := mw.CreateFormFile("file", "gosec.sarif")
		_, _ = fw.Write(content)
		_ = mw.Close()
		req, _ := http.NewRequest("POST", e.srv.URL+tpath+"/imports", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return b.do(req)
	}
	page := b.get(tpath)
	if !strings.Contains(page.body, `action="`+tpath+`/imports"`) || !strings.Contains(page.body, `data-progress="import-progress"`) || !strings.Contains(page.body, "No imports yet.") {
		t.Fatalf("target page has no import form")
	}
	if a := send(map[string]string{"format": "sarif"}, report[:len(report)/2]); a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "line ") || !strings.Contains(a.body, "truncated") {
		t.Errorf("truncated report: got %d; body lacks the place of the problem: %s", a.status, a.body)
	}
	if a := send(map[string]string{"format": "burp"}, report); a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "sarif, zap, nuclei, trivy, csv") {
		t.Errorf("unknown format: got %d", a.status)
	}
	a = send(map[string]string{"format": "sarif", "close_missing": "true"}, report)
	if a.status != http.StatusSeeOther {
		t.Fatalf("import: got %d; body %.500s", a.status, a.body)
	}
	page = b.get(a.header.Get("Location"))
	for _, want := range []string{"Imported gosec.sarif (gosec, 11 findings): 21 created, 0 updated, 0 reopened, 0 closed, 0 unchanged.", "gosec (full)", "G701: SQL injection"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("target page after the import lacks %q", want)
		}
	}
	// Overdue: one item past its due date is the only one the filter keeps.
	tid := strings.TrimPrefix(tpath, "/targets/")
	page0, err := e.svc.ListItems(context.Background(), store.ItemFilter{TargetID: tid, Limit: 1})
	if err != nil || len(page0.Items) != 1 {
		t.Fatalf("list items: %v", err)
	}
	late := page0.Items[0]
	if _, err := e.svc.UpdateItem(context.Background(), service.System, late.ID, tracker.Patch{Fields: map[string]any{"due_date": "2001-02-03"}}); err != nil {
		t.Fatal(err)
	}
	page = b.get(tpath + "?overdue=true")
	if n := strings.Count(page.body, `class="item-title"`); n != 1 || !strings.Contains(page.body, `title="due 2001-02-03">overdue</span>`) || !strings.Contains(page.body, late.Title) {
		t.Errorf("overdue filter shows %d items; want only %q marked overdue", n, late.Title)
	}
	ims, err := e.svc.ListImports(context.Background(), tid, "", 0)
	if err != nil || len(ims) != 1 {
		t.Errorf("imports recorded: %d, %v; want only the good one", len(ims), err)
	}
}
