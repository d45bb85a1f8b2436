package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// ---- Users ----

const userCols = `id, email, name, role, active, subject, created_at, updated_at`

func scanUser(s rowScanner) (tracker.User, error) {
	var u tracker.User
	var subject sql.NullString
	err := s.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Active, &subject, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt})
	u.Subject = subject.String
	return u, err
}

func checkUser(u tracker.User) error {
	if err := checkID("user", u.ID); err != nil {
		return err
	}
	p := tracker.Problems{}
	checkText(p, "email", u.Email, true, 320)
	checkText(p, "name", u.Name, true, 800)
	oneOf(p, "role", u.Role, tracker.Roles...)
	checkText(p, "subject", u.Subject, false, 1024)
	return p.Err(tracker.EInvalid, "invalid user")
}

// CreateUser stores a user; a taken email or subject is EConflict.
func (t *tx) CreateUser(ctx context.Context, u tracker.User) error {
	if err := checkUser(u); err != nil {
		return err
	}
	_, err := t.execN(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.Name, string(u.Role), u.Active, nullString(u.Subject), t.d.ts(t.stamp(u.CreatedAt)), t.d.ts(t.stamp(u.UpdatedAt)))
	if constraint(err) == "unique" {
		return conflict("a user with the email %q (or that sign-on identity) already exists", u.Email)
	}
	return wrap("create user", err)
}

func (t *tx) userBy(ctx context.Context, col, v string) (tracker.User, error) {
	u, err := scanUser(t.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE `+col+` = ?`, v))
	if errors.Is(err, sql.ErrNoRows) {
		return tracker.User{}, notFound("user not found")
	}
	return u, wrap("find user", err)
}

// GetUser finds a user by id.
func (t *tx) GetUser(ctx context.Context, id string) (tracker.User, error) {
	return t.userBy(ctx, "id", id)
}

// UserByEmail finds a user by (lower-cased) email.
func (t *tx) UserByEmail(ctx context.Context, email string) (tracker.User, error) {
	return t.userBy(ctx, "email", strings.ToLower(email))
}

// UserBySubject finds a user by single sign-on identity.
func (t *tx) UserBySubject(ctx context.Context, subject string) (tracker.User, error) {
	if subject == "" {
		return tracker.User{}, notFound("user not found")
	}
	return t.userBy(ctx, "subject", subject)
}

// ListUsers returns every user by name.
func (t *tx) ListUsers(ctx context.Context) ([]tracker.User, error) {
	return queryAll(ctx, t, "list users", scanUser, `SELECT `+userCols+` FROM users ORDER BY name, id`)
}

// UpdateUser replaces everything but the id and creation time.
func (t *tx) UpdateUser(ctx context.Context, u tracker.User) error {
	if err := checkUser(u); err != nil {
		return err
	}
	n, err := t.execN(ctx, `UPDATE users SET email = ?, name = ?, role = ?, active = ?, subject = ?, updated_at = ? WHERE id = ?`,
		u.Email, u.Name, string(u.Role), u.Active, nullString(u.Subject), t.d.ts(t.stamp(u.UpdatedAt)), u.ID)
	if constraint(err) == "unique" {
		return conflict("a user with the email %q (or that sign-on identity) already exists", u.Email)
	}
	if err != nil {
		return wrap("update user", err)
	}
	if n == 0 {
		return notFound("user %q not found", u.ID)
	}
	return nil
}

// ---- Tokens of users ----

const tokenCols = `id, COALESCE(user_id, ''), name, role, hash, created_at, expires_at, last_used_at`

func scanToken(s rowScanner) (store.Token, error) {
	var tk store.Token
	err := s.Scan(&tk.ID, &tk.UserID, &tk.Name, &tk.Role, &tk.Hash, timeCol{&tk.CreatedAt}, timeCol{&tk.ExpiresAt}, timeCol{&tk.LastUsedAt})
	return tk, err
}

// GetToken returns a token by id.
func (t *tx) GetToken(ctx context.Context, id string) (store.Token, error) {
	tk, err := scanToken(t.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Token{}, notFound("token %q not found", id)
	}
	return tk, wrap("get token", err)
}

// ListUserTokens returns a user's tokens, newest first.
func (t *tx) ListUserTokens(ctx context.Context, userID string) ([]store.Token, error) {
	return queryAll(ctx, t, "list tokens", scanToken, `SELECT `+tokenCols+` FROM tokens WHERE user_id = ? ORDER BY created_at DESC, id DESC`, userID)
}

// TouchToken records a use of a token.
func (t *tx) TouchToken(ctx context.Context, id string, at time.Time) error {
	_, err := t.execN(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, t.d.ts(at), id)
	return wrap("record token use", err)
}

// ---- Sessions ----

const sessionCols = `id, hash, COALESCE(user_id, ''), COALESCE(token_id, ''), name, role, csrf, created_at, seen_at`

// CreateSession stores a signed-in session.
func (t *tx) CreateSession(ctx context.Context, s store.Session) error {
	if err := checkID("session", s.ID); err != nil {
		return err
	}
	p := tracker.Problems{}
	checkText(p, "hash", s.Hash, true, 256)
	checkText(p, "csrf", s.CSRF, true, 256)
	checkText(p, "name", s.Name, true, 800)
	oneOf(p, "role", s.Role, tracker.Roles...)
	if err := p.Err(tracker.EInvalid, "invalid session"); err != nil {
		return err
	}
	_, err := t.execN(ctx, `INSERT INTO sessions (`+strings.ReplaceAll(strings.ReplaceAll(sessionCols, "COALESCE(user_id, '')", "user_id"), "COALESCE(token_id, '')", "token_id")+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.ID, s.Hash, nullString(s.UserID), nullString(s.TokenID), s.Name, string(s.Role), s.CSRF,
		t.d.ts(t.stamp(s.CreatedAt)), t.d.ts(t.stamp(s.SeenAt)))
	return wrap("create session", err)
}

// SessionByHash finds a session by the hash of its cookie secret.
func (t *tx) SessionByHash(ctx context.Context, hash string) (store.Session, error) {
	var s store.Session
	err := t.queryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE hash = ?`, hash).
		Scan(&s.ID, &s.Hash, &s.UserID, &s.TokenID, &s.Name, &s.Role, &s.CSRF, timeCol{&s.CreatedAt}, timeCol{&s.SeenAt})
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, notFound("session not found")
	}
	return s, wrap("find session", err)
}

