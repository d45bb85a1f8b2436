package jirasync

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// This file maps people between the two sides: a vulnsync field of type
// email mapped to a Jira user field (the assignee) carries a person, who
// is matched by email — Jira's user search on the way out, the email Jira
// shows on the way in. A person who cannot be matched (no such account, or
// a Cloud account that hides its email) is never replaced by a guess: the
// value is left as it is on the other side and the sync log says so.

// unmatchedPrefix marks, in the synced state, a Jira user vulnsync could
// not match to one of its users: the push then leaves Jira's value alone
// unless the item's own value changed later.
const unmatchedPrefix = "jira-user:"

func isUserField(f mapping.JiraField) bool { return f.Schema.Type == "user" }

// userFromJira reads a Jira user value: the (lower-cased) email when Jira
// shows it, else the unmatched marker with the account id or name.
func userFromJira(raw json.RawMessage) any {
	var u jira.User
	if len(raw) == 0 || string(raw) == "null" || json.Unmarshal(raw, &u) != nil {
		return nil
	}
	if u.EmailAddress != "" {
		return strings.ToLower(u.EmailAddress)
	}
	return unmatchedPrefix + firstNonEmpty(u.AccountID, u.Name, u.Key, u.DisplayName)
}

// vulnsyncUser resolves a value from Jira to an active vulnsync user's
// email, or the unmatched marker.
func (r *run) vulnsyncUser(ctx context.Context, v any) any {
	email, ok := v.(string)
	if !ok || strings.HasPrefix(email, unmatchedPrefix) {
		return v
	}
	var u tracker.User
	err := r.e.st.View(ctx, func(tx store.Tx) error {
		var err error
		u, err = tx.UserByEmail(ctx, email)
		return err
	})
	if err != nil || !u.Active {
		return unmatchedPrefix + email
	}
	return u.Email
}

// jiraUser resolves a vulnsync user's email to the value Jira takes for a
// user field ({"accountId": …} on Cloud, {"name": …} on Data Center); ok
// is false when Jira has no such person (or hides their email). Answers,
// "nobody" included, are remembered per connection for peopleTTL, so an
// item assigned to someone Jira cannot show costs one search, not one
// per push.
func (r *run) jiraUser(ctx context.Context, email string) (any, bool, error) {
	u, seen := r.e.people.user(r.in.ConnectionID, email, r.e.now())
	if !seen {
		var err error
		if u, err = r.client.FindUserByEmail(ctx, email); err != nil {
			return nil, false, classify(err)
		}
		r.e.people.remember(r.in.ConnectionID, email, u, r.e.now())
	}
	if u == nil {
		return nil, false, nil
	}
	if u.AccountID != "" {
		return map[string]any{"accountId": u.AccountID}, true, nil
	}
	return map[string]any{"name": u.Name}, true, nil
}

// peopleTTL is how long a user search's answer is trusted: long enough
// that pushes of an item do not search again and again, short enough that
// a person who makes their email visible, or joins Jira, is matched within
// minutes.
const peopleTTL = 10 * time.Minute

// maxPeople bounds the remembered answers; past it they are all forgotten.
const maxPeople = 10_000

// peopleCache remembers Jira's answers to user searches by email, per
// connection, and which unmatched people the sync log already named for an
// item, so one unmatched assignee is one log entry per peopleTTL, not one
// per push.
type peopleCache struct {
	mu    sync.Mutex
	users map[string]peopleAnswer
	noted map[string]time.Time
}

type peopleAnswer struct {
	user *jira.User // nil: no Jira account shows that email
	at   time.Time
}

func (c *peopleCache) user(connectionID, email string, now time.Time) (*jira.User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.users[connectionID+"\x00"+email]
	if !ok || now.Sub(a.at) >= peopleTTL || now.Before(a.at) {
		return nil, false
	}
	return a.user, true
}

func (c *peopleCache) remember(connectionID, email string, u *jira.User, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.users == nil || len(c.users) >= maxPeople {
		c.users = map[string]peopleAnswer{}
	}
	c.users[connectionID+"\x00"+email] = peopleAnswer{user: u, at: now}
}

// firstNote reports whether the note about key is due: not written within
// peopleTTL (and remembers that it is being written now).
func (c *peopleCache) firstNote(key string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at, ok := c.noted[key]; ok && now.Sub(at) < peopleTTL && !now.Before(at) {
		return false
	}
	if c.noted == nil || len(c.noted) >= maxPeople {
		c.noted = map[string]time.Time{}
	}
	c.noted[key] = now
	return true
}

// userToJira turns a field's desired value into Jira's: nil unassigns; an
// unmatched person is skipped with a note (skip true).
func (r *run) userToJira(ctx context.Context, f mapping.JiraField, v any) (out any, skip bool, err error) {
	email, _ := v.(string)
	if email == "" {
		return nil, false, nil
	}
	jv, ok, err := r.jiraUser(ctx, email)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		if !r.e.people.firstNote(r.in.ID+"\x00"+r.itemID+"\x00"+email, r.e.now()) {
			return nil, true, nil
		}
		r.noteUnmatched(ctx, fmt.Sprintf("%s (%s) is not matched to a Jira user: no Jira account shows that email (it may be hidden by the person's profile settings); %s was not changed in Jira", email, f.Name, f.Name))
		return nil, true, nil
	}
	return jv, false, nil
}

// noteUnmatched writes a skipped entry in the sync log.
func (r *run) noteUnmatched(ctx context.Context, note string) {
	ev := store.SyncEvent{IntegrationID: r.in.ID, ItemID: r.itemID, Direction: "to_jira", Action: "assignee", Result: "skipped", Error: note, JobID: r.jobID, At: r.e.now()}
	if err := r.e.st.InTx(ctx, func(tx store.Tx) error { return tx.AddSyncEvent(ctx, ev) }); err != nil {
		r.e.log.Error("record sync event", "err", err)
	}
}

// keepJiraUser reports whether the push must leave a user field alone:
// Jira holds a person vulnsync cannot represent, set after the item's own
// value last changed.
func keepJiraUser(synced any, syncedAt, itemAt time.Time) bool {
	s, ok := synced.(string)
	return ok && strings.HasPrefix(s, unmatchedPrefix) && !itemAt.After(syncedAt)
}
