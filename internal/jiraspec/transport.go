package jiraspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// Transport returns a RoundTripper that validates every request sent
// through it, and the response it gets back, before handing the response to
// the caller. Failures are reported with t.Errorf and kept in the Recorder;
// paths the document does not describe are recorded as not covered.
func (s *Spec) Transport(t testing.TB, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	if s == nil { // Optional found no document: pass through
		return next
	}
	return &validatingTransport{s: s, t: t, next: next}
}

type validatingTransport struct {
	s    *Spec
	t    testing.TB
	next http.RoundTripper
}

// RoundTrip validates the request, sends it, then validates the answer.
func (vt *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("jiraspec: read request body: %w", err)
		}
		body = b
	}
	out := req.Clone(req.Context())
	if body != nil {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}

	route, params, rerr := vt.s.route(req)
	switch {
	case errors.Is(rerr, ErrNotCovered):
		vt.s.rec.addNotCovered(req.Method, req.URL.Path)
	case rerr != nil:
		vt.fail(rerr)
	default:
		vt.s.rec.addOp(route.Operation.OperationID)
		if err := vt.s.validateRequest(req.Context(), req, body, route, params); err != nil {
			vt.fail(err)
		}
	}

	resp, err := vt.next.RoundTrip(out)
	if err != nil || rerr != nil {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("jiraspec: read response body: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err := vt.s.validateResponse(req.Context(), req, resp.StatusCode, resp.Header, respBody, route, params); err != nil {
		vt.fail(err)
	}
	return resp, nil
}

func (vt *validatingTransport) fail(err error) {
	vt.s.rec.addErr(err)
	vt.t.Errorf("jiraspec: client traffic does not match the Jira OpenAPI document: %v", err)
}

// Middleware returns a handler that validates every request it serves and
// the response next writes, server side (it wraps the Jira simulator).
// Failures are reported with t.Errorf and kept in the Recorder; the
// response is passed through unchanged as it is written.
func (s *Spec) Middleware(t testing.TB, next http.Handler) http.Handler {
	if s == nil { // Optional found no document: pass through
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		fail := func(err error) {
			s.rec.addErr(err)
			t.Errorf("jiraspec: server traffic does not match the Jira OpenAPI document: %v", err)
		}
		var body []byte
		if req.Body != nil && req.Body != http.NoBody {
			b, err := io.ReadAll(req.Body)
			if err != nil {
				http.Error(w, "read body", http.StatusBadRequest)
				return
			}
			body = b
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		route, params, rerr := s.route(req)
		switch {
		case errors.Is(rerr, ErrNotCovered):
			s.rec.addNotCovered(req.Method, req.URL.Path)
			next.ServeHTTP(w, req)
			return
		case rerr != nil:
			fail(rerr)
			next.ServeHTTP(w, req)
			return
		}
		s.rec.addOp(route.Operation.OperationID)
		if err := s.validateRequest(req.Context(), req, body, route, params); err != nil {
			fail(err)
		}
		tw := &teeWriter{ResponseWriter: w}
		next.ServeHTTP(tw, req)
		if tw.status == 0 {
			tw.status = http.StatusOK
			tw.header = w.Header().Clone()
		}
		if err := s.validateResponse(req.Context(), req, tw.status, tw.header, tw.buf.Bytes(), route, params); err != nil {
			fail(err)
		}
	})
}

// teeWriter passes a response through while keeping a copy to validate.
type teeWriter struct {
	http.ResponseWriter
	status int
	header http.Header
	buf    bytes.Buffer
}

// WriteHeader keeps the status and headers as sent.
func (tw *teeWriter) WriteHeader(status int) {
	if tw.status == 0 {
		tw.status = status
		tw.header = tw.ResponseWriter.Header().Clone()
	}
	tw.ResponseWriter.WriteHeader(status)
}

// Write passes p through and keeps a copy.
func (tw *teeWriter) Write(p []byte) (int, error) {
	if tw.status == 0 {
		tw.WriteHeader(http.StatusOK)
	}
	tw.buf.Write(p)
	return tw.ResponseWriter.Write(p)
}

// Flush lets streaming handlers flush through the tee.
func (tw *teeWriter) Flush() {
	if f, ok := tw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (tw *teeWriter) Unwrap() http.ResponseWriter { return tw.ResponseWriter }
