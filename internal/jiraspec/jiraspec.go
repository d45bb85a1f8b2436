// Package jiraspec validates HTTP traffic against Atlassian's published
// OpenAPI document for the Jira Cloud platform REST API, so that the Jira
// client and the Jira simulator are both held to what real Jira accepts and
// answers, not to what their authors believe it does.
//
// It is a test helper: Load takes a testing.TB, finds the document in
// ../shared relative to the repository root and skips the test when it is
// absent. The document is parsed once per process; every Spec returned by
// Load shares it and has its own Recorder.
//
// Data Center (REST v2) traffic is validated against the matching v3
// operation: the path prefix /rest/api/2/ is mapped to /rest/api/3/. The
// rich-text fields that differ between the two versions (description,
// environment, comment bodies, textarea custom fields) are declared without a
// type in the document (`{}` for comment bodies, free-form `fields` maps for
// issues), so wiki-markup strings validate without any relaxation; a test
// pins that down.
//
// Where the document and real Jira disagree, real Jira wins, for exactly the
// cases listed in relaxations (relax.go); everything else is strict.
package jiraspec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// docRelPath is where the document lives, relative to the directory that
// holds the repository (the parent of the directory containing go.mod).
const docRelPath = "shared/jira/openapi/jira-cloud-platform-v3.json"

// ErrNotCovered reports that a request's path is not described by the
// document (webhook registration, Data Center search, the simulator's
// control API). Such traffic is recorded as not covered rather than failed.
var ErrNotCovered = errors.New("path not described by the Jira OpenAPI document")

// parsed is the process-wide result of parsing the document.
type parsed struct {
	doc    *openapi3.T
	router routers.Router
	// errorCollection validates the body of 429/5xx answers, which Jira may
	// give on any operation (see relaxations).
	errorCollection *openapi3.Schema
}

var (
	loadOnce   sync.Once
	loadResult *parsed
	loadErr    error
)

// Spec validates requests and responses against the Jira OpenAPI document
// and records what it saw. It is safe for concurrent use.
type Spec struct {
	p   *parsed
	rec *Recorder
}

// Load returns a Spec backed by the shared OpenAPI document. It skips the
// test (with the path it looked for) when the document is absent, and fails
// it when the document cannot be parsed. The document is parsed once per
// process; each call returns a Spec with a fresh Recorder.
func Load(t testing.TB) *Spec {
	t.Helper()
	path, err := docPath()
	if err != nil {
		t.Skipf("jiraspec: Jira OpenAPI document not available (%v); these tests need ../shared next to the repository", err)
	}
	loadOnce.Do(func() { loadResult, loadErr = parse(path) })
	if loadErr != nil {
		t.Fatalf("jiraspec: load %s: %v", path, loadErr)
	}
	return &Spec{p: loadResult, rec: newRecorder()}
}

// absentOnce says once per test binary that the document is absent.
var absentOnce sync.Once

// Optional is Load for the behaviour tests, which must run without
// ../shared: when the document is absent it returns nil (a nil *Spec
// validates nothing: Transport and Middleware pass traffic through) and
// says so once per test binary, on stderr, naming what was not checked.
func Optional(t testing.TB) *Spec {
	t.Helper()
	path, err := docPath()
	if err != nil {
		absentOnce.Do(func() {
			fmt.Fprintf(os.Stderr, "jiraspec: Jira OpenAPI document absent (%v): Jira traffic in these tests is NOT validated against it; the behaviour tests still run\n", err)
		})
		return nil
	}
	loadOnce.Do(func() { loadResult, loadErr = parse(path) })
	if loadErr != nil {
		t.Fatalf("jiraspec: load %s: %v", path, loadErr)
	}
	return &Spec{p: loadResult, rec: newRecorder()}
}

// sharedRoot walks up from the working directory to the directory holding
// go.mod and returns the ../shared directory next to it.
func sharedRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
	return filepath.Join(filepath.Dir(dir), "shared"), nil
}

// Shared returns the path of rel inside ../shared (next to the repository
// root), the real Jira material tests hold the project against; it skips
// the test with a clear message when that material is absent.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	root, err := sharedRoot()
	if err == nil {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("../shared/%s is absent (%v): skipping a test that needs real Jira material", rel, err)
	return ""
}

// docPath returns the OpenAPI document's path.
func docPath() (string, error) {
	root, err := sharedRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(root), filepath.FromSlash(docRelPath))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("stat %s: %w", p, err)
	}
	return p, nil
}

