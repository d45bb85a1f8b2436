package jira

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// ErrorResponse is a non-2xx answer from Jira, decoded from Jira's
// ErrorCollection body so callers (and the sync log) see Jira's own reasons,
// field by field.
type ErrorResponse struct {
	StatusCode    int
	Method        string
	Path          string
	ErrorMessages []string
	Errors        map[string]string
}

// Error names the call and status and lists Jira's messages, field by
// field, so that a log line says why Jira refused.
func (e *ErrorResponse) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "jira: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if len(e.ErrorMessages) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.ErrorMessages, "; "))
	}
	if len(e.Errors) > 0 {
		keys := make([]string, 0, len(e.Errors))
		for k := range e.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + e.Errors[k]
		}
		b.WriteString(" (")
		b.WriteString(strings.Join(parts, "; "))
		b.WriteString(")")
	}
	return b.String()
}

// RateLimitError is a 429 from Jira that the client did not (or could not)
// wait out: retries were exhausted, or the wait would pass the caller's
// deadline. RetryAfter and Reset say when Jira will accept requests again;
// Reason is Jira's RateLimit-Reason (jira-burst-based,
// jira-per-issue-on-write, jira-quota-...).
type RateLimitError struct {
	Method     string
	Path       string
	RetryAfter time.Duration
	Reset      time.Time
	Reason     string
}

// Error says which call was limited, why and for how long.
func (e *RateLimitError) Error() string {
	msg := fmt.Sprintf("jira: %s %s: rate limited", e.Method, e.Path)
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf("; retry after %v", e.RetryAfter)
	}
	return msg
}

// UnknownOutcomeError reports a write that may or may not have been applied
// by Jira: it timed out, the connection broke after it was sent, or Jira
// answered 5xx. Such writes (issue create above all) are never retried
// blindly; the caller must find out, e.g. by searching for its marker.
type UnknownOutcomeError struct {
	Method string
	Path   string
	Err    error
}

// Error warns that the write may have been applied.
func (e *UnknownOutcomeError) Error() string {
	return fmt.Sprintf("jira: %s %s: outcome unknown (the request may have been applied): %v", e.Method, e.Path, e.Err)
}

// Unwrap exposes the cause (a timeout, an *ErrorResponse, ...).
func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// TooLargeError reports a body over a size limit (a download over the
// caller's maximum, an upload or answer over the client's), so the caller can
// fall back (G7: record a link instead of the bytes).
type TooLargeError struct {
	What  string
	Limit int64
	Size  int64 // -1 when only "more than Limit" is known
}

// Error says what was too large and the limit.
func (e *TooLargeError) Error() string {
	if e.Size >= 0 {
		return fmt.Sprintf("jira: %s is %d bytes, over the limit of %d", e.What, e.Size, e.Limit)
	}
	return fmt.Sprintf("jira: %s is over the limit of %d bytes", e.What, e.Limit)
}

// IsNotFound reports whether err is Jira's 404 (no such issue, comment,
// property, ...).
func IsNotFound(err error) bool {
	var e *ErrorResponse
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// IsRateLimited reports whether err is a 429 the client gave up waiting on.
func IsRateLimited(err error) bool {
	var e *RateLimitError
	return errors.As(err, &e)
}

// IsUnknownOutcome reports whether err is a write whose effect in Jira is
// unknown and must be checked before it is attempted again.
func IsUnknownOutcome(err error) bool {
	var e *UnknownOutcomeError
	return errors.As(err, &e)
}

// IsTooLarge reports whether err is a size limit being hit.
func IsTooLarge(err error) bool {
	var e *TooLargeError
	return errors.As(err, &e)
}

// ErrInvalidArgument is wrapped by errors about bad arguments given to the
// client (empty keys, foreign attachment URLs, ...); nothing is sent.
var ErrInvalidArgument = errors.New("invalid argument")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("jira: %w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
}
