// Package people owns who may use vulnsync and what they did: users and
// their roles, API tokens (shown once, stored as hashes), browser sessions
// kept in the store, and the audit log. Authentication of every request
// (API token or session) ends here, in an actor whose role the one
// authorization rule (tracker.Role.Allows) judges.
package people

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/google/uuid"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Config is what the people service is built from.
type Config struct {
	Store  store.Store
	Logger *slog.Logger
	// Clock is the time source; nil is time.Now.
	Clock func() time.Time
	// SessionIdle and SessionMax bound a session: unused for SessionIdle
	// (default 8 h) or older than SessionMax (default 24 h), it ends.
	SessionIdle, SessionMax time.Duration
}

// Service is the people use cases.
type Service struct {
	st    store.Store
	log   *slog.Logger
	clock func() time.Time
	idle  time.Duration
	max   time.Duration
}

// New returns the service.
func New(cfg Config) *Service {
	s := &Service{st: cfg.Store, log: cfg.Logger, clock: cfg.Clock, idle: cfg.SessionIdle, max: cfg.SessionMax}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.idle <= 0 {
		s.idle = 8 * time.Hour
	}
	if s.max <= 0 {
		s.max = 24 * time.Hour
	}
	return s
}

func (s *Service) now() time.Time { return tracker.Truncate(s.clock()) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// tokenPrefix marks vulnsync tokens so that secret scanners can find leaks.
const tokenPrefix = "vs_"

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func newSecret() string {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(buf)
}

// --- Request context: where a request comes from -----------------------------

type remoteKey struct{}

// ContextWithRemote returns ctx carrying the client address of a request,
// for the audit log.
func ContextWithRemote(ctx context.Context, remoteAddr string) context.Context {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		remoteAddr = host
	}
	return context.WithValue(ctx, remoteKey{}, remoteAddr)
}

func remoteFrom(ctx context.Context) string {
	r, _ := ctx.Value(remoteKey{}).(string)
	return r
}

// --- Authorization ------------------------------------------------------------

// Authorize is the one authorization rule: the actor's role must hold the
// permission. It is EForbidden (403) otherwise.
func Authorize(a service.Actor, p tracker.Permission) error {
	if a.Role.Allows(p) {
		return nil
	}
	return tracker.Errorf(tracker.EForbidden, "the %s role may not do this (it needs %s)", roleName(a.Role), p)
}

func roleName(r tracker.Role) string {
	if r == "" {
		return "empty"
	}
	return string(r)
}

// selfOrAdmin allows acting on a user's own things, or an admin on anyone's.
func selfOrAdmin(a service.Actor, userID string) error {
	if a.UserID != "" && a.UserID == userID {
		return nil
	}
	if a.Role.Allows(tracker.PermAdmin) {
		return nil
	}
	return tracker.Errorf(tracker.EForbidden, "only the user themselves or an admin may do this")
}

// --- Authentication ----------------------------------------------------------

// Authenticate resolves an API token to its actor, or EUnauthorized: an
// unknown, expired or revoked token, or one of a deactivated user. A
// user's token acts with the user's current role. Failures are audited.
func (s *Service) Authenticate(ctx context.Context, secret string) (service.Actor, error) {
	a, _, err := s.authenticate(ctx, secret)
	return a, err
}

// authenticate is Authenticate that also returns the token.
func (s *Service) authenticate(ctx context.Context, secret string) (service.Actor, store.Token, error) {
	if secret == "" {
		return service.Actor{}, store.Token{}, tracker.Errorf(tracker.EUnauthorized, "missing bearer token")
	}
	hash := hashSecret(secret)
	var tok store.Token
	var user tracker.User
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		if tok, err = tx.TokenByHash(ctx, hash); err != nil {
			return err
		}
		if tok.UserID != "" {
			user, err = tx.GetUser(ctx, tok.UserID)
		}
		return err
	})
	if err != nil {
		if tracker.KindOf(err) == tracker.ENotFound {
			return service.Actor{}, store.Token{}, tracker.Errorf(tracker.EUnauthorized, "invalid bearer token")
		}
		return service.Actor{}, store.Token{}, fmt.Errorf("authenticate: %w", err)
	}
	// The hash lookup already matched; compare again in constant time so a
	// store that matched loosely can never let a token in.
	if subtle.ConstantTimeCompare([]byte(tok.Hash), []byte(hash)) != 1 {
		return service.Actor{}, store.Token{}, tracker.Errorf(tracker.EUnauthorized, "invalid bearer token")
	}
	now := s.now()
	if !tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt) {
		return service.Actor{}, store.Token{}, tracker.Errorf(tracker.EUnauthorized, "the token %q expired on %s", tok.Name, tok.ExpiresAt.Format(time.DateOnly))
	}
	a := service.Actor{Name: tok.Name, Role: tracker.Role(tok.Role), Origin: tracker.OriginVulnsync}
	if tok.UserID != "" {
		if !user.Active {
			return service.Actor{}, store.Token{}, tracker.Errorf(tracker.EUnauthorized, "the user %s is deactivated", user.Email)
		}
		a = service.Actor{UserID: user.ID, Name: user.Name, Email: user.Email, Role: user.Role, Origin: tracker.OriginVulnsync}
	}
	// Last use, to the minute: one write a minute per token at most.
	if now.Sub(tok.LastUsedAt) >= time.Minute {
		if err := s.st.InTx(ctx, func(tx store.Tx) error { return tx.TouchToken(ctx, tok.ID, now) }); err != nil {
			s.log.Warn("record token use", "token", tok.ID, "err", err)
		}
	}
	return a, tok, nil
}