// parse loads the document, applies the relaxations and builds the router.
func parse(path string) (*parsed, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read document: %w", err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("parse document: %w", err)
	}
	if err := relaxDocument(doc); err != nil {
		return nil, fmt.Errorf("relax document: %w", err)
	}
	// The document names Atlassian's example host; the traffic we validate
	// goes to test servers, so match on paths only.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("build router: %w", err)
	}
	ec := doc.Components.Schemas["ErrorCollection"]
	if ec == nil || ec.Value == nil {
		return nil, errors.New("document has no ErrorCollection schema")
	}
	return &parsed{doc: doc, router: router, errorCollection: ec.Value}, nil
}

// Recorder collects the operations a Spec validated, the requests it could
// not place in the document, and the validation failures, so a test can
// assert on coverage after the fact.
type Recorder struct {
	mu         sync.Mutex
	ops        map[string]int
	notCovered map[string]int
	errs       []error
}

func newRecorder() *Recorder {
	return &Recorder{ops: map[string]int{}, notCovered: map[string]int{}}
}

// Operations returns the operationIds validated so far, sorted.
func (r *Recorder) Operations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return sortedKeys(r.ops)
}

// NotCovered returns "METHOD path" for each request whose path the document
// does not describe, sorted.
func (r *Recorder) NotCovered() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return sortedKeys(r.notCovered)
}

// Errors returns the validation failures recorded so far, in order.
func (r *Recorder) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func (r *Recorder) addOp(op string) {
	r.mu.Lock()
	r.ops[op]++
	r.mu.Unlock()
}

func (r *Recorder) addNotCovered(method, path string) {
	r.mu.Lock()
	r.notCovered[method+" "+path]++
	r.mu.Unlock()
}

func (r *Recorder) addErr(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Recorder returns the Recorder that Transport and Middleware feed.
func (s *Spec) Recorder() *Recorder { return s.rec }

// Covered returns the operationIds validated so far through Transport and
// Middleware, sorted.
func (s *Spec) Covered() []string {
	if s == nil {
		return nil
	}
	return s.rec.Operations()
}

// route finds the operation for req. Data Center/v2 paths are looked up as
// their v3 twin. Paths the document does not describe give ErrNotCovered; a
// documented path with an undocumented method is an error of its own.
func (s *Spec) route(req *http.Request) (*routers.Route, map[string]string, error) {
	path := req.URL.Path
	if reason, ok := undocumentedPath(path); ok {
		return nil, nil, fmt.Errorf("%s %s: %w (%s)", req.Method, path, ErrNotCovered, reason)
	}
	lookup := req
	if rest, ok := strings.CutPrefix(path, "/rest/api/2/"); ok {
		lookup = req.Clone(req.Context())
		lookup.URL.Path = "/rest/api/3/" + rest
		if req.URL.RawPath != "" {
			lookup.URL.RawPath = "/rest/api/3/" + strings.TrimPrefix(req.URL.RawPath, "/rest/api/2/")
		}
	}
	route, params, err := s.p.router.FindRoute(lookup)
	switch {
	case errors.Is(err, routers.ErrPathNotFound):
		return nil, nil, fmt.Errorf("%s %s: %w", req.Method, path, ErrNotCovered)
	case err != nil:
		return nil, nil, fmt.Errorf("route %s %s: %w", req.Method, path, err)
	}
	return route, params, nil
}

// undocumentedPath lists paths that exist in some Jira but that the document
// does not describe (or describes as something else), so they are reported
// as not covered. Anything else missing from the document is also reported
// as not covered by route; this table only names the paths whose v3 twin
// would otherwise be matched wrongly.
func undocumentedPath(path string) (string, bool) {
	switch {
	case path == "/rest/api/2/search":
		// Data Center's paged search. Cloud retired /rest/api/3/search (it
		// answers 410); the document's deprecated entry describes that
		// retired Cloud operation, not Data Center's.
		return "Data Center search is not in the Cloud document", true
	case strings.HasPrefix(path, "/rest/webhooks/1.0/webhook"):
		return "admin webhook registration is not in the document", true
	case strings.HasPrefix(path, "/_sim/"):
		return "simulator control API", true
	}
	return "", false
}

// Operation returns the operationId that req maps to, and false when its
// path is not in the document.
func (s *Spec) Operation(req *http.Request) (string, bool) {
	route, _, err := s.route(req)
	if err != nil || route.Operation == nil {
		return "", false
	}
	return route.Operation.OperationID, true
}

func (s *Spec) options() *openapi3filter.Options {
	return &openapi3filter.Options{
		// Authentication is the server's business, not the schema's: the
		// document lists basicAuth and OAuth2 only, while Data Center uses
		// bearer PATs, and anonymous calls must be answerable with 401.
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            false,
		SkipSettingDefaults:   true,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{
			openapi3.WithStringFormatValidator("date-time", lenientDateTime),
			// Messages name the failing JSON pointer and reason, without
			// dumping schemas and whole bodies into test logs.
			openapi3.DisableSchemaErrorDetails(),
		},
	}
}

// ValidateRequest checks req (whose body is given separately; req.Body is
// not read) against its operation. It returns an error wrapping
// ErrNotCovered when the path is not in the document.
func (s *Spec) ValidateRequest(req *http.Request, body []byte) error {
	route, params, err := s.route(req)
	if err != nil {
		return err
	}
	return s.validateRequest(req.Context(), req, body, route, params)
}

func (s *Spec) validateRequest(ctx context.Context, req *http.Request, body []byte, route *routers.Route, params map[string]string) error {
	opts := s.options()
	r := req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	if isMultipart(req.Header.Get("Content-Type")) {
		if err := validateMultipart(req.Header, body); err != nil {
			return fmt.Errorf("%s %s (%s): %w", req.Method, req.URL.Path, route.Operation.OperationID, err)
		}
		opts.ExcludeRequestBody = true
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options:    opts,
	}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return fmt.Errorf("%s %s (%s): request: %w", req.Method, req.URL.Path, route.Operation.OperationID, err)
	}
	return nil
}

