package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the OpenAPI 3.1 document of this API: every route that
// routes registers, with closed response schemas. internal/apispec holds
// the end-to-end tests to it.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the API's OpenAPI document (JSON). Callers must not
// modify the slice.
func OpenAPI() []byte { return openAPIDoc }

func (s *server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(openAPIDoc)
}
