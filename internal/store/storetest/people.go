package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// peopleTests covers users, their tokens and sessions, and the audit log.
var peopleTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"Users", testUsers},
	{"UserTokensAndSessions", testUserTokensAndSessions},
	{"AuditLog", testAuditLog},
}

func newUser(email string, role tracker.Role) tracker.User {
	return tracker.User{ID: newID(), Email: email, Name: strings.Split(email, "@")[0], Role: role, Active: true,
		CreatedAt: tracker.Truncate(base), UpdatedAt: tracker.Truncate(base)}
}

func testUsers(t *testing.T, s store.Store) {
	alice := newUser("alice@example.test", tracker.RoleAnalyst)
	alice.Subject = "https://idp.example.test|alice"
	bob := newUser("bob@example.test", tracker.RoleViewer)
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.CreateUser(t.Context(), alice); err != nil {
			return err
		}
		return tx.CreateUser(t.Context(), bob)
	})
	view(t, s, func(tx store.Tx) error {
		for what, get := range map[string]func() (tracker.User, error){
			"GetUser":       func() (tracker.User, error) { return tx.GetUser(t.Context(), alice.ID) },
			"UserByEmail":   func() (tracker.User, error) { return tx.UserByEmail(t.Context(), "ALICE@example.test") },
			"UserBySubject": func() (tracker.User, error) { return tx.UserBySubject(t.Context(), alice.Subject) },
		} {
			got, err := get()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if diff := cmp.Diff(alice, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", what, diff)
			}
		}
		users, err := tx.ListUsers(t.Context())
		if err != nil || len(users) != 2 || users[0].ID != alice.ID {
			t.Errorf("ListUsers: %v, %+v", err, users)
		}
		return nil
	})
	wantErr(t, "CreateUser with a taken email", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateUser(t.Context(), newUser("alice@example.test", tracker.RoleAdmin))
	}), tracker.EConflict)
	wantErr(t, "CreateUser with an unknown role", txErr(t, s, func(tx store.Tx) error {
		return tx.CreateUser(t.Context(), newUser("carol@example.test", "owner"))
	}), tracker.EInvalid, "role")
	wantErr(t, "UserBySubject unknown", txErr(t, s, func(tx store.Tx) error {
		_, err := tx.UserBySubject(t.Context(), "nobody")
		return err
	}), tracker.ENotFound)
	bob.Role, bob.Active, bob.UpdatedAt = tracker.RoleAdmin, false, tracker.Truncate(base.Add(time.Hour))
	inTx(t, s, func(tx store.Tx) error { return tx.UpdateUser(t.Context(), bob) })
	view(t, s, func(tx store.Tx) error {
		got, err := tx.GetUser(t.Context(), bob.ID)
		if err != nil || got.Role != tracker.RoleAdmin || got.Active {
			t.Errorf("after UpdateUser: %+v, %v", got, err)
		}
		return nil
	})
	wantErr(t, "UpdateUser unknown", txErr(t, s, func(tx store.Tx) error {
		return tx.UpdateUser(t.Context(), newUser("dave@example.test", tracker.RoleViewer))
	}), tracker.ENotFound)
}

