package store

import (
	"context"
	"time"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Session is a signed-in browser, kept in the store so that a restart
// keeps people signed in and every replica honours it. Only the SHA-256
// of the cookie's secret is stored.
type Session struct {
	ID   string
	Hash string
	// UserID is the person signed in; TokenID the API token they signed
	// in with ("" after single sign-on). A bootstrap token has no user:
	// Name and Role then say who the session is.
	UserID  string
	TokenID string
	Name    string
	Role    tracker.Role
	// CSRF is the synchronizer token of the session's forms.
	CSRF      string
	CreatedAt time.Time
	SeenAt    time.Time
}

// AuditEntry is one audited action: who, when, from where, what.
type AuditEntry struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// ActorID is the user (empty for a bootstrap token or an anonymous
	// attempt); Actor their name as shown.
	ActorID string `json:"actor_id,omitempty"`
	Actor   string `json:"actor"`
	// Action names what was done, e.g. "user.create", "token.revoke",
	// "signin.failure", "connection.delete".
	Action string `json:"action"`
	// Object is what it was done to ("user:…", "connection:…").
	Object string `json:"object,omitempty"`
	// Detail says more, for people (never a secret).
	Detail string `json:"detail,omitempty"`
	// Remote is the client address the request came from.
	Remote string `json:"remote,omitempty"`
}

// AuditFilter selects audit entries, newest first. Cursor is the
// NextCursor of the previous page; Limit defaults to 50, at most 500.
type AuditFilter struct {
	Action  string // exact, or a prefix ending in "." ("user.")
	ActorID string
	Since   time.Time
	Cursor  string
	Limit   int
}

// AuditPage is one page of the audit log.
type AuditPage struct {
	Entries    []AuditEntry
	NextCursor string
}

// PeopleTx is the part of a transaction about people: users, their
// tokens and sessions, and the audit log.
type PeopleTx interface {
	// CreateUser stores a user; a taken email or subject is EConflict.
	CreateUser(ctx context.Context, u tracker.User) error
	GetUser(ctx context.Context, id string) (tracker.User, error)
	UserByEmail(ctx context.Context, email string) (tracker.User, error)
	UserBySubject(ctx context.Context, subject string) (tracker.User, error)
	// ListUsers returns every user by name.
	ListUsers(ctx context.Context) ([]tracker.User, error)
	// UpdateUser replaces everything but the id and creation time.
	UpdateUser(ctx context.Context, u tracker.User) error

	// GetToken returns a token by id; ListUserTokens a user's tokens,
	// newest first; TouchToken records a use.
	GetToken(ctx context.Context, id string) (Token, error)
	ListUserTokens(ctx context.Context, userID string) ([]Token, error)
	TouchToken(ctx context.Context, id string, at time.Time) error

	// Sessions: found by the hash of the cookie's secret.
	CreateSession(ctx context.Context, s Session) error
	SessionByHash(ctx context.Context, hash string) (Session, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	DeleteSession(ctx context.Context, id string) error
	// DeleteUserSessions ends every session of a user ("sign out
	// everywhere", deactivation) and says how many there were.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
	// DeleteSessionsBefore removes sessions not seen since idle or
	// created before max (the expiry sweep).
	DeleteSessionsBefore(ctx context.Context, idle, max time.Time) (int, error)

	// AddAudit appends to the audit log; ListAudit reads it newest first.
	AddAudit(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, f AuditFilter) (AuditPage, error)
}
