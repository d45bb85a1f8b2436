package tracker

// IntegrationState is where an integration of a target with a Jira project
// stands. It is a domain value, not a string literal, so every package
// that reads or writes it (store, admin, sync, UI) agrees on the spelling.
type IntegrationState string

// The states of an integration: it needs a mapping before it syncs; an
// accepted mapping makes it active; a paused one keeps its links but
// sends and applies nothing.
const (
	IntegrationNeedsMapping IntegrationState = "needs_mapping"
	IntegrationActive       IntegrationState = "active"
	IntegrationPaused       IntegrationState = "paused"
)

// Valid reports whether s is one of the states above.
func (s IntegrationState) Valid() bool {
	switch s {
	case IntegrationNeedsMapping, IntegrationActive, IntegrationPaused:
		return true
	}
	return false
}

// LinkState is where the link between an item and its Jira issue stands
// (G1: one issue per item, ever).
type LinkState string

// The states of a link: "creating" means a create call may be in flight
// (resolve by the marker before trying again); "linked" has an issue;
// "unlinked" lost it (deleted in Jira, the integration changed, or an
// admin unlinked it: then the issue id is cleared, freeing the issue);
// "refused" means Jira refused the last create, so no issue exists.
const (
	LinkCreating LinkState = "creating"
	LinkLinked   LinkState = "linked"
	LinkUnlinked LinkState = "unlinked"
	LinkRefused  LinkState = "refused"
)

// JiraRef is how an item's linked Jira issue appears to people and API
// clients: its key and browse URL.
type JiraRef struct {
	Key string `json:"key"`
	URL string `json:"url"`
}

// BackfillProgress counts, for an integration, the items whose kind the
// mapping syncs, those linked to an issue, and those whose sync failed
// for good. It is derived from items and links, never stored.
type BackfillProgress struct {
	Total  int `json:"total"`
	Done   int `json:"done"`
	Failed int `json:"failed"`
}

// WebhookAuth is how a connection's webhook deliveries are authenticated.
// Jira Cloud and Data Center 10+ sign them (X-Hub-Signature, HMAC-SHA256);
// Data Center before 10 ignores the secret and delivers unsigned, so those
// connections take an unguessable token in the webhook URL instead, and
// treat each delivery as a notice: the truth is read back from Jira's REST
// API before anything is applied, because a URL can leak.
type WebhookAuth string

// The webhook authentication modes.
const (
	WebhookHMAC  WebhookAuth = "hmac"
	WebhookToken WebhookAuth = "token"
)
