package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// acceptanceTests cover AcceptanceTx.
var acceptanceTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"AcceptanceRoundTrip", testAcceptanceRoundTrip},
	{"AcceptancePagesAndDue", testAcceptancePagesAndDue},
}

func newAcceptance(itemID, targetID string, state tracker.AcceptanceState, expires time.Time) tracker.Acceptance {
	return tracker.Acceptance{ID: newID(), ItemID: itemID, TargetID: targetID, Status: tracker.StatusAcceptedRisk, State: state,
		Reason: "compensating WAF rule", ExpiresAt: tracker.Truncate(expires), RequestedByID: "u-alice", RequestedBy: "alice@example.test",
		Origin: tracker.OriginVulnsync, CreatedAt: tracker.Truncate(base), UpdatedAt: tracker.Truncate(base)}
}

// testAcceptanceRoundTrip: an acceptance reads back as written; an item
// has one open acceptance at most; a decision applies only from the state
// it was made on (the first decider wins); once closed, a new request is
// allowed.
func testAcceptanceRoundTrip(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "shop")
	it := createItem(t, s, tg.ID, vuln("XSS"), nil, base)
	a := newAcceptance(it.ID, tg.ID, tracker.AcceptancePending, base.Add(90*24*time.Hour))
	inTx(t, s, func(tx store.Tx) error { return tx.CreateAcceptance(t.Context(), a) })
	var got, open tracker.Acceptance
	view(t, s, func(tx store.Tx) error {
		var err error
		if got, err = tx.GetAcceptance(t.Context(), a.ID); err != nil {
			return err
		}
		open, err = tx.OpenAcceptance(t.Context(), it.ID)
		return err
	})
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	if open.ID != a.ID {
		t.Errorf("open acceptance of the item: %s, want %s", open.ID, a.ID)
	}
	second := newAcceptance(it.ID, tg.ID, tracker.AcceptancePending, base.Add(time.Hour))
	err := s.InTx(t.Context(), func(tx store.Tx) error { return tx.CreateAcceptance(t.Context(), second) })
	wantErr(t, "a second open acceptance of one item", err, tracker.EConflict, "pending")
	err = s.InTx(t.Context(), func(tx store.Tx) error {
		return tx.CreateAcceptance(t.Context(), newAcceptance("no-such-item", tg.ID, tracker.AcceptancePending, base))
	})
	wantErr(t, "an acceptance of a missing item", err, tracker.ENotFound)

	approved := a
	approved.State, approved.DecidedByID, approved.DecidedBy, approved.DecidedAt = tracker.AcceptanceApproved, "u-bob", "bob@example.test", tracker.Truncate(base.Add(time.Minute))
	approved.UpdatedAt = approved.DecidedAt
	inTx(t, s, func(tx store.Tx) error { return tx.UpdateAcceptance(t.Context(), approved, tracker.AcceptancePending) })
	err = s.InTx(t.Context(), func(tx store.Tx) error { return tx.CreateAcceptance(t.Context(), second) })
	wantErr(t, "a request while one is approved (the message reaches Jira)", err, tracker.EConflict, "already has an approved acceptance")
	rejected := a
	rejected.State = tracker.AcceptanceRejected
	err = s.InTx(t.Context(), func(tx store.Tx) error { return tx.UpdateAcceptance(t.Context(), rejected, tracker.AcceptancePending) })
	wantErr(t, "a decision on an acceptance decided meanwhile", err, tracker.EConflict)
	err = s.InTx(t.Context(), func(tx store.Tx) error {
		return tx.UpdateAcceptance(t.Context(), tracker.Acceptance{ID: "nope", State: tracker.AcceptanceRevoked}, tracker.AcceptanceApproved)
	})
	wantErr(t, "a decision on a missing acceptance", err, tracker.ENotFound)
	view(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.GetAcceptance(t.Context(), a.ID)
		return err
	})
	if diff := cmp.Diff(approved, got); diff != "" {
		t.Errorf("after approval (-want +got):\n%s", diff)
	}

	revoked := approved
	revoked.State = tracker.AcceptanceRevoked
	inTx(t, s, func(tx store.Tx) error { return tx.UpdateAcceptance(t.Context(), revoked, tracker.AcceptanceApproved) })
	err = s.View(t.Context(), func(tx store.Tx) error { _, err := tx.OpenAcceptance(t.Context(), it.ID); return err })
	wantErr(t, "the open acceptance after revocation", err, tracker.ENotFound)
	inTx(t, s, func(tx store.Tx) error { return tx.CreateAcceptance(t.Context(), second) })
}

