package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// errorBody is the JSON shape of every error answer (PRODUCT.md §4).
type errorBody struct {
	Error  string            `json:"error"`
	Fields map[string]string `json:"fields,omitempty"`
}

// writeError answers err with its status and message. Internal errors are
// logged and answered with a generic message so nothing internal leaks.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *tracker.Error
	if !errors.As(err, &e) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			e = tracker.Errorf(tracker.ETooLarge, "request body is larger than the limit of %d bytes", mbe.Limit)
		} else {
			e = &tracker.Error{Kind: tracker.EInternal, Message: "internal error"}
		}
	}
	status := e.Kind.HTTPStatus()
	if status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		if e.Kind == tracker.EInternal {
			e = &tracker.Error{Kind: tracker.EInternal, Message: "internal error"}
		}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vulnsync"`)
	}
	writeJSON(w, status, errorBody{Error: e.Message, Fields: e.Fields})
}
