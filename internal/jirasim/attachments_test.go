package jirasim

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

// multipartBody builds an upload with one "file" part per name.
func multipartBody(t *testing.T, files map[string][]byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for name, data := range files {
		w, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatalf("create part: %v", err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatalf("write part: %v", err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatalf("close multipart: %v", err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

func TestAttachments(t *testing.T) {
	e := newEnv(t, envOpts{cfg: Config{MaxAttachmentBytes: 1024}})
	key := e.admin.createIssue("Task", "a", nil)
	body, ct := multipartBody(t, map[string][]byte{"report.txt": []byte("hello")})

	r := e.admin.do("POST", "issue/"+key+"/attachments", body, "Content-Type", ct)
	if r.status != http.StatusForbidden || strings.TrimSpace(string(r.body)) != "XSRF check failed" {
		t.Errorf("upload without X-Atlassian-Token: got %d %q, want 403 XSRF check failed", r.status, r.body)
	}
	list := e.admin.must(http.StatusOK, "POST", "issue/"+key+"/attachments", body, "Content-Type", ct, "X-Atlassian-Token", "no-check").list(t)
	if len(list) != 1 || get(list, 0, "filename") != "report.txt" || get(list, 0, "size") != 5.0 || get(list, 0, "mimeType") != "text/plain" {
		t.Fatalf("uploaded: %v", list)
	}
	id := get(list, 0, "id").(string)
	meta := e.admin.must(http.StatusOK, "GET", "attachment/"+id, nil).json(t)
	if meta["id"] != 10000.0 || get(meta, "author", "accountId") != "5b10ac8d82e05b22cc7d4ef5" {
		t.Errorf("attachment metadata (numeric id, author): %v", meta)
	}
	redirect := e.admin.must(http.StatusSeeOther, "GET", "attachment/content/"+id, nil)
	loc := redirect.header.Get("Location")
	// Cloud redirects to a media host: here the other loopback name of
	// the simulator's address, which serves the bytes by the token in the
	// URL, without the Authorization header.
	wantHost := strings.Replace(e.url, "127.0.0.1", "localhost", 1)
	if !strings.HasPrefix(loc, wantHost+"/file/"+id+"/binary?") || !strings.Contains(loc, "token=") {
		t.Fatalf("content redirect: Location %q, want the media host %s", loc, wantHost)
	}
	media := &client{t: t, hc: http.DefaultClient}
	content := media.must(http.StatusOK, "GET", loc, nil)
	if string(content.body) != "hello" {
		t.Errorf("content: got %q, want hello", content.body)
	}
	if c := e.sim.Counters().Media; c.Requests != 1 || c.WithAuthorization != 0 {
		t.Errorf("media counters after an anonymous fetch: %+v", c)
	}
	// A client that carries its credentials to the media host is counted.
	e.admin.must(http.StatusOK, "GET", loc, nil)
	if c := e.sim.Counters().Media; c.Requests != 2 || c.WithAuthorization != 1 {
		t.Errorf("media counters after a fetch with Authorization: %+v", c)
	}
	// Tokens are short-lived and cannot be forged.
	media.must(http.StatusUnauthorized, "GET", strings.Replace(loc, "token=", "token=1", 1), nil)
	e.clock.Advance(11 * time.Minute)
	media.must(http.StatusUnauthorized, "GET", loc, nil)
	direct := e.admin.must(http.StatusOK, "GET", "attachment/content/"+id+"?redirect=false", nil)
	if string(direct.body) != "hello" {
		t.Errorf("content without redirect: got %q", direct.body)
	}

	big, bct := multipartBody(t, map[string][]byte{"big.bin": bytes.Repeat([]byte("x"), 1025)})
	r = e.admin.do("POST", "issue/"+key+"/attachments", big, "Content-Type", bct, "X-Atlassian-Token", "no-check")
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("over the limit: got %d, want 413", r.status)
	}
	is := e.admin.must(http.StatusOK, "GET", "issue/"+key+"?fields=attachment&expand=changelog", nil).json(t)
	if n := len(get(is, "fields", "attachment").([]any)); n != 1 {
		t.Errorf("attachments after a refused upload: got %d, want 1", n)
	}
	if get(is, "changelog", "histories", 0, "items", 0, "field") != "Attachment" {
		t.Errorf("attachment changelog: %v", get(is, "changelog"))
	}
	e.admin.must(http.StatusNotFound, "POST", "issue/SEC-99/attachments", body, "Content-Type", ct, "X-Atlassian-Token", "no-check")
	e.admin.must(http.StatusNotFound, "GET", "attachment/99999", nil)
}
