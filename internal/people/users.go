package people

import (
	"context"
	"fmt"
	"time"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// NewUser is what an admin gives to create a user.
type NewUser struct {
	Email string       `json:"email"`
	Name  string       `json:"name"`
	Role  tracker.Role `json:"role"`
}

// UserPatch changes a user; nil leaves a field alone.
type UserPatch struct {
	Name   *string       `json:"name,omitempty"`
	Role   *tracker.Role `json:"role,omitempty"`
	Active *bool         `json:"active,omitempty"`
}

// Me is the signed-in actor as the API shows it.
type Me struct {
	UserID string       `json:"user_id,omitempty"`
	Name   string       `json:"name"`
	Email  string       `json:"email,omitempty"`
	Role   tracker.Role `json:"role"`
	// Bootstrap is true for the bootstrap admin token, which is no user.
	Bootstrap bool `json:"bootstrap"`
}

// WhoAmI describes the actor.
func WhoAmI(a service.Actor) Me {
	return Me{UserID: a.UserID, Name: a.Name, Email: a.Email, Role: a.Role, Bootstrap: a.UserID == ""}
}

// CreateUser adds a user (admins only).
func (s *Service) CreateUser(ctx context.Context, by service.Actor, in NewUser) (tracker.User, error) {
	if err := Authorize(by, tracker.PermAdmin); err != nil {
		return tracker.User{}, err
	}
	now := s.now()
	u := tracker.User{ID: newID(), Email: in.Email, Name: in.Name, Role: in.Role, Active: true, CreatedAt: now, UpdatedAt: now}
	if err := tracker.ValidateUser(&u); err != nil {
		return tracker.User{}, err
	}
	if err := s.st.InTx(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
		return tracker.User{}, fmt.Errorf("create user %s: %w", u.Email, err)
	}
	s.record(ctx, by, "user.create", "user:"+u.ID, fmt.Sprintf("%s <%s> as %s", u.Name, u.Email, u.Role))
	return u, nil
}

// Users lists the users (admins only).
func (s *Service) Users(ctx context.Context, by service.Actor) ([]tracker.User, error) {
	if err := Authorize(by, tracker.PermAdmin); err != nil {
		return nil, err
	}
	var out []tracker.User
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListUsers(ctx)
		return err
	})
	return out, err
}

// User reads one user: themselves, or anyone for an admin.
func (s *Service) User(ctx context.Context, by service.Actor, id string) (tracker.User, error) {
	if err := selfOrAdmin(by, id); err != nil {
		return tracker.User{}, err
	}
	var u tracker.User
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		u, err = tx.GetUser(ctx, id)
		return err
	})
	return u, err
}

// UpdateUser renames a user, changes their role or (de)activates them
// (admins only). Deactivation ends their sessions at once; their tokens
// stop working at once because every use checks the user.
func (s *Service) UpdateUser(ctx context.Context, by service.Actor, id string, p UserPatch) (tracker.User, error) {
	if err := Authorize(by, tracker.PermAdmin); err != nil {
		return tracker.User{}, err
	}
	if p.Name == nil && p.Role == nil && p.Active == nil {
		return tracker.User{}, tracker.Errorf(tracker.EInvalid, "nothing to change: give name, role or active")
	}
	var before, u tracker.User
	ended := 0
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		if before, err = tx.GetUser(ctx, id); err != nil {
			return err
		}
		u = before
		if p.Name != nil {
			u.Name = *p.Name
		}
		if p.Role != nil {
			u.Role = *p.Role
		}
		if p.Active != nil {
			u.Active = *p.Active
		}
		if err := tracker.ValidateUser(&u); err != nil {
			return err
		}
		if by.UserID == id && (!u.Active || u.Role != tracker.RoleAdmin) {
			return tracker.Errorf(tracker.EConflict, "you cannot demote or deactivate yourself; another admin can")
		}
		u.UpdatedAt = s.now()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if before.Active && !u.Active {
			ended, err = tx.DeleteUserSessions(ctx, id)
		}
		return err
	})
	if err != nil {
		return tracker.User{}, fmt.Errorf("update user %s: %w", id, err)
	}
	switch {
	case before.Active && !u.Active:
		s.record(ctx, by, "user.deactivate", "user:"+id, fmt.Sprintf("%s; %d session(s) ended", u.Email, ended))
	case !before.Active && u.Active:
		s.record(ctx, by, "user.activate", "user:"+id, u.Email)
	}
	if before.Role != u.Role {
		s.record(ctx, by, "user.role", "user:"+id, fmt.Sprintf("%s: %s → %s", u.Email, before.Role, u.Role))
	}
	if before.Name != u.Name {
		s.record(ctx, by, "user.rename", "user:"+id, fmt.Sprintf("%q → %q", before.Name, u.Name))
	}
	return u, nil
}

