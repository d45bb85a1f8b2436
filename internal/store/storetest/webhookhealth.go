package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// webhookHealthTests are the conformance tests of store.WebhookHealthTx.
var webhookHealthTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"WebhookHealth", testWebhookHealth},
	{"WebhookRejectionsAreBounded", testWebhookRejectionsAreBounded},
}

func webhookHealth(t *testing.T, s store.Store, conn string) (h store.WebhookHealth, err error) {
	t.Helper()
	err = s.View(t.Context(), func(tx store.Tx) error {
		h, err = tx.WebhookHealth(t.Context(), conn)
		return err
	})
	return h, err
}

func testWebhookHealth(t *testing.T, s store.Store) {
	su := newSetup(t, s, "acme", 0)
	other := newSetup(t, s, "other", 0)
	_, err := webhookHealth(t, s, "nope")
	wantErr(t, "WebhookHealth of an unknown connection", err, tracker.ENotFound, "nope")
	h, err := webhookHealth(t, s, su.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(store.WebhookHealth{ConnectionID: su.conn.ID}, h, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("health of a connection without deliveries (-want +got):\n%s", diff)
	}

	at := tracker.Truncate(base).UTC()
	inTx(t, s, func(tx store.Tx) error {
		// A batch counts its deliveries at once: two accepted, the last
		// at +2 min.
		if err := tx.CountWebhookResult(t.Context(), su.conn.ID, store.WebhookAccepted, 2, at.Add(2*minute)); err != nil {
			return err
		}
		if err := tx.CountWebhookResult(t.Context(), su.conn.ID, store.WebhookDuplicate, 1, at.Add(minute)); err != nil {
			return err
		}
		// An older delivery counted late does not move the last time back.
		if err := tx.CountWebhookResult(t.Context(), su.conn.ID, store.WebhookAccepted, 1, at); err != nil {
			return err
		}
		return tx.CountWebhookResult(t.Context(), other.conn.ID, store.WebhookAccepted, 1, at.Add(time.Hour))
	})
	body := "{\"webhookEvent\":\"jira:issue_updated\",\x00\n\"x\":\"" + strings.Repeat("é", 200) + "\xff\"}"
	inTx(t, s, func(tx store.Tx) error {
		return tx.RecordWebhookRejection(t.Context(), store.WebhookRejection{ConnectionID: su.conn.ID, At: at.Add(3 * minute),
			Result: store.WebhookUnauthorized, Reason: "the signature does not match", Excerpt: body})
	})
	h, err = webhookHealth(t, s, su.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	excerpt := store.SafeExcerpt([]byte(body))
	want := store.WebhookHealth{
		ConnectionID:   su.conn.ID,
		LastDeliveryAt: at.Add(2 * minute), // the rejection at +3 min does not count
		Counts: []store.WebhookCount{
			{Result: store.WebhookAccepted, Count: 3, LastAt: at.Add(2 * minute)}, // 2 + the late 1
			{Result: store.WebhookDuplicate, Count: 1, LastAt: at.Add(minute)},
			{Result: store.WebhookUnauthorized, Count: 1, LastAt: at.Add(3 * minute)},
		},
		Rejections: []store.WebhookRejection{{ConnectionID: su.conn.ID, At: at.Add(3 * minute), Result: store.WebhookUnauthorized,
			Reason: "the signature does not match", Excerpt: excerpt}},
	}
	if diff := cmp.Diff(want, h, cmpopts.IgnoreFields(store.WebhookRejection{}, "ID")); diff != "" {
		t.Errorf("webhook health (-want +got):\n%s", diff)
	}
	if len(excerpt) > store.MaxRejectionExcerpt || strings.ContainsAny(excerpt, "\x00\n\ufffd") || !strings.HasPrefix(excerpt, `{"webhookEvent":"jira:issue_updated",· "x":"éé`) {
		t.Errorf("excerpt of a rejected body: %q (%d bytes)", excerpt, len(excerpt))
	}

	// Bad input changes nothing.
	err = s.InTx(t.Context(), func(tx store.Tx) error {
		return tx.CountWebhookResult(t.Context(), su.conn.ID, "great", 1, at)
	})
	wantErr(t, "CountWebhookResult with an unknown result", err, tracker.EInvalid, "result")
	err = s.InTx(t.Context(), func(tx store.Tx) error {
		return tx.CountWebhookResult(t.Context(), su.conn.ID, store.WebhookAccepted, 0, at)
	})
	wantErr(t, "CountWebhookResult of no delivery", err, tracker.EInvalid, "at least 1")
	err = s.InTx(t.Context(), func(tx store.Tx) error {
		return tx.RecordWebhookRejection(t.Context(), store.WebhookRejection{ConnectionID: su.conn.ID, At: at, Result: store.WebhookAccepted})
	})
	wantErr(t, "RecordWebhookRejection of an accepted delivery", err, tracker.EInvalid, "result")
	err = s.InTx(t.Context(), func(tx store.Tx) error {
		return tx.RecordWebhookRejection(t.Context(), store.WebhookRejection{ConnectionID: "nope", At: at, Result: store.WebhookInvalid})
	})
	wantErr(t, "RecordWebhookRejection of an unknown connection", err, tracker.ENotFound, "nope")
	if h2, _ := webhookHealth(t, s, su.conn.ID); !cmp.Equal(h, h2) {
		t.Errorf("refused writes changed the health: %+v", h2)
	}

	// Deleting the connection (no integrations use other's) takes its
	// counts along.
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.DeleteIntegration(t.Context(), other.in.ID); err != nil {
			return err
		}
		return tx.DeleteConnection(t.Context(), other.conn.ID)
	})
}

// The store keeps the newest MaxWebhookRejections rejections (WebhookHealth
// reads every kept row, so more would show).
func testWebhookRejectionsAreBounded(t *testing.T, s store.Store) {
	su := newSetup(t, s, "acme", 0)
	at := tracker.Truncate(base).UTC()
	n := store.MaxWebhookRejections + 7
	for i := range n {
		inTx(t, s, func(tx store.Tx) error {
			return tx.RecordWebhookRejection(t.Context(), store.WebhookRejection{ConnectionID: su.conn.ID, At: at.Add(time.Duration(i) * time.Second),
				Result: store.WebhookInvalid, Reason: fmt.Sprintf("rejection %d", i)})
		})
	}
	h, err := webhookHealth(t, s, su.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Rejections) != store.MaxWebhookRejections || h.Rejections[0].Reason != fmt.Sprintf("rejection %d", n-1) ||
		h.Rejections[len(h.Rejections)-1].Reason != fmt.Sprintf("rejection %d", n-store.MaxWebhookRejections) {
		t.Errorf("kept %d rejections, newest %q", len(h.Rejections), h.Rejections[0].Reason)
	}
	if len(h.Counts) != 1 || h.Counts[0].Count != int64(n) {
		t.Errorf("counts: %+v, want %d invalid", h.Counts, n)
	}
}
