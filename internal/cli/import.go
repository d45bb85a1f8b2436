package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrImportRefused is returned by `vulnsync import` when the server
// refused the report (a 4xx answer), so scripts can tell a bad report from
// a usage error.
var ErrImportRefused = errors.New("import refused")

// runImport is `vulnsync import`: an API client that uploads one scanner
// report into a target, named by name or id, and prints what the import
// did. The report is streamed from the file, never held in memory; the
// token comes from VULNSYNC_TOKEN so it stays out of the shell history.
func runImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runImportWith(ctx, args, getenv, stdout, stderr, http.DefaultClient)
}

func runImportWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, hc *http.Client) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", envOr(getenv, "VULNSYNC_URL", "http://127.0.0.1:8080"), "vulnsync's base URL (or VULNSYNC_URL)")
	target := fs.String("target", "", "the target's name (or id)")
	format := fs.String("format", "", "the report's format: sarif, zap, nuclei, trivy or csv")
	scanner := fs.String("scanner", "", "the scanner's name (default: the one the report names)")
	closeMissing := fs.Bool("close-missing", false, "the report is a full re-scan: resolve this scanner's items it no longer contains")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long the upload and import may take")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vulnsync import --url URL --target NAME --format FORMAT [--scanner NAME] [--close-missing] FILE")
		fmt.Fprintln(stderr, "The API token is read from VULNSYNC_TOKEN.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	token := getenv("VULNSYNC_TOKEN")
	switch {
	case fs.NArg() != 1:
		return fmt.Errorf("%w: give exactly one report file", ErrUsage)
	case *target == "":
		return fmt.Errorf("%w: --target is required", ErrUsage)
	case *format == "":
		return fmt.Errorf("%w: --format is required (sarif, zap, nuclei, trivy or csv)", ErrUsage)
	case token == "":
		return fmt.Errorf("%w: set VULNSYNC_TOKEN to an API token", ErrUsage)
	}
	u, err := url.Parse(strings.TrimRight(*base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: --url %q is not an http(s) URL", ErrUsage, *base)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c := &apiClient{base: u.String(), token: token, hc: hc}
	targetID, err := c.targetID(ctx, *target)
	if err != nil {
		return err
	}
	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	fields := map[string]string{"format": *format}
	if *scanner != "" {
		fields["scanner"] = *scanner
	}
	if *closeMissing {
		fields["close_missing"] = "true"
	}
	var res struct {
		ID        string `json:"id"`
		Scanner   string `json:"scanner"`
		Findings  int    `json:"findings"`
		Created   int    `json:"created"`
		Updated   int    `json:"updated"`
		Reopened  int    `json:"reopened"`
		Closed    int    `json:"closed"`
		Unchanged int    `json:"unchanged"`
	}
	if err := c.upload(ctx, "/api/v1/targets/"+url.PathEscape(targetID)+"/imports", fields, filepath.Base(path), f, &res); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "import %s: %d findings from %s into %s\ncreated %d, updated %d, reopened %d, closed %d, unchanged %d\n",
		res.ID, res.Findings, res.Scanner, *target, res.Created, res.Updated, res.Reopened, res.Closed, res.Unchanged)
	return nil
}

// apiClient is the little of vulnsync's API the import command needs.
type apiClient struct {
	base, token string
	hc          *http.Client
}

// apiError is vulnsync's error body.
type apiError struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields"`
}

// do sends req with the token and decodes a 2xx answer into out; other
// answers become errors quoting the server's message and field problems.
func (c *apiClient) do(req *http.Request, out any) error {
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", req.Method, req.URL.Path, err)
		}
		return nil
	}
	var e apiError
	if json.Unmarshal(raw, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(raw))
	}
	msg := fmt.Sprintf("%s (HTTP %d)", e.Error, resp.StatusCode)
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		msg += fmt.Sprintf("\n  %s: %s", k, e.Fields[k])
	}
	if resp.StatusCode/100 == 4 {
		return fmt.Errorf("%w: %s", ErrImportRefused, msg)
	}
	return errors.New(msg)
}

// targetID resolves a target name (or id) to its id.
func (c *apiClient) targetID(ctx context.Context, nameOrID string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/api/v1/targets", nil)
	if err != nil {
		return "", fmt.Errorf("list targets: %w", err)
	}
	var list struct {
		Targets []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"targets"`
	}
	if err := c.do(req, &list); err != nil {
		return "", err
	}
	for _, t := range list.Targets {
		if t.Name == nameOrID || t.ID == nameOrID {
			return t.ID, nil
		}
	}
	return "", fmt.Errorf("%w: no target named %q", ErrImportRefused, nameOrID)
}

// upload streams a multipart body (fields, then the file) through a pipe.
func (c *apiClient) upload(ctx context.Context, path string, fields map[string]string, filename string, file io.Reader, out any) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			keys := make([]string, 0, len(fields))
			for k := range fields {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if err := mw.WriteField(k, fields[k]); err != nil {
					return err
				}
			}
			part, err := mw.CreateFormFile("file", filename)
			if err != nil {
				return err
			}
			if _, err := io.Copy(part, file); err != nil {
				return fmt.Errorf("read %s: %w", filename, err)
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+path, pr)
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("upload: %w", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	err = c.do(req, out)
	pr.CloseWithError(io.ErrClosedPipe) // stops the writer if the server answered early
	return err
}
