package jirasim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// This file serves attachments: multipart upload (with Jira's XSRF header
// rule and size limit), metadata and content.

// multipartOverhead is the room left above MaxAttachmentBytes for the
// multipart framing of one request.
const multipartOverhead = 64 << 10

// maxFilesPerUpload bounds the parts of one upload request.
const maxFilesPerUpload = 20

type uploaded struct {
	name, mimeType string
	data           []byte
}

func (s *Simulator) addAttachments(rq *request) {
	tok := rq.r.Header.Get("X-Atlassian-Token")
	if tok != "no-check" && tok != "nocheck" {
		rq.w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		rq.w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(rq.w, "XSRF check failed")
		return
	}
	s.mu.RLock()
	exists := s.lookupIssue(rq.params["issueIdOrKey"]) != nil
	s.mu.RUnlock()
	if !exists {
		s.issueNotFound(rq)
		return
	}
	limit := s.cfg.MaxAttachmentBytes
	if rq.r.ContentLength > limit*maxFilesPerUpload+multipartOverhead {
		rq.fail(http.StatusRequestEntityTooLarge, tooLarge(limit))
		return
	}
	files, code, msg := readUploads(rq.r, limit)
	if code != 0 {
		rq.fail(code, msg)
		return
	}

	s.lockWrite()
	defer s.mu.Unlock()
	is := s.lookupIssue(rq.params["issueIdOrKey"])
	if is == nil {
		s.issueNotFound(rq)
		return
	}
	out := make([]any, 0, len(files))
	var items []changeItem
	for _, f := range files {
		a := &attachment{ID: s.nextAttach, IssueID: is.ID, Filename: f.name, MimeType: f.mimeType,
			Size: int64(len(f.data)), Author: rq.user, Created: rq.now, Data: f.data}
		s.nextAttach++
		is.Attachments = append(is.Attachments, a)
		s.attachments[a.ID] = a
		out = append(out, rq.view.attachment(a))
		items = append(items, changeItem{Field: "Attachment", FieldType: "jira", FieldID: "attachment",
			To: strp(strconv.FormatInt(a.ID, 10)), ToString: strp(a.Filename)})
	}
	hid := s.recordChange(is, rq.user, rq.now, items)
	s.emit(rq.view.base, event{name: "jira:issue_updated", typeName: "issue_updated", is: is, user: rq.user, items: items, historyID: hid, hasLog: true})
	rq.json(http.StatusOK, out)
}

func tooLarge(limit int64) string {
	return fmt.Sprintf("The attachment exceeds the maximum attachment size of %d bytes.", limit)
}

// readUploads reads the "file" parts of a multipart upload, each up to
// limit bytes. On failure it returns a status code and message.
func readUploads(r *http.Request, limit int64) ([]uploaded, int, string) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, http.StatusBadRequest, "The request is not a multipart upload: " + err.Error()
	}
	var files []uploaded
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, http.StatusBadRequest, "Could not read the multipart upload: " + err.Error()
		}
		if part.FormName() != "file" {
			_ = part.Close()
			continue
		}
		if len(files) == maxFilesPerUpload {
			return nil, http.StatusBadRequest, fmt.Sprintf("At most %d files can be attached in one request.", maxFilesPerUpload)
		}
		data, err := io.ReadAll(io.LimitReader(part, limit+1))
		if err != nil {
			return nil, http.StatusBadRequest, "Could not read the multipart upload: " + err.Error()
		}
		if int64(len(data)) > limit {
			return nil, http.StatusRequestEntityTooLarge, tooLarge(limit)
		}
		name := filepath.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
		if name == "" || name == "." || name == "/" {
			return nil, http.StatusBadRequest, "The attached file has no name."
		}
		mt := part.Header.Get("Content-Type")
		if mt == "" || mt == "application/octet-stream" {
			if byExt := mime.TypeByExtension(filepath.Ext(name)); byExt != "" {
				mt = byExt
			} else {
				mt = http.DetectContentType(data)
			}
		}
		if parsed, _, err := mime.ParseMediaType(mt); err == nil {
			mt = parsed
		}
		files = append(files, uploaded{name: name, mimeType: mt, data: data})
	}
	if len(files) == 0 {
		return nil, http.StatusBadRequest, "No file was attached: send the file in a multipart part named 'file'."
	}
	return files, 0, ""
}

func (s *Simulator) findAttachment(rq *request) *attachment {
	id, err := strconv.ParseInt(rq.params["id"], 10, 64)
	if err != nil {
		return nil
	}
	return s.attachments[id]
}

