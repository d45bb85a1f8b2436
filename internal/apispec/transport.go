package apispec

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// Transport returns a RoundTripper that sends each request through base
// (http.DefaultTransport when nil) and validates the exchange with
// vulnsync's OpenAPI document, reporting each failure with t.Errorf. The
// response reaches the caller unchanged.
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	return Load(t).Transport(t, base)
}

// Client is an *http.Client sending through Transport(t, nil).
func Client(t testing.TB) *http.Client {
	return &http.Client{Transport: Transport(t, nil)}
}

// Transport is the package Transport recording the operations it sees in s.
func (s *Spec) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{s: s, t: t, base: base}
}

type transport struct {
	s    *Spec
	t    testing.TB
	base http.RoundTripper
}

// RoundTrip sends req, then validates the request and the answer.
func (vt *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	out := req
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("apispec: read request body: %w", err)
		}
		body = b
		out = req.Clone(req.Context())
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := vt.base.RoundTrip(out)
	if err != nil {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("apispec: read response body: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	for _, err := range vt.s.check(req, body, true, resp.StatusCode, resp.Header, respBody) {
		vt.t.Errorf("apispec: the vulnsync API does not match its OpenAPI document: %v", err)
	}
	return resp, nil
}
