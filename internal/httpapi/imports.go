package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// DefaultMaxImportBytes bounds one uploaded scanner report when the
// configuration sets no limit: 256 MiB holds a SARIF log of well over
// 100,000 results. The report is spooled to a temporary file, so the limit
// bounds disk use, not memory.
const DefaultMaxImportBytes = 256 << 20

// maxImportFormBytes bounds the small parts of an import (format,
// scanner, close_missing).
const maxImportFormBytes = 1 << 10

// handleImport is POST /api/v1/targets/{id}/imports: a multipart body with
// the report in "file", "format", and optionally "scanner" and
// "close_missing". The report is written to a temporary file as it
// arrives (a report over the limit answers 413 and imports nothing), then
// imported in one transaction.
func (s *server) handleImport(w http.ResponseWriter, r *http.Request) {
	limit := s.maxImport
	r.Body = http.MaxBytesReader(w, r.Body, limit+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, r, s.log, &tracker.Error{Kind: tracker.EInvalid, Message: "expected a multipart/form-data body", Fields: map[string]string{"file": "missing"}})
		return
	}
	req := service.ImportRequest{TargetID: r.PathValue("id")}
	var spool *os.File
	defer func() {
		if spool != nil {
			spool.Close()
			os.Remove(spool.Name())
		}
	}()
	p := tracker.Problems{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			writeError(w, r, s.log, importUploadErr(err, limit))
			return
		}
		switch name := part.FormName(); name {
		case "file":
			if spool != nil {
				p.Add("file", "send one file per import")
				continue
			}
			if spool, err = os.CreateTemp("", "vulnsync-import-*"); err != nil {
				writeError(w, r, s.log, fmt.Errorf("spool import: %w", err))
				return
			}
			n, err := io.Copy(spool, io.LimitReader(part, limit+1))
			if err != nil {
				writeError(w, r, s.log, importUploadErr(err, limit))
				return
			}
			if n > limit {
				writeError(w, r, s.log, tracker.Errorf(tracker.ETooLarge, "the report is larger than the limit of %d bytes", limit))
				return
			}
			req.Filename = part.FileName()
		case "format", "scanner", "close_missing":
			b, err := io.ReadAll(io.LimitReader(part, maxImportFormBytes+1))
			if err != nil {
				writeError(w, r, s.log, importUploadErr(err, limit))
				return
			}
			if len(b) > maxImportFormBytes {
				p.Add(name, "must be at most %d bytes", maxImportFormBytes)
				continue
			}
			v := strings.TrimSpace(string(b))
			switch name {
			case "format":
				req.Format = strings.ToLower(v)
			case "scanner":
				req.Scanner = v
			case "close_missing":
				cm, err := strconv.ParseBool(v)
				if err != nil {
					p.Add(name, "must be true or false")
				}
				req.CloseMissing = cm
			}
		default:
			p.Add(name, "unknown field (known: file, format, scanner, close_missing)")
		}
		_ = part.Close()
	}
	if spool == nil {
		p.Add("file", "the multipart field \"file\" is missing")
	}
	if req.Format == "" {
		p.Add("format", "missing: one of sarif, zap, nuclei, trivy, csv")
	}
	if err := p.Err(tracker.EInvalid, "invalid import"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		writeError(w, r, s.log, fmt.Errorf("rewind import spool: %w", err))
		return
	}
	req.Report = spool
	im, err := s.svc.Import(r.Context(), s.actor(r), req)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, im)
}

func importUploadErr(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tracker.Errorf(tracker.ETooLarge, "the report is larger than the limit of %d bytes", limit)
	}
	return tracker.Errorf(tracker.EInvalid, "malformed multipart body: %v", err)
}

func (s *server) handleListImports(w http.ResponseWriter, r *http.Request) {
	if _, err := s.svc.GetTarget(r.Context(), r.PathValue("id")); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	q := r.URL.Query()
	limit := store.DefaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxPageSize {
			writeError(w, r, s.log, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid query", Fields: map[string]string{"limit": fmt.Sprintf("must be a number from 1 to %d", store.MaxPageSize)}})
			return
		}
		limit = n
	}
	// One more than the page tells whether another follows (at the cap,
	// a full page says there may be).
	ims, err := s.svc.ListImports(r.Context(), r.PathValue("id"), q.Get("cursor"), min(limit+1, store.MaxPageSize))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	more := len(ims) > limit || (limit == store.MaxPageSize && len(ims) == limit)
	if len(ims) > limit {
		ims = ims[:limit]
	}
	next := ""
	if more {
		next = ims[len(ims)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"imports": nonNil(ims), "next_cursor": next})
}

// slaView is a target's SLA policy as the API shows it.
type slaView struct {
	tracker.SLA
	// Custom is false while the target uses the default policy.
	Custom bool `json:"custom"`
}

func (s *server) handleGetSLA(w http.ResponseWriter, r *http.Request) {
	sla, custom, err := s.svc.SLA(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, slaView{SLA: sla, Custom: custom})
}

func (s *server) handlePutSLA(w http.ResponseWriter, r *http.Request) {
	var in tracker.SLA
	if err := s.decode(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	sla, err := s.svc.SetSLA(r.Context(), r.PathValue("id"), in)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, slaView{SLA: sla, Custom: true})
}
