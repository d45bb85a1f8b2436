// Package apispec holds vulnsync's own REST API to its published OpenAPI
// document (internal/httpapi/openapi.json, served at /api/v1/openapi.json)
// in tests. Without it the document would drift from the handlers: every
// response schema in it is closed (additionalProperties: false), and the
// end-to-end tests send their requests through Transport, so a handler that
// answers a field, a status or a shape the document lacks fails the test
// that saw it.
//
// Rules, checked with kin-openapi's openapi3filter:
//   - a request whose method and path the document does not describe is a
//     failure, whatever the server answers (a 404 is only acceptable from a
//     documented operation, e.g. for an unknown id);
//   - every response must have a documented status and match its schema;
//   - a request that breaks the document is fine when the server refused it
//     (4xx): tests send bad requests on purpose. Accepting one (2xx) is a
//     failure: the document or the handler is wrong.
//
// Multipart bodies are checked for form, with the file part the operation
// requires, not against the schema; responses whose documented content is
// */* (attachment downloads) are not decoded.
package apispec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/vulnsync/vulnsync/internal/httpapi"
)

// ErrUndocumented reports a request whose method and path the document
// does not describe.
var ErrUndocumented = errors.New("not described by vulnsync's OpenAPI document")

// Spec validates traffic against the document and records which operations
// it saw. It is safe for concurrent use.
type Spec struct {
	doc    *openapi3.T
	router routers.Router

	mu  sync.Mutex
	ops map[string]int
}

var (
	parseOnce sync.Once
	parsedDoc *openapi3.T
	parsedRt  routers.Router
	parseErr  error
)

// Parse loads and validates the embedded document and builds its router.
// It is done once per process.
func Parse() (*openapi3.T, routers.Router, error) {
	parseOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(httpapi.OpenAPI())
		if err != nil {
			parseErr = fmt.Errorf("load vulnsync's OpenAPI document: %w", err)
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			parseErr = fmt.Errorf("vulnsync's OpenAPI document is invalid: %w", err)
			return
		}
		// Test servers listen on random ports: match on paths only.
		doc.Servers = nil
		rt, err := gorillamux.NewRouter(doc)
		if err != nil {
			parseErr = fmt.Errorf("route vulnsync's OpenAPI document: %w", err)
			return
		}
		parsedDoc, parsedRt = doc, rt
	})
	return parsedDoc, parsedRt, parseErr
}

// Load returns a Spec with a fresh record of operations; it fails the test
// when the document does not load or validate.
func Load(t testing.TB) *Spec {
	t.Helper()
	doc, rt, err := Parse()
	if err != nil {
		t.Fatalf("apispec: %v", err)
	}
	return &Spec{doc: doc, router: rt, ops: map[string]int{}}
}

// Doc is the parsed document (shared: do not modify it).
func (s *Spec) Doc() *openapi3.T { return s.doc }

// Covered returns the operationIds whose traffic was validated, sorted.
func (s *Spec) Covered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.ops))
	for op := range s.ops {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// route finds req's operation; an undocumented method or path wraps
// ErrUndocumented.
func (s *Spec) route(req *http.Request) (*routers.Route, map[string]string, error) {
	route, params, err := s.router.FindRoute(req)
	switch {
	case errors.Is(err, routers.ErrPathNotFound), errors.Is(err, routers.ErrMethodNotAllowed):
		return nil, nil, fmt.Errorf("%s %s: %w (%v)", req.Method, req.URL.Path, ErrUndocumented, err)
	case err != nil:
		return nil, nil, fmt.Errorf("%s %s: route: %w", req.Method, req.URL.Path, err)
	}
	return route, params, nil
}

func options() *openapi3filter.Options {
	return &openapi3filter.Options{
		AuthenticationFunc:    bearerPresent,
		IncludeResponseStatus: true,
		SkipSettingDefaults:   true,
		// The document is OpenAPI 3.1, so openapi3filter validates with the
		// JSON Schema 2020-12 validator, which refuses
		// DisableSchemaErrorDetails; keep messages short another way.
	}
}

// bearerPresent is the document's bearer scheme as a request rule: an
// Authorization: Bearer header must be there (whether vulnsync knows the
// token is the server's business, answered with 401).
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errors.New("no Authorization: Bearer header")
	}
	return nil
}

// ValidateRequest checks req, whose body is given separately (req.Body is
// not read), against its operation.
func (s *Spec) ValidateRequest(req *http.Request, body []byte) error {
	route, params, err := s.route(req)
	if err != nil {
		return err
	}
	return s.validateRequest(req, body, route, params)
}