// --- Tokens -------------------------------------------------------------------

// NewToken is what a user gives to create an API token.
type NewToken struct {
	Name      string    `json:"name"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// TokenView is a token as the API shows it; Token (the secret) is filled
// only in the answer that created it.
type TokenView struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	Name       string    `json:"name"`
	Token      string    `json:"token,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

func tokenView(t store.Token) TokenView {
	return TokenView{ID: t.ID, UserID: t.UserID, Name: t.Name, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt}
}

// CreateToken gives a user a new API token: by the user, or by an admin.
// The secret is in the answer, this once; only its hash is kept.
func (s *Service) CreateToken(ctx context.Context, by service.Actor, userID string, in NewToken) (TokenView, error) {
	if err := selfOrAdmin(by, userID); err != nil {
		return TokenView{}, err
	}
	p := tracker.Problems{}
	if n := tracker.TextLen(in.Name); n == 0 || n > 200 {
		p.Add("name", "must be 1 to 200 characters")
	}
	now := s.now()
	if !in.ExpiresAt.IsZero() && !in.ExpiresAt.After(now) {
		p.Add("expires_at", "must be in the future")
	}
	if err := p.Err(tracker.EInvalid, "invalid token"); err != nil {
		return TokenView{}, err
	}
	secret := newSecret()
	tk := store.Token{ID: newID(), Name: in.Name, Hash: hashSecret(secret), CreatedAt: now, ExpiresAt: tracker.Truncate(in.ExpiresAt), UserID: userID}
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(ctx, userID)
		if err != nil {
			return err
		}
		if !u.Active {
			return tracker.Errorf(tracker.EConflict, "the user %s is deactivated", u.Email)
		}
		tk.Role = string(u.Role) // informative: the user's role at each use decides
		return tx.CreateToken(ctx, tk)
	})
	if err != nil {
		return TokenView{}, fmt.Errorf("create a token for user %s: %w", userID, err)
	}
	s.record(ctx, by, "token.create", "token:"+tk.ID, fmt.Sprintf("%q for user %s", tk.Name, userID))
	v := tokenView(tk)
	v.Token = secret
	return v, nil
}

// Tokens lists a user's tokens (without secrets): by the user, or an admin.
func (s *Service) Tokens(ctx context.Context, by service.Actor, userID string) ([]TokenView, error) {
	if err := selfOrAdmin(by, userID); err != nil {
		return nil, err
	}
	var out []TokenView
	err := s.st.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetUser(ctx, userID); err != nil {
			return err
		}
		ts, err := tx.ListUserTokens(ctx, userID)
		for _, t := range ts {
			out = append(out, tokenView(t))
		}
		return err
	})
	return out, err
}

// RevokeToken deletes a token (and the sessions signed in with it): by its
// owner, or an admin. The bootstrap token is revoked by changing
// VULNSYNC_ADMIN_TOKEN, not here.
func (s *Service) RevokeToken(ctx context.Context, by service.Actor, tokenID string) error {
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		tk, err := tx.GetToken(ctx, tokenID)
		if err != nil {
			return err
		}
		if tk.UserID == "" {
			return tracker.Errorf(tracker.EConflict, "the bootstrap admin token is replaced by setting a new VULNSYNC_ADMIN_TOKEN, not revoked here")
		}
		if err := selfOrAdmin(by, tk.UserID); err != nil {
			return err
		}
		return tx.DeleteToken(ctx, tokenID)
	})
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", tokenID, err)
	}
	s.record(ctx, by, "token.revoke", "token:"+tokenID, "")
	return nil
}
