package people

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Session is a signed-in browser as the UI works with it.
type Session struct {
	ID    string
	CSRF  string
	Actor service.Actor
}

func randomString() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// SignInWithToken signs a browser in with an API token. It returns the
// session and the cookie's secret (only its hash is stored). Successes and
// failures are audited.
func (s *Service) SignInWithToken(ctx context.Context, secret string) (Session, string, error) {
	a, tok, err := s.authenticate(ctx, secret)
	if err != nil {
		if k := tracker.KindOf(err); k == tracker.EUnauthorized {
			s.record(ctx, service.Actor{}, "signin.failure", "", "token sign-in: "+err.Error())
		}
		return Session{}, "", err
	}
	return s.startSession(ctx, a, tok.ID, "token")
}

// startSession stores a session for a, signed in by method.
func (s *Service) startSession(ctx context.Context, a service.Actor, tokenID, method string) (Session, string, error) {
	cookie := randomString()
	now := s.now()
	row := store.Session{ID: newID(), Hash: hashSecret(cookie), UserID: a.UserID, TokenID: tokenID, Name: cmp.Or(a.Name, a.Email, "admin"),
		Role: a.Role, CSRF: randomString(), CreatedAt: now, SeenAt: now}
	if err := s.st.InTx(ctx, func(tx store.Tx) error { return tx.CreateSession(ctx, row) }); err != nil {
		return Session{}, "", fmt.Errorf("start a session: %w", err)
	}
	s.record(ctx, a, "signin.success", "session:"+row.ID, method)
	return Session{ID: row.ID, CSRF: row.CSRF, Actor: a}, cookie, nil
}

// SessionFor resolves a session cookie to its session, or EUnauthorized:
// unknown, idle too long, too old, or its user deactivated or its token
// revoked or expired since. A user's session acts with the user's current
// role, so a role change applies at once.
func (s *Service) SessionFor(ctx context.Context, cookie string) (Session, error) {
	if cookie == "" {
		return Session{}, tracker.Errorf(tracker.EUnauthorized, "not signed in")
	}
	var row store.Session
	var user tracker.User
	var tok store.Token
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		if row, err = tx.SessionByHash(ctx, hashSecret(cookie)); err != nil {
			return err
		}
		if row.UserID != "" {
			if user, err = tx.GetUser(ctx, row.UserID); err != nil {
				return err
			}
		}
		if row.TokenID != "" {
			tok, err = tx.GetToken(ctx, row.TokenID)
		}
		return err
	})
	if tracker.KindOf(err) == tracker.ENotFound {
		return Session{}, tracker.Errorf(tracker.EUnauthorized, "the session ended; sign in again")
	}
	if err != nil {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	now := s.now()
	ended := ""
	switch {
	case now.Sub(row.SeenAt) >= s.idle:
		ended = "idle for too long"
	case now.Sub(row.CreatedAt) >= s.max:
		ended = "older than the longest session allowed"
	case row.UserID != "" && !user.Active:
		ended = "the user is deactivated"
	case row.TokenID != "" && !tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt):
		ended = "the token it was started with expired"
	}
	if ended != "" {
		_ = s.st.InTx(ctx, func(tx store.Tx) error { return tx.DeleteSession(ctx, row.ID) })
		return Session{}, tracker.Errorf(tracker.EUnauthorized, "the session ended (%s); sign in again", ended)
	}
	a := service.Actor{Name: row.Name, Role: row.Role, Origin: tracker.OriginVulnsync}
	if row.UserID != "" {
		a = service.Actor{UserID: user.ID, Name: user.Name, Email: user.Email, Role: user.Role, Origin: tracker.OriginVulnsync}
	}
	if now.Sub(row.SeenAt) >= time.Minute {
		if err := s.st.InTx(ctx, func(tx store.Tx) error { return tx.TouchSession(ctx, row.ID, now) }); err != nil {
			s.log.Warn("touch session", "err", err)
		}
	}
	return Session{ID: row.ID, CSRF: row.CSRF, Actor: a}, nil
}

// SignOut ends one session.
func (s *Service) SignOut(ctx context.Context, sess Session) error {
	if err := s.st.InTx(ctx, func(tx store.Tx) error { return tx.DeleteSession(ctx, sess.ID) }); err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	s.record(ctx, sess.Actor, "signout", "session:"+sess.ID, "")
	return nil
}

// SignOutEverywhere ends every session of the session's user (only this
// one for the bootstrap token, which is no user) and says how many.
func (s *Service) SignOutEverywhere(ctx context.Context, sess Session) (int, error) {
	if sess.Actor.UserID == "" {
		return 1, s.SignOut(ctx, sess)
	}
	var n int
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteUserSessions(ctx, sess.Actor.UserID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sign out everywhere: %w", err)
	}
	s.record(ctx, sess.Actor, "signout.everywhere", "user:"+sess.Actor.UserID, fmt.Sprintf("%d session(s) ended", n))
	return n, nil
}

// ExpireSessions removes sessions past their idle or absolute limit; the
// server runs it now and then so the table does not grow.
func (s *Service) ExpireSessions(ctx context.Context) (int, error) {
	now := s.now()
	var n int
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteSessionsBefore(ctx, now.Add(-s.idle), now.Add(-s.max))
		return err
	})
	return n, err
}
