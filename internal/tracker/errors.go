package tracker

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrorKind classifies a failure so that each interface (HTTP, CLI) can map it
// to its own vocabulary in one table instead of guessing from messages.
type ErrorKind string

// The kinds of error the domain reports.
const (
	EInvalid       ErrorKind = "invalid"       // malformed input (400)
	EUnauthorized  ErrorKind = "unauthorized"  // missing or wrong credentials (401)
	EForbidden     ErrorKind = "forbidden"     // authenticated but not allowed (403)
	ENotFound      ErrorKind = "not_found"     // no such object (404)
	EConflict      ErrorKind = "conflict"      // violates a uniqueness rule (409)
	ETooLarge      ErrorKind = "too_large"     // over a size limit (413)
	EUnprocessable ErrorKind = "unprocessable" // well-formed but rejected by a rule (422)
	EUnavailable   ErrorKind = "unavailable"   // a dependency is down (503)
	EInternal      ErrorKind = "internal"      // a bug or an unexpected failure (500)
)

// Error is a domain error: a kind, a message for people and, for validation
// failures, one problem per offending field.
type Error struct {
	Kind    ErrorKind
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// Errorf builds an Error of the given kind.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of the first *Error in err's chain, or EInternal.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return EInternal
}

// Problems collects field-by-field validation problems and turns them into
// one error, so callers report every problem at once rather than the first.
type Problems map[string]string

// Add records a problem for field unless one is already recorded.
func (p Problems) Add(field, format string, args ...any) {
	if _, ok := p[field]; !ok {
		p[field] = fmt.Sprintf(format, args...)
	}
}

// Err returns nil when there are no problems, else an Error of kind.
func (p Problems) Err(kind ErrorKind, message string) error {
	if len(p) == 0 {
		return nil
	}
	return &Error{Kind: kind, Message: message, Fields: map[string]string(p)}
}

// httpStatus is the one table from error kind to HTTP status, for every
// HTTP surface alike (REST API, UI, webhook receiver). It lives with the
// kinds so that a new kind cannot be added without its status, and so the
// two HTTP adapters need not import each other for it.
var httpStatus = map[ErrorKind]int{
	EInvalid:       400,
	EUnauthorized:  401,
	EForbidden:     403,
	ENotFound:      404,
	EConflict:      409,
	ETooLarge:      413,
	EUnprocessable: 422,
	EUnavailable:   503,
	EInternal:      500,
}

// HTTPStatus is the status an error of this kind answers with; unknown
// kinds are 500.
func (k ErrorKind) HTTPStatus() int {
	if s, ok := httpStatus[k]; ok {
		return s
	}
	return 500
}
