package web

import (
	"net/http"
	"strings"

	"github.com/vulnsync/vulnsync/internal/store"
)

// webhookResultLabels names each webhook delivery result for people, in the
// order the connection page lists them.
var webhookResultLabels = []struct{ Result, Label, Kind string }{
	{store.WebhookAccepted, "Accepted", "ok"},
	{store.WebhookDuplicate, "Duplicate (Jira retried; applied once)", "info"},
	{store.WebhookUnauthorized, "Rejected: bad or missing signature", "failed"},
	{store.WebhookInvalid, "Rejected: malformed", "failed"},
	{store.WebhookTooLarge, "Rejected: too large", "failed"},
	{store.WebhookUnavailable, "Refused: busy", "failed"},
	{store.WebhookError, "Failed on our side", "failed"},
}

func webhookResultLabel(result string) string {
	for _, l := range webhookResultLabels {
		if l.Result == result {
			return l.Label
		}
	}
	return result
}

// webhookCountRow is one line of the connection page's delivery counts.
type webhookCountRow struct {
	Result, Label, Kind string
	Count               int64
}

// webhookHealthView is the connection page's webhook health panel: when
// Jira last delivered, how many deliveries had each result (every result
// listed, zeros too, so a missing line never hides a problem), and the
// newest rejected ones with their reason.
type webhookHealthView struct {
	Health     store.WebhookHealth
	Counts     []webhookCountRow
	Rejections []rejectionRow
	Error      string
}

type rejectionRow struct {
	store.WebhookRejection
	Label string
}

// webhookHealth reads the panel of a connection; nil when the process has
// no webhook health to show.
func (u *ui) webhookHealth(r *http.Request, connID string) *webhookHealthView {
	if u.cfg.WebhookHealth == nil {
		return nil
	}
	h, err := u.cfg.WebhookHealth(r.Context(), connID)
	if err != nil {
		return &webhookHealthView{Error: u.explain(r, err).Message}
	}
	v := &webhookHealthView{Health: h}
	for _, l := range webhookResultLabels {
		row := webhookCountRow{Result: l.Result, Label: l.Label, Kind: l.Kind}
		for _, c := range h.Counts {
			if c.Result == l.Result {
				row.Count = c.Count
			}
		}
		if row.Count > 0 || l.Result == store.WebhookAccepted || l.Result == store.WebhookUnauthorized {
			v.Counts = append(v.Counts, row)
		}
	}
	for _, rj := range h.Rejections {
		v.Rejections = append(v.Rejections, rejectionRow{WebhookRejection: rj, Label: webhookResultLabel(rj.Result)})
	}
	return v
}

// foldedError is an error message as a person reads it: a short headline,
// and the technical rest (an error chain from a library, a URL, a socket
// error) folded away under "Technical details".
type foldedError struct {
	Head   string
	Detail string
}

// foldError splits msg at its first ": " when what follows carries a
// technical error chain; otherwise the whole message is the headline.
func foldError(msg string) foldedError {
	head, rest, ok := strings.Cut(msg, ": ")
	if !ok || !technical(rest) {
		return foldedError{Head: msg}
	}
	return foldedError{Head: head, Detail: msg}
}

// technical reports whether s carries what a library says (a URL, a
// socket or TLS error, a decoder's complaint) rather than words for people.
// Quotes and further colons alone do not count: people's messages name
// fields and chain reasons too.
func technical(s string) bool {
	for _, marker := range []string{"://", "dial ", "EOF", "x509", "tls:", "connection refused", "connection reset", "i/o timeout",
		"context deadline", "no such host", "json:", "unexpected end", "errno"} {
		if strings.Contains(s, marker) {
			return true
		}
	}
	return false
}