// TouchSession records that a session was used.
func (t *tx) TouchSession(ctx context.Context, id string, at time.Time) error {
	_, err := t.execN(ctx, `UPDATE sessions SET seen_at = ? WHERE id = ?`, t.d.ts(at), id)
	return wrap("touch session", err)
}

// DeleteSession ends one session (absent is fine: signing out twice).
func (t *tx) DeleteSession(ctx context.Context, id string) error {
	_, err := t.execN(ctx, `DELETE FROM sessions WHERE id = ?`, id)
	return wrap("delete session", err)
}

// DeleteUserSessions ends every session of a user.
func (t *tx) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	n, err := t.execN(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	return int(n), wrap("delete the sessions of a user", err)
}

// DeleteSessionsBefore removes sessions idle since before idle or created
// before max.
func (t *tx) DeleteSessionsBefore(ctx context.Context, idle, max time.Time) (int, error) {
	n, err := t.execN(ctx, `DELETE FROM sessions WHERE seen_at < ? OR created_at < ?`, t.d.ts(idle), t.d.ts(max))
	return int(n), wrap("expire sessions", err)
}

// ---- Audit ----

// AddAudit appends an entry to the audit log.
func (t *tx) AddAudit(ctx context.Context, e store.AuditEntry) error {
	p := tracker.Problems{}
	checkText(p, "action", e.Action, true, 100)
	checkText(p, "actor", e.Actor, true, 800)
	checkText(p, "object", e.Object, false, 400)
	checkText(p, "remote", e.Remote, false, 200)
	if err := p.Err(tracker.EInvalid, "invalid audit entry"); err != nil {
		return err
	}
	if len(e.Detail) > 4000 {
		e.Detail = e.Detail[:4000]
	}
	_, err := t.execN(ctx, `INSERT INTO audit (at, actor_id, actor, action, object, detail, remote) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.d.ts(t.stamp(e.At)), e.ActorID, e.Actor, e.Action, e.Object, e.Detail, e.Remote)
	return wrap("add audit entry", err)
}

// ListAudit reads the audit log newest first, one page at a time (keyset
// on the id, so a page costs its size whatever the log's length).
func (t *tx) ListAudit(ctx context.Context, f store.AuditFilter) (store.AuditPage, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = store.DefaultPageSize
	case limit > store.MaxPageSize:
		limit = store.MaxPageSize
	}
	q := `SELECT id, at, actor_id, actor, action, object, detail, remote FROM audit WHERE 1 = 1`
	var args []any
	if f.Cursor != "" {
		before, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || before <= 0 {
			return store.AuditPage{}, invalid("invalid cursor: pass the next_cursor of the previous page unchanged")
		}
		q += ` AND id < ?`
		args = append(args, before)
	}
	switch {
	case strings.HasSuffix(f.Action, "."):
		q += ` AND action >= ? AND action < ?`
		args = append(args, f.Action, f.Action[:len(f.Action)-1]+"/") // "/" sorts right after "."
	case f.Action != "":
		q += ` AND action = ?`
		args = append(args, f.Action)
	}
	if f.ActorID != "" {
		q += ` AND actor_id = ?`
		args = append(args, f.ActorID)
	}
	if !f.Since.IsZero() {
		q += ` AND at >= ?`
		args = append(args, t.d.ts(f.Since))
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return store.AuditPage{}, wrap("list audit", err)
	}
	defer rows.Close()
	var page store.AuditPage
	for rows.Next() {
		var e store.AuditEntry
		if err := rows.Scan(&e.ID, timeCol{&e.At}, &e.ActorID, &e.Actor, &e.Action, &e.Object, &e.Detail, &e.Remote); err != nil {
			return store.AuditPage{}, wrap("list audit", err)
		}
		page.Entries = append(page.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return store.AuditPage{}, wrap("list audit", err)
	}
	if len(page.Entries) > limit {
		page.Entries = page.Entries[:limit]
		page.NextCursor = strconv.FormatInt(page.Entries[limit-1].ID, 10)
	}
	return page, nil
}