func testUserTokensAndSessions(t *testing.T, s store.Store) {
	alice := newUser("alice@example.test", tracker.RoleAnalyst)
	tok := store.Token{ID: newID(), UserID: alice.ID, Name: "ci", Role: string(tracker.RoleAnalyst), Hash: strings.Repeat("ab", 32),
		CreatedAt: tracker.Truncate(base), ExpiresAt: tracker.Truncate(base.Add(24 * time.Hour))}
	sess := store.Session{ID: newID(), Hash: strings.Repeat("cd", 32), UserID: alice.ID, TokenID: tok.ID, Name: "alice",
		Role: tracker.RoleAnalyst, CSRF: "csrf-token", CreatedAt: tracker.Truncate(base), SeenAt: tracker.Truncate(base)}
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.CreateUser(t.Context(), alice); err != nil {
			return err
		}
		if err := tx.CreateToken(t.Context(), tok); err != nil {
			return err
		}
		return tx.CreateSession(t.Context(), sess)
	})
	used := tracker.Truncate(base.Add(time.Minute))
	inTx(t, s, func(tx store.Tx) error { return tx.TouchToken(t.Context(), tok.ID, used) })
	view(t, s, func(tx store.Tx) error {
		got, err := tx.TokenByHash(t.Context(), tok.Hash)
		want := tok
		want.LastUsedAt = used
		if err != nil {
			t.Fatalf("TokenByHash: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("token of a user (-want +got):\n%s", diff)
		}
		list, err := tx.ListUserTokens(t.Context(), alice.ID)
		if err != nil || len(list) != 1 || list[0].ID != tok.ID {
			t.Errorf("ListUserTokens: %v %+v", err, list)
		}
		gs, err := tx.SessionByHash(t.Context(), sess.Hash)
		if err != nil {
			t.Fatalf("SessionByHash: %v", err)
		}
		if diff := cmp.Diff(sess, gs); diff != "" {
			t.Errorf("session (-want +got):\n%s", diff)
		}
		return nil
	})
	// Revoking the token ends the sessions signed in with it.
	inTx(t, s, func(tx store.Tx) error { return tx.DeleteToken(t.Context(), tok.ID) })
	wantErr(t, "session of a revoked token", txErr(t, s, func(tx store.Tx) error {
		_, err := tx.SessionByHash(t.Context(), sess.Hash)
		return err
	}), tracker.ENotFound)

	// Sign out everywhere; the expiry sweep.
	for i := range 3 {
		ss := sess
		ss.ID, ss.Hash, ss.TokenID = newID(), fmt.Sprintf("%064d", i), ""
		ss.SeenAt = tracker.Truncate(base.Add(time.Duration(i) * time.Hour))
		inTx(t, s, func(tx store.Tx) error { return tx.CreateSession(t.Context(), ss) })
	}
	var n int
	inTx(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteSessionsBefore(t.Context(), base.Add(90*time.Minute), base.Add(-time.Hour))
		return err
	})
	if n != 2 {
		t.Errorf("DeleteSessionsBefore: %d removed, want the 2 idle ones", n)
	}
	inTx(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteUserSessions(t.Context(), alice.ID)
		return err
	})
	if n != 1 {
		t.Errorf("DeleteUserSessions: %d removed, want 1", n)
	}
}

func testAuditLog(t *testing.T, s store.Store) {
	actions := []string{"user.create", "token.create", "user.update", "signin.failure", "user.create"}
	for i, a := range actions {
		e := store.AuditEntry{At: base.Add(time.Duration(i) * time.Second), ActorID: "u1", Actor: "Alice", Action: a, Object: fmt.Sprintf("user:%d", i), Remote: "192.0.2.1"}
		if a == "signin.failure" {
			e.ActorID, e.Actor = "", "anonymous"
		}
		inTx(t, s, func(tx store.Tx) error { return tx.AddAudit(t.Context(), e) })
	}
	var all []store.AuditEntry
	cursor := ""
	for {
		var page store.AuditPage
		view(t, s, func(tx store.Tx) error {
			var err error
			page, err = tx.ListAudit(t.Context(), store.AuditFilter{Limit: 2, Cursor: cursor})
			return err
		})
		all = append(all, page.Entries...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(all) != len(actions) || all[0].Action != "user.create" || all[0].Object != "user:4" || all[4].Object != "user:0" {
		t.Fatalf("audit pages, newest first: %+v", all)
	}
	for f, want := range map[store.AuditFilter]int{
		{Action: "user."}:                  3,
		{Action: "user.create"}:            2,
		{ActorID: "u1"}:                    4,
		{Since: base.Add(3 * time.Second)}: 2,
		{Action: "signin.", ActorID: "u1"}: 0,
		{Action: "token.", Since: base}:    1,
	} {
		view(t, s, func(tx store.Tx) error {
			page, err := tx.ListAudit(t.Context(), f)
			if err != nil || len(page.Entries) != want {
				t.Errorf("ListAudit(%+v): %d entries, %v; want %d", f, len(page.Entries), err, want)
			}
			return nil
		})
	}
	wantErr(t, "ListAudit with a bad cursor", txErr(t, s, func(tx store.Tx) error {
		_, err := tx.ListAudit(t.Context(), store.AuditFilter{Cursor: "x"})
		return err
	}), tracker.EInvalid, "cursor")
}