// The names of the bootstrap admin tokens: the one set by
// VULNSYNC_ADMIN_TOKEN and the one generated at first start.
const (
	bootstrapEnvName       = "admin (VULNSYNC_ADMIN_TOKEN)"
	bootstrapGeneratedName = "admin"
)

// BootstrapAdminToken makes sure an admin token exists. With envToken set
// (VULNSYNC_ADMIN_TOKEN), that value is registered (hashed), replacing any
// earlier bootstrap token, and "" is returned. Otherwise, when no token
// exists yet, one is generated, stored hashed and returned so the caller can
// print it once; later starts return "".
func (s *Service) BootstrapAdminToken(ctx context.Context, envToken string) (string, error) {
	var created string
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		if envToken != "" {
			if len(envToken) < 16 {
				return tracker.Errorf(tracker.EInvalid, "VULNSYNC_ADMIN_TOKEN must be at least 16 characters")
			}
			// The bootstrap token replaces the previous one: changing
			// VULNSYNC_ADMIN_TOKEN is how it is revoked, so every other
			// bootstrap token (an earlier value, or the one generated at
			// first start) stops working with this start.
			hash := hashSecret(envToken)
			all, err := tx.ListTokens(ctx)
			if err != nil {
				return err
			}
			have := false
			for _, tk := range all {
				switch {
				case tk.Hash == hash:
					have = true
				case tk.UserID == "" && (tk.Name == bootstrapEnvName || tk.Name == bootstrapGeneratedName):
					if err := tx.DeleteToken(ctx, tk.ID); err != nil {
						return err
					}
					s.log.Info("revoked the previous bootstrap admin token", "token", tk.ID, "name", tk.Name)
				}
			}
			if have {
				return nil
			}
			return tx.CreateToken(ctx, store.Token{ID: newID(), Name: bootstrapEnvName, Role: string(tracker.RoleAdmin), Hash: hash, CreatedAt: s.now()})
		}
		n, err := tx.CountTokens(ctx)
		if err != nil || n > 0 {
			return err
		}
		created = newSecret()
		return tx.CreateToken(ctx, store.Token{ID: newID(), Name: bootstrapGeneratedName, Role: string(tracker.RoleAdmin), Hash: hashSecret(created), CreatedAt: s.now()})
	})
	if err != nil {
		return "", fmt.Errorf("bootstrap admin token: %w", err)
	}
	return created, nil
}

// --- Audit --------------------------------------------------------------------

// Record appends an entry to the audit log for what the request's actor
// (service.ActorFrom) just did, from its address. It never fails the
// action it records: a failure to write is logged. Use cases call it
// after their change committed.
func (s *Service) Record(ctx context.Context, action, object, detail string) {
	a, _ := service.ActorFrom(ctx)
	s.record(ctx, a, action, object, detail)
}

func (s *Service) record(ctx context.Context, a service.Actor, action, object, detail string) {
	name := a.Name
	if a.Email != "" {
		name = fmt.Sprintf("%s <%s>", a.Name, a.Email)
	}
	if name == "" {
		name = "anonymous"
	}
	e := store.AuditEntry{At: s.now(), ActorID: a.UserID, Actor: name, Action: action, Object: object, Detail: detail, Remote: remoteFrom(ctx)}
	ctx = context.WithoutCancel(ctx)
	if err := s.st.InTx(ctx, func(tx store.Tx) error { return tx.AddAudit(ctx, e) }); err != nil {
		s.log.Error("write audit entry", "action", action, "object", object, "err", err)
	}
}

// AuditQuery is a request for a page of the audit log.
type AuditQuery = store.AuditFilter

// Audit reads the audit log (admins only), newest first.
func (s *Service) Audit(ctx context.Context, by service.Actor, q AuditQuery) (store.AuditPage, error) {
	if err := Authorize(by, tracker.PermAdmin); err != nil {
		return store.AuditPage{}, err
	}
	var page store.AuditPage
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		page, err = tx.ListAudit(ctx, q)
		return err
	})
	if err != nil {
		return store.AuditPage{}, fmt.Errorf("read the audit log: %w", err)
	}
	return page, nil
}
