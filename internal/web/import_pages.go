package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/vulnsync/vulnsync/internal/scanreport"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// importForm is what the target page's import form was filled with.
type importForm struct {
	Format       string
	Scanner      string
	CloseMissing bool
}

// handleImport imports the uploaded scanner report into the target and
// returns to the target page with the import's counts as a flash; a bad
// report shows the target page with the problem (line, path or row). The
// upload was parsed (and bounded) by checkPost; app.js shows its progress.
func (u *ui) handleImport(w http.ResponseWriter, r *http.Request, sv *sessionView) {
	f := importForm{Format: r.PostFormValue("format"), Scanner: strings.TrimSpace(r.PostFormValue("scanner")),
		CloseMissing: r.PostFormValue("close_missing") == "true"}
	fail := func(err error) {
		p := u.explain(r, err)
		if p.Status == http.StatusNotFound {
			u.renderError(w, r, sv, err)
			return
		}
		u.targetPage(w, r, sv, p.Status, targetData{ImportForm: f, ImportErrors: p.Fields, ImportMessage: p.Message})
	}
	if r.MultipartForm == nil || len(r.MultipartForm.File["file"]) == 0 {
		fail(&tracker.Error{Kind: tracker.EInvalid, Message: "invalid import", Fields: map[string]string{"file": "choose a report to import"}})
		return
	}
	fh := r.MultipartForm.File["file"][0]
	file, err := fh.Open()
	if err != nil {
		fail(fmt.Errorf("open upload: %w", err))
		return
	}
	defer file.Close()
	im, err := u.svc.Import(r.Context(), actorOf(sv), service.ImportRequest{TargetID: r.PathValue("id"), Format: f.Format,
		Filename: fh.Filename, Scanner: f.Scanner, CloseMissing: f.CloseMissing, Report: file})
	if err != nil {
		fail(err)
		return
	}
	u.sessions.addFlash(sv.ID, "ok", fmt.Sprintf("Imported %s (%s, %d findings): %d created, %d updated, %d reopened, %d closed, %d unchanged.",
		im.Filename, im.Scanner, im.Findings, im.Created, im.Updated, im.Reopened, im.Closed, im.Unchanged))
	seeOther(w, r, "/targets/"+url.PathEscape(r.PathValue("id"))+"#imports")
}

// importFormats are the format choices of the import form.
func importFormats() []string {
	out := make([]string, len(scanreport.Formats))
	for i, f := range scanreport.Formats {
		out[i] = string(f)
	}
	return out
}