func (s *Simulator) getAttachment(rq *request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.findAttachment(rq)
	if a == nil {
		rq.fail(http.StatusNotFound, "The attachment with id '"+rq.params["id"]+"' does not exist.")
		return
	}
	m := rq.view.attachment(a)
	m["id"] = a.ID // AttachmentMetadata has a numeric id
	rq.json(http.StatusOK, m)
}

// getAttachmentContent serves the bytes. On Cloud, like the real site, the
// REST URL redirects (303) to the file unless redirect=false.
func (s *Simulator) getAttachmentContent(rq *request) {
	s.mu.RLock()
	a := s.findAttachment(rq)
	var data []byte
	var name, mt string
	if a != nil {
		data, name, mt = a.Data, a.Filename, a.MimeType
	}
	s.mu.RUnlock()
	if a == nil {
		rq.fail(http.StatusNotFound, "The attachment with id '"+rq.params["id"]+"' does not exist.")
		return
	}
	if !s.dc && strings.HasPrefix(rq.r.URL.Path, "/rest/") && rq.r.URL.Query().Get("redirect") != "false" {
		rq.w.Header().Set("Location", s.mediaURL(rq.r, a.ID, name, rq.now))
		rq.w.WriteHeader(http.StatusSeeOther)
		return
	}
	writeFile(rq.w, data, name, mt)
}

func writeFile(w http.ResponseWriter, data []byte, name, mt string) {
	w.Header().Set("Content-Type", mt)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// Cloud serves attachment content from a media host: the REST URL answers
// 303 to https://api.media.atlassian.com/file/{id}/binary?token=... and the
// media host authenticates by the short-lived token in the URL, not by the
// site's credentials. A client must not carry its Authorization header to
// that other host (README, "Attachment content on Cloud"); the simulator
// counts media requests that do, so tests can assert it never happens.

// mediaPrefix is the path under which the media host serves files.
const mediaPrefix = "/file/"

// mediaTokenTTL is how long a media URL is valid.
const mediaTokenTTL = 10 * time.Minute

// mediaBase is the media host: Config.MediaBaseURL, or the request's host
// under its other loopback name (127.0.0.1:P ↔ localhost:P), or, for any
// other host, the same host.
func (s *Simulator) mediaBase(r *http.Request) string {
	if s.cfg.MediaBaseURL != "" {
		return s.cfg.MediaBaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if h, port, err := net.SplitHostPort(host); err == nil {
		switch h {
		case "127.0.0.1":
			host = net.JoinHostPort("localhost", port)
		case "localhost":
			host = net.JoinHostPort("127.0.0.1", port)
		}
	}
	return scheme + "://" + host
}

// mediaToken signs an attachment id and expiry.
func (s *Simulator) mediaToken(id int64, exp int64) string {
	m := hmac.New(sha256.New, s.mediaKey)
	fmt.Fprintf(m, "%d:%d", id, exp)
	return strconv.FormatInt(exp, 10) + "." + hex.EncodeToString(m.Sum(nil))
}

func (s *Simulator) mediaURL(r *http.Request, id int64, name string, now time.Time) string {
	tok := s.mediaToken(id, now.Add(mediaTokenTTL).Unix())
	q := url.Values{"token": {tok}, "client": {"sim-media-client"}, "name": {name}}
	return s.mediaBase(r) + mediaPrefix + strconv.FormatInt(id, 10) + "/binary?" + q.Encode()
}

// serveMedia serves a media URL: no Authorization needed (a token in the
// URL), 401 for a missing, forged or expired token, 404 for a deleted
// attachment. Whether an Authorization header arrived is counted.
func (s *Simulator) serveMedia(w http.ResponseWriter, r *http.Request) {
	s.ctl.media(r.Header.Get("Authorization") != "")
	rest := strings.TrimPrefix(r.URL.Path, mediaPrefix)
	idStr, tail, _ := strings.Cut(rest, "/")
	id, err := strconv.ParseInt(idStr, 10, 64)
	if err != nil || tail != "binary" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "not found"})
		return
	}
	tok := r.URL.Query().Get("token")
	expStr, _, _ := strings.Cut(tok, ".")
	exp, err := strconv.ParseInt(expStr, 10, 64)
	if err != nil || !hmac.Equal([]byte(tok), []byte(s.mediaToken(id, exp))) || s.clock().Unix() > exp {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid or expired token"})
		return
	}
	s.mu.RLock()
	a := s.attachments[id]
	var data []byte
	var name, mt string
	if a != nil {
		data, name, mt = a.Data, a.Filename, a.MimeType
	}
	s.mu.RUnlock()
	if a == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "file not found"})
		return
	}
	writeFile(w, data, name, mt)
}
