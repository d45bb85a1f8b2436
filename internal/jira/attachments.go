package jira

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"unicode"
)

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func checkFilename(name string) error {
	if name == "" || len(name) > 255 {
		return invalidf("attachment filename must be 1 to 255 bytes")
	}
	if strings.ContainsFunc(name, func(r rune) bool { return unicode.IsControl(r) || r == '/' || r == '\\' }) {
		return invalidf("attachment filename %q has control characters or path separators", name)
	}
	return nil
}

// AddAttachment uploads a file to an issue (multipart part "file", with
// the X-Atlassian-Token: no-check header Jira's XSRF protection demands).
// The content is buffered, up to the client's MaxUploadBytes, so that a
// 429 can be retried; beyond that it fails with a *TooLargeError. Like
// other POSTs it is not retried after an unknown outcome.
func (c *Client) AddAttachment(ctx context.Context, key, filename, contentType string, r io.Reader) ([]Attachment, error) {
	if err := checkKey("issue", key); err != nil {
		return nil, fmt.Errorf("add attachment: %w", err)
	}
	if err := checkFilename(filename); err != nil {
		return nil, fmt.Errorf("add attachment to %s: %w", key, err)
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, quoteEscaper.Replace(filename)))
	h.Set("Content-Type", contentType)
	part, err := mw.CreatePart(h)
	if err != nil {
		return nil, fmt.Errorf("add attachment to %s: %w", key, err)
	}
	n, err := io.Copy(part, io.LimitReader(r, c.maxUpload+1))
	if err != nil {
		return nil, fmt.Errorf("add attachment to %s: read content: %w", key, err)
	}
	if n > c.maxUpload {
		return nil, fmt.Errorf("add attachment to %s: %w", key, &TooLargeError{What: "attachment " + filename, Limit: c.maxUpload, Size: -1})
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("add attachment to %s: %w", key, err)
	}
	req, err := c.NewRequest(ctx, http.MethodPost, "issue/"+esc(key)+"/attachments", bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, fmt.Errorf("add attachment to %s: %w", key, err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Atlassian-Token", "no-check")
	var out []Attachment
	if _, err := c.Do(req, &out); err != nil {
		return nil, fmt.Errorf("add attachment %s to %s: %w", filename, key, err)
	}
	return out, nil
}

// AttachmentContent is a downloaded attachment.
type AttachmentContent struct {
	ContentType string
	Data        []byte
}

// maxAttachmentRedirects bounds the redirects followed for one download.
const maxAttachmentRedirects = 5

// DownloadAttachment fetches an attachment's bytes, given its content URL
// (which must be on the connection's site: credentials are never sent
// elsewhere) or its id. Content over max bytes fails with a *TooLargeError
// so the caller can record a link instead (G7).
//
// Jira Cloud answers the content URL with 303 to a media host. Redirects
// are followed by the client itself, not by the HTTP client: a redirect on
// the site (same scheme, host and port) is sent with credentials, one to
// any other origin without the Authorization header and without cookies.
func (c *Client) DownloadAttachment(ctx context.Context, urlOrID string, max int64) (*AttachmentContent, error) {
	if max <= 0 {
		return nil, fmt.Errorf("download attachment: %w", invalidf("max must be positive"))
	}
	path, err := c.attachmentPath(ctx, urlOrID)
	if err != nil {
		return nil, fmt.Errorf("download attachment %s: %w", urlOrID, err)
	}
	for range maxAttachmentRedirects + 1 {
		req, err := c.newRequest(ctx, http.MethodGet, path, nil)
		if err != nil {
			return nil, fmt.Errorf("download attachment %s: %w", urlOrID, err)
		}
		req.Header.Set("Accept", "*/*")
		req = req.WithContext(context.WithValue(req.Context(), noRedirectKey, true))
		var buf bytes.Buffer
		resp, err := c.do(req, &buf, max)
		var rd *redirectError
		switch {
		case errors.As(err, &rd):
			loc, lerr := req.URL.Parse(rd.Location)
			if lerr != nil || rd.Location == "" {
				return nil, fmt.Errorf("download attachment %s: redirect to %q: bad location", urlOrID, rd.Location)
			}
			if sameOrigin(loc, c.base) && strings.HasPrefix(loc.EscapedPath(), c.base.EscapedPath()) {
				path = strings.TrimPrefix(loc.EscapedPath(), c.base.EscapedPath())
				if loc.RawQuery != "" {
					path += "?" + loc.RawQuery
				}
				continue
			}
			return c.downloadForeign(ctx, urlOrID, loc, max)
		case err != nil:
			return nil, fmt.Errorf("download attachment %s: %w", urlOrID, err)
		}
		return &AttachmentContent{ContentType: resp.Header.Get("Content-Type"), Data: buf.Bytes()}, nil
	}
	return nil, fmt.Errorf("download attachment %s: more than %d redirects", urlOrID, maxAttachmentRedirects)
}

// sameOrigin compares scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

// downloadForeign fetches content from another origin (Cloud's media host)
// without credentials or cookies: the signed redirect URL is the only
// authority it needs. Further redirects are followed, also without
// credentials.
func (c *Client) downloadForeign(ctx context.Context, what string, u *url.URL, max int64) (*AttachmentContent, error) {
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("download attachment %s: redirect to a %q URL", what, u.Scheme)
	}
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("download attachment %s from %s: %w", what, u.Host, err)
	}
	req.Header.Set("Accept", "*/*")
	req.Header.Set("User-Agent", "vulnsync")
	hc := &http.Client{Transport: c.http.Transport, Timeout: c.http.Timeout} // no Jar: no cookies
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download attachment %s from %s: %w", what, u.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := readLimited(resp.Body, 4096, "error answer")
		return nil, fmt.Errorf("download attachment %s from %s: %w", what, u.Host,
			errorResponse(req, resp, b))
	}
	desc := "attachment " + what
	if resp.ContentLength > max {
		return nil, &TooLargeError{What: desc, Limit: max, Size: resp.ContentLength}
	}
	b, err := readLimited(resp.Body, max, desc)
	if err != nil {
		return nil, err
	}
	return &AttachmentContent{ContentType: resp.Header.Get("Content-Type"), Data: b}, nil
}