// testAcceptancePagesAndDue: keyset pages newest first, filtered by state
// and item; an invalid cursor or state is refused; DueAcceptances lists
// only approved acceptances expired by then, oldest expiry first.
func testAcceptancePagesAndDue(t *testing.T, s store.Store) {
	tg := createTarget(t, s, "shop")
	var all []tracker.Acceptance
	states := []tracker.AcceptanceState{tracker.AcceptancePending, tracker.AcceptanceApproved, tracker.AcceptanceApproved, tracker.AcceptanceRejected, tracker.AcceptanceApproved}
	for i, st := range states {
		it := createItem(t, s, tg.ID, vuln("item"), nil, base)
		a := newAcceptance(it.ID, tg.ID, st, base.Add(time.Duration(5-i)*time.Hour))
		inTx(t, s, func(tx store.Tx) error { return tx.CreateAcceptance(t.Context(), a) })
		all = append(all, a)
	}
	ids := func(as []tracker.Acceptance) []string {
		out := []string{}
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	var seen []string
	cursor := ""
	for range 5 {
		var page store.AcceptancePage
		view(t, s, func(tx store.Tx) error {
			var err error
			page, err = tx.ListAcceptances(t.Context(), store.AcceptanceFilter{Cursor: cursor, Limit: 2})
			return err
		})
		seen = append(seen, ids(page.Acceptances)...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	want := []string{all[4].ID, all[3].ID, all[2].ID, all[1].ID, all[0].ID}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("pages of 2, newest first (-want +got):\n%s", diff)
	}
	var approved, ofItem store.AcceptancePage
	var due []tracker.Acceptance
	view(t, s, func(tx store.Tx) error {
		var err error
		if approved, err = tx.ListAcceptances(t.Context(), store.AcceptanceFilter{State: tracker.AcceptanceApproved}); err != nil {
			return err
		}
		if ofItem, err = tx.ListAcceptances(t.Context(), store.AcceptanceFilter{ItemID: all[3].ItemID}); err != nil {
			return err
		}
		due, err = tx.DueAcceptances(t.Context(), base.Add(3*time.Hour+30*time.Minute), 10)
		return err
	})
	if diff := cmp.Diff([]string{all[4].ID, all[2].ID, all[1].ID}, ids(approved.Acceptances)); diff != "" {
		t.Errorf("approved (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{all[3].ID}, ids(ofItem.Acceptances)); diff != "" {
		t.Errorf("of one item (-want +got):\n%s", diff)
	}
	// Expiries: all[1] at +4h, all[2] at +3h, all[4] at +1h.
	if diff := cmp.Diff([]string{all[4].ID, all[2].ID}, ids(due)); diff != "" {
		t.Errorf("due at +3h30 (-want +got):\n%s", diff)
	}
	err := s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.ListAcceptances(t.Context(), store.AcceptanceFilter{Cursor: "!!"})
		return err
	})
	wantErr(t, "a forged cursor", err, tracker.EInvalid, "cursor")
	err = s.View(t.Context(), func(tx store.Tx) error {
		_, err := tx.ListAcceptances(t.Context(), store.AcceptanceFilter{State: "maybe"})
		return err
	})
	wantErr(t, "an unknown state", err, tracker.EInvalid, "state")
}