func (s *Spec) validateRequest(req *http.Request, body []byte, route *routers.Route, params map[string]string) error {
	ctx := req.Context()
	opts := options()
	r := req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt == "multipart/form-data" {
		if err := checkMultipart(req.Header.Get("Content-Type"), body, route.Operation); err != nil {
			return fmt.Errorf("%s %s (%s): request: %w", req.Method, req.URL.Path, route.Operation.OperationID, err)
		}
		opts.ExcludeRequestBody = true
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return fmt.Errorf("%s %s (%s): request: %w", req.Method, req.URL.Path, route.Operation.OperationID, err)
	}
	return nil
}

// checkMultipart parses a multipart/form-data body and checks that the
// parts the operation's schema requires are there.
func checkMultipart(contentType string, body []byte, op *openapi3.Operation) error {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return fmt.Errorf("multipart body without a boundary: %q", contentType)
	}
	seen := map[string]bool{}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("malformed multipart body: %w", err)
		}
		seen[p.FormName()] = true
		_ = p.Close()
	}
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return errors.New("the operation takes no body")
	}
	mt := op.RequestBody.Value.Content.Get("multipart/form-data")
	if mt == nil {
		return errors.New("the operation takes no multipart/form-data body")
	}
	if mt.Schema != nil && mt.Schema.Value != nil {
		for _, name := range mt.Schema.Value.Required {
			if !seen[name] {
				return fmt.Errorf("multipart body lacks the required part %q", name)
			}
		}
	}
	return nil
}

// ValidateResponse checks a response to req against req's operation: the
// status must be documented and the body must match its schema.
func (s *Spec) ValidateResponse(req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := s.route(req)
	if err != nil {
		return err
	}
	return s.validateResponse(req, status, header, body, route, params)
}

func (s *Spec) validateResponse(req *http.Request, status int, header http.Header, body []byte, route *routers.Route, params map[string]string) error {
	ctx := req.Context()
	op := route.Operation.OperationID
	opts := options()
	if status == http.StatusNoContent && len(body) > 0 {
		return fmt.Errorf("%s %s (%s): response 204 carries a body", req.Method, req.URL.Path, op)
	}
	if ref := route.Operation.Responses.Status(status); ref != nil && ref.Value != nil && isBinary(ref.Value.Content) {
		// A download: any bytes and content type; its headers and status
		// are still checked.
		opts.ExcludeResponseBody = true
	}
	r := req.Clone(ctx)
	r.Body = http.NoBody
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return fmt.Errorf("%s %s (%s): response %d: %s", req.Method, req.URL.Path, op, status, short(err))
	}
	return nil
}

// isBinary reports whether a response's only documented content is */*
// without a schema.
func isBinary(c openapi3.Content) bool {
	mt, ok := c["*/*"]
	return ok && len(c) == 1 && mt != nil && mt.Schema == nil
}

// short cuts kin-openapi's schema dumps ("Schema:", "Value:") out of an
// error message: the reason and the JSON pointer are what a test log needs.
func short(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "\nSchema:"); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// check validates one exchange and returns the failures: undocumented
// routes, invalid responses, and invalid requests the server accepted.
func (s *Spec) check(req *http.Request, reqBody []byte, haveReqBody bool, status int, header http.Header, body []byte) []error {
	route, params, err := s.route(req)
	if err != nil {
		return []error{err}
	}
	s.mu.Lock()
	s.ops[route.Operation.OperationID]++
	s.mu.Unlock()
	var errs []error
	if haveReqBody || req.Body == nil || req.Body == http.NoBody {
		if rerr := s.validateRequest(req, reqBody, route, params); rerr != nil && status < 400 {
			errs = append(errs, fmt.Errorf("the server accepted (%d) a request the document refuses: %w", status, rerr))
		}
	}
	if err := s.validateResponse(req, status, header, body, route, params); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// Validate checks one exchange with the vulnsync API: req (its body is read
// through req.GetBody when set), resp and resp's body, already read. Each
// failure is reported with t.Errorf.
func Validate(t testing.TB, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	s := Load(t)
	var reqBody []byte
	have := false
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			reqBody, _ = io.ReadAll(rc)
			_ = rc.Close()
			have = true
		}
	}
	for _, err := range s.check(req, reqBody, have, resp.StatusCode, resp.Header, body) {
		t.Errorf("apispec: the vulnsync API does not match its OpenAPI document: %v", err)
	}
}