// attachmentPath turns a content URL or an id into a site-relative path.
func (c *Client) attachmentPath(ctx context.Context, urlOrID string) (string, error) {
	if urlOrID == "" {
		return "", invalidf("an attachment URL or id is required")
	}
	if numericRE.MatchString(urlOrID) {
		d, err := c.Deployment(ctx)
		if err != nil {
			return "", err
		}
		if d == Cloud {
			return apiPrefix(d) + "attachment/content/" + urlOrID, nil
		}
		// Data Center has no content-by-id endpoint: ask for the content
		// URL first.
		var meta struct {
			Content string `json:"content"`
		}
		if err := c.call(ctx, http.MethodGet, "attachment/"+urlOrID, nil, &meta); err != nil {
			return "", err
		}
		urlOrID = meta.Content
	}
	u, err := url.Parse(urlOrID)
	if err != nil {
		return "", invalidf("attachment URL: %v", err)
	}
	if !strings.EqualFold(u.Scheme, c.base.Scheme) || !strings.EqualFold(u.Host, c.base.Host) {
		return "", invalidf("attachment URL %s is not on the connection's site %s", u.Redacted(), c.base.Host)
	}
	p := u.EscapedPath()
	if c.base.Path != "" {
		if !strings.HasPrefix(p, c.base.EscapedPath()+"/") {
			return "", invalidf("attachment URL %s is outside the site's path", u.Redacted())
		}
		p = strings.TrimPrefix(p, c.base.EscapedPath())
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p, nil
}