// ValidateResponse checks a response to req against req's operation: the
// status must be one the operation declares (429 and 5xx excepted, see
// relaxations) and the body must match its schema.
func (s *Spec) ValidateResponse(req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := s.route(req)
	if err != nil {
		return err
	}
	return s.validateResponse(req.Context(), req, status, header, body, route, params)
}

func (s *Spec) validateResponse(ctx context.Context, req *http.Request, status int, header http.Header, body []byte, route *routers.Route, params map[string]string) error {
	op := route.Operation.OperationID
	if anyOperationStatus(status) && route.Operation.Responses.Status(status) == nil {
		if err := s.validateErrorBody(header, body); err != nil {
			return fmt.Errorf("%s %s (%s): response %d: %w", req.Method, req.URL.Path, op, status, err)
		}
		return nil
	}
	opts := s.options()
	if status == http.StatusNoContent || status == http.StatusNotModified {
		// These answers have no body by HTTP's definition (RFC 9110), while
		// the document gives many 204s an application/json content; there
		// is nothing to validate.
		if len(body) > 0 {
			return fmt.Errorf("%s %s (%s): response %d carries a body", req.Method, req.URL.Path, op, status)
		}
		opts.ExcludeResponseBody = true
	}
	if len(body) == 0 && emptyBodyAllowed(route.Operation, status) {
		opts.ExcludeResponseBody = true
	}
	r := req.Clone(ctx)
	r.Body = http.NoBody
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    r,
			PathParams: params,
			Route:      route,
			Options:    opts,
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return fmt.Errorf("%s %s (%s): response %d: %w", req.Method, req.URL.Path, op, status, err)
	}
	return nil
}

// validateErrorBody checks that a JSON error body is Jira's ErrorCollection.
func (s *Spec) validateErrorBody(header http.Header, body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if mt != "application/json" {
		return nil
	}
	v, err := decodeJSON(body)
	if err != nil {
		return fmt.Errorf("decode error body: %w", err)
	}
	if err := s.p.errorCollection.VisitJSON(v, openapi3.VisitAsResponse()); err != nil {
		return fmt.Errorf("error body is not an ErrorCollection: %w", err)
	}
	return nil
}

func isMultipart(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "multipart/form-data"
}

// validateMultipart checks an attachment upload the way Jira does. The
// document declares the body as an array of Spring "MultipartFile" objects,
// which describes Jira's server internals, not the wire format, so it is
// replaced by the rules of the document's "Special headers" narrative and
// the operation description: X-Atlassian-Token: no-check, and at least one
// part named "file" that carries a filename.
func validateMultipart(header http.Header, body []byte) error {
	if got := header.Get("X-Atlassian-Token"); got != "no-check" {
		return fmt.Errorf("multipart request without X-Atlassian-Token: no-check (got %q)", got)
	}
	_, params, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("parse content type: %w", err)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	files := 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read multipart body: %w", err)
		}
		if part.FormName() != "file" {
			return fmt.Errorf("multipart part %q: attachments must be sent in parts named \"file\"", part.FormName())
		}
		if part.FileName() == "" {
			return errors.New("multipart part \"file\" has no filename")
		}
		files++
	}
	if files == 0 {
		return errors.New("multipart body has no \"file\" part")
	}
	return nil
}
