package cli

import (
	"context"
	"net/http"
	"strings"

	"github.com/vulnsync/vulnsync/internal/httpapi"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/web"
)

// mountUI registers the browser UI (internal/web) on the API's mux, for
// httpapi.Config.Extra: every path the API and the webhook receiver do not
// claim is the UI's. It reads the sync log and retries jobs through the
// sync engine.
func (a *app) mountUI(mux *http.ServeMux, _ func(http.Handler) http.Handler) {
	public := a.cfg.publicURL
	mux.Handle("/", web.New(web.Config{
		Tracker:      a.svc,
		Integrations: a.integ,
		Logger:       a.log,
		Links:        a.links,
		SyncEvents: func(ctx context.Context, integrationID, itemID string) ([]store.SyncEvent, error) {
			return a.engine.Events(ctx, integrationID, itemID, 200)
		},
		RetryJob: func(ctx context.Context, jobID int64) error {
			_, err := a.engine.RetryJob(ctx, jobID)
			return err
		},
		Backfill:      a.engine.Backfill,
		SecureCookies: strings.HasPrefix(public, "https://"),
	}))
}

// links resolves items' Jira issues for the API and the UI.
func (a *app) links(ctx context.Context, ids []string) (map[string]httpapi.JiraRef, error) {
	refs, err := a.engine.Links(ctx, ids)
	out := make(map[string]httpapi.JiraRef, len(refs))
	for k, r := range refs {
		out[k] = httpapi.JiraRef{Key: r.Key, URL: r.URL}
	}
	return out, err
}
