package tracker

import (
	"net/mail"
	"strings"
	"time"
)

// Role is what a person may do in vulnsync. The roles are ordered: each
// may do everything the one before it may.
type Role string

// The roles: a viewer reads (a developer, an auditor); an analyst also
// records findings (targets, items, comments, attachments, imports); an
// admin also runs the installation (Jira connections, integrations and
// mappings, the catalog, users, the sync's failed work, the audit log).
const (
	RoleViewer  Role = "viewer"
	RoleAnalyst Role = "analyst"
	RoleAdmin   Role = "admin"
)

// Roles lists the roles, least first.
var Roles = []Role{RoleViewer, RoleAnalyst, RoleAdmin}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() > 0 }

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleAnalyst:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Permission is what an operation needs. Authorization is decided in one
// place (Role.Allows) for the API and the UI alike.
type Permission string

// The permissions, in the order of the roles that first hold them.
const (
	// PermRead is reading anything but the audit log and secrets.
	PermRead Permission = "read"
	// PermWrite is changing targets, items, comments and attachments,
	// and importing scanner reports.
	PermWrite Permission = "write"
	// PermAdmin is Jira connections, integrations and mappings, the
	// catalog of kinds and fields, users and their tokens, retrying
	// failed sync work and reading the audit log.
	PermAdmin Permission = "admin"
)

// Allows reports whether the role holds the permission. An unknown role
// holds none.
func (r Role) Allows(p Permission) bool {
	switch p {
	case PermRead:
		return r.rank() >= 1
	case PermWrite:
		return r.rank() >= 2
	case PermAdmin:
		return r.rank() >= 3
	}
	return false
}

// User is a person who signs in to vulnsync: through single sign-on, or
// with one of their API tokens.
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  Role   `json:"role"`
	// Active is false for a deactivated user: their sessions and tokens
	// stop working at once; the user stays, so history keeps its author.
	Active bool `json:"active"`
	// Subject is the single sign-on identity ("issuer|sub"), empty for a
	// user who never signed in that way.
	Subject   string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ValidateUser trims and checks a user before it is stored.
func ValidateUser(u *User) error {
	p := Problems{}
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	u.Name = strings.TrimSpace(u.Name)
	if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email || TextLen(u.Email) > 320 {
		p.Add("email", "must be an email address like alice@example.com")
	}
	switch {
	case u.Name == "":
		p.Add("name", "must not be empty")
	default:
		checkText(p, "name", u.Name, 200, false, "")
	}
	if !u.Role.Valid() {
		p.Add("role", "unknown role %q (allowed: viewer, analyst, admin)", u.Role)
	}
	return p.Err(EInvalid, "invalid user")
}
