package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

type auditLog struct{ actions []string }

func (l *auditLog) Record(ctx context.Context, action, object, detail string) {
	a, _ := service.ActorFrom(ctx)
	l.actions = append(l.actions, a.Name+" "+action)
}

// TestAcceptanceWorkflow: a request needs a reason and a future expiry and
// changes nothing; the requester cannot approve it, nor can a non-admin;
// another admin's approval accepts the item; the expiry reopens it; each
// step comments the item and is audited; a decided acceptance cannot be
// decided again.
func TestAcceptanceWorkflow(t *testing.T) {
	f := newFixture(t)
	audit := &auditLog{}
	f.svc = service.New(service.Config{Store: f.st, Clock: func() time.Time { return f.now }, Audit: audit})
	ctx := t.Context()
	it, err := f.svc.CreateItem(ctx, alice, f.target.ID, tracker.NewItem{Kind: tracker.KindVulnerability, Title: "TLS 1.0 on legacy host", Severity: tracker.SeverityMedium})
	if err != nil {
		t.Fatal(err)
	}
	alice := service.Actor{UserID: "u-alice", Name: "alice", Email: "alice@example.test", Role: tracker.RoleAdmin, Origin: tracker.OriginVulnsync}
	bob := service.Actor{UserID: "u-bob", Name: "bob", Email: "bob@example.test", Role: tracker.RoleAdmin, Origin: tracker.OriginVulnsync}
	carol := service.Actor{UserID: "u-carol", Name: "carol", Email: "carol@example.test", Role: tracker.RoleAnalyst, Origin: tracker.OriginVulnsync}
	until := f.now.Add(30 * 24 * time.Hour)

	for _, c := range []struct {
		name  string
		req   tracker.AcceptanceRequest
		field string
	}{
		{"no reason", tracker.AcceptanceRequest{ExpiresAt: until}, "reason"},
		{"no expiry", tracker.AcceptanceRequest{Reason: "legacy"}, "expires_at"},
		{"past expiry", tracker.AcceptanceRequest{Reason: "legacy", ExpiresAt: f.now.Add(-time.Hour)}, "expires_at"},
		{"bad status", tracker.AcceptanceRequest{Reason: "legacy", ExpiresAt: until, Status: tracker.StatusResolved}, "status"},
	} {
		_, err := f.svc.RequestAcceptance(ctx, carol, it.ID, c.req)
		var te *tracker.Error
		if tracker.KindOf(err) != tracker.EInvalid || !asError(err, &te) || te.Fields[c.field] == "" {
			t.Errorf("%s: %v, want a problem on %s", c.name, err, c.field)
		}
	}
	a, err := f.svc.RequestAcceptance(ctx, alice, it.ID, tracker.AcceptanceRequest{Reason: "decommissioned in Q3", ExpiresAt: until})
	if err != nil {
		t.Fatal(err)
	}
	if a.State != tracker.AcceptancePending || a.Status != tracker.StatusAcceptedRisk {
		t.Errorf("request: %+v", a)
	}
	if got, _ := f.svc.GetItem(ctx, it.ID); got.Status != tracker.StatusOpen {
		t.Errorf("a pending request changed the item to %s", got.Status)
	}
	if _, err := f.svc.RequestAcceptance(ctx, bob, it.ID, tracker.AcceptanceRequest{Reason: "again", ExpiresAt: until}); tracker.KindOf(err) != tracker.EConflict {
		t.Errorf("a second request while one is pending: %v, want a conflict", err)
	}
	if _, err := f.svc.ApproveAcceptance(ctx, alice, a.ID, ""); tracker.KindOf(err) != tracker.EForbidden {
		t.Errorf("self-approval: %v, want forbidden", err)
	}
	if _, err := f.svc.ApproveAcceptance(ctx, carol, a.ID, ""); tracker.KindOf(err) != tracker.EForbidden {
		t.Errorf("approval by an analyst: %v, want forbidden", err)
	}
	if a, err = f.svc.ApproveAcceptance(ctx, bob, a.ID, "ok until decommissioning"); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.GetItem(ctx, it.ID); got.Status != tracker.StatusAcceptedRisk || a.DecidedBy != "bob@example.test" {
		t.Errorf("after approval: item %s, decided by %q", got.Status, a.DecidedBy)
	}
	if _, err := f.svc.RejectAcceptance(ctx, bob, a.ID, ""); tracker.KindOf(err) != tracker.EConflict {
		t.Errorf("rejecting an approved acceptance: %v, want a conflict", err)
	}

	if n, err := f.svc.ExpireAcceptances(ctx); err != nil || n != 0 {
		t.Errorf("expiry before the date: %d, %v", n, err)
	}
	f.now = until.Add(time.Minute)
	if n, err := f.svc.ExpireAcceptances(ctx); err != nil || n != 1 {
		t.Errorf("expiry after the date: %d, %v; want 1", n, err)
	}
	if got, _ := f.svc.GetItem(ctx, it.ID); got.Status != tracker.StatusOpen {
		t.Errorf("after expiry the item is %s, want open", got.Status)
	}
	if got, _ := f.svc.GetAcceptance(ctx, a.ID); got.State != tracker.AcceptanceExpired {
		t.Errorf("after expiry the acceptance is %s", got.State)
	}
	if body := f.lastComment(t, it.ID); !strings.Contains(body, "expired") || !strings.Contains(body, "reopened") {
		t.Errorf("last comment %q, want it to say the acceptance expired", body)
	}
	want := []string{"alice acceptance.request", "bob acceptance.approve", "vulnsync acceptance.expire"}
	if diff := cmp.Diff(want, audit.actions); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	page, err := f.svc.ListAcceptances(ctx, store.AcceptanceFilter{State: tracker.AcceptanceExpired})
	if err != nil || len(page.Acceptances) != 1 {
		t.Errorf("expired acceptances: %+v, %v", page, err)
	}
}

// TestRevokeReopens: revoking an approved acceptance reopens the item.
func TestRevokeReopens(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	it, err := f.svc.CreateItem(ctx, alice, f.target.ID, tracker.NewItem{Kind: tracker.KindRisk, Title: "Vendor without SOC 2", Severity: tracker.SeverityLow})
	if err != nil {
		t.Fatal(err)
	}
	bob := service.Actor{UserID: "u-bob", Name: "bob", Role: tracker.RoleAdmin, Origin: tracker.OriginVulnsync}
	a, err := f.svc.RequestAcceptance(ctx, alice, it.ID, tracker.AcceptanceRequest{Reason: "contract ends soon", ExpiresAt: f.now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ApproveAcceptance(ctx, bob, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RevokeAcceptance(ctx, alice, a.ID, "contract renewed"); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.GetItem(ctx, it.ID); got.Status != tracker.StatusOpen {
		t.Errorf("after revocation the item is %s, want open", got.Status)
	}
	if body := f.lastComment(t, it.ID); !strings.Contains(body, "revoked") || !strings.Contains(body, "contract renewed") {
		t.Errorf("last comment %q", body)
	}
}

func asError(err error, target **tracker.Error) bool { return errors.As(err, target) }

// Deleting an item ends its open acceptance in the same transaction: an
// approved one is revoked and a pending one rejected, by whoever deleted
// it, saying why; the expiry job then has nothing left to do, and no
// request waits on the Acceptances page for an item that is gone.
func TestDeletingAnItemEndsItsAcceptance(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	bob := service.Actor{UserID: "u-bob", Name: "bob", Role: tracker.RoleAdmin, Origin: tracker.OriginVulnsync}
	request := func(title string) (tracker.Item, tracker.Acceptance) {
		t.Helper()
		it, err := f.svc.CreateItem(ctx, alice, f.target.ID, tracker.NewItem{Kind: tracker.KindRisk, Title: title, Severity: tracker.SeverityLow})
		if err != nil {
			t.Fatal(err)
		}
		a, err := f.svc.RequestAcceptance(ctx, alice, it.ID, tracker.AcceptanceRequest{Reason: "leaving", ExpiresAt: f.now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return it, a
	}
	approvedItem, approved := request("Old vendor")
	if _, err := f.svc.ApproveAcceptance(ctx, bob, approved.ID, ""); err != nil {
		t.Fatal(err)
	}
	pendingItem, pending := request("Old partner")
	for _, id := range []string{approvedItem.ID, pendingItem.ID} {
		if err := f.svc.DeleteItem(ctx, bob, id); err != nil {
			t.Fatal(err)
		}
	}
	for a, want := range map[string]tracker.AcceptanceState{approved.ID: tracker.AcceptanceRevoked, pending.ID: tracker.AcceptanceRejected} {
		got, err := f.svc.GetAcceptance(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != want || got.Note != "the item was deleted" || got.DecidedBy == "" {
			t.Errorf("acceptance of a deleted item: %s (note %q, by %q), want %s saying the item was deleted", got.State, got.Note, got.DecidedBy, want)
		}
	}
	f.now = f.now.Add(2 * time.Hour)
	if n, err := f.svc.ExpireAcceptances(ctx); err != nil || n != 0 {
		t.Fatalf("expiry: %d, %v; want nothing left to expire", n, err)
	}
}

// TestConfiguredAcceptanceMaximum: an installation may bound acceptances
// tighter than vulnsync's ceiling; a request beyond the bound is refused
// on expires_at, saying the bound, and nothing is stored; one within it is
// opened. Without a setting (or with one beyond it) the ceiling applies.
func TestConfiguredAcceptanceMaximum(t *testing.T) {
	f := newFixture(t)
	ceiling := int(tracker.MaxAcceptance / (24 * time.Hour))
	for _, c := range []struct{ set, want int }{{0, ceiling}, {ceiling + 50, ceiling}, {30, 30}} {
		svc := service.New(service.Config{Store: f.st, Clock: func() time.Time { return f.now }, MaxAcceptanceDays: c.set})
		if got := svc.MaxAcceptanceDays(); got != c.want {
			t.Errorf("MaxAcceptanceDays with %d set: %d, want %d", c.set, got, c.want)
		}
	}
	f.svc = service.New(service.Config{Store: f.st, Clock: func() time.Time { return f.now }, MaxAcceptanceDays: 30})
	ctx := t.Context()
	it, err := f.svc.CreateItem(ctx, alice, f.target.ID, tracker.NewItem{Kind: tracker.KindVulnerability, Title: "Old jQuery", Severity: tracker.SeverityLow})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.RequestAcceptance(ctx, alice, it.ID, tracker.AcceptanceRequest{Reason: "internal tool", ExpiresAt: f.now.Add(31 * 24 * time.Hour)})
	var te *tracker.Error
	if tracker.KindOf(err) != tracker.EInvalid || !asError(err, &te) || te.Fields["expires_at"] != "must be within 30 days" {
		t.Fatalf("31 days under a 30-day bound: %v, want expires_at must be within 30 days", err)
	}
	page, err := f.svc.ListAcceptances(ctx, store.AcceptanceFilter{ItemID: it.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Acceptances) != 0 {
		t.Fatalf("a refused request stored %d acceptance(s)", len(page.Acceptances))
	}
	if _, err := f.svc.RequestAcceptance(ctx, alice, it.ID, tracker.AcceptanceRequest{Reason: "internal tool", ExpiresAt: f.now.Add(30 * 24 * time.Hour)}); err != nil {
		t.Errorf("30 days under a 30-day bound: %v", err)
	}
}

// A decision's note is checked as a note: a control character or one
// over 4,000 characters (counted as Jira counts them, not in bytes) is a
// problem on "note", not on the comment body it would have become, and
// the acceptance stays pending.
func TestDecisionNoteIsValidatedAsNote(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	it, err := f.svc.CreateItem(ctx, alice, f.target.ID, tracker.NewItem{Kind: tracker.KindVulnerability, Title: "TLS 1.0 on legacy host", Severity: tracker.SeverityMedium})
	if err != nil {
		t.Fatal(err)
	}
	carol := service.Actor{UserID: "u-carol", Name: "carol", Email: "carol@example.test", Role: tracker.RoleAnalyst, Origin: tracker.OriginVulnsync}
	bob := service.Actor{UserID: "u-bob", Name: "bob", Email: "bob@example.test", Role: tracker.RoleAdmin, Origin: tracker.OriginVulnsync}
	a, err := f.svc.RequestAcceptance(ctx, carol, it.ID, tracker.AcceptanceRequest{Reason: "legacy", ExpiresAt: f.now.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for name, note := range map[string]string{"bell": "ok\a", "NUL": "ok\x00", "too long": strings.Repeat("a", 4001)} {
		_, err := f.svc.ApproveAcceptance(ctx, bob, a.ID, note)
		var te *tracker.Error
		if !asError(err, &te) || te.Kind != tracker.EInvalid || te.Fields["note"] == "" || te.Fields["body"] != "" {
			t.Errorf("%s note: %v, want a problem on note", name, err)
		}
	}
	// 4,000 characters of two bytes each are within the limit.
	if _, err := f.svc.RejectAcceptance(ctx, bob, a.ID, strings.Repeat("é", 4000)); err != nil {
		t.Errorf("a 4,000-character note: %v", err)
	}
}

// An item someone moves out of its accepted status (reopened here, or an
// engineer's To Do in Jira) is no longer accepted: its approved acceptance
// ends then (revoked, saying why), so the Acceptances page does not list
// it as approved and a new request is possible at once instead of being
// refused until the old expiry. The item keeps the status it was given.
func TestReopeningAnAcceptedItemEndsItsAcceptance(t *testing.T) {
	f := newFixture(t)
	audit := &auditLog{}
	f.svc = service.New(service.Config{Store: f.st, Clock: func() time.Time { return f.now }, Audit: audit})
	ctx := t.Context()
	it, err := f.svc.CreateItem(ctx, alice, f.target.ID, tracker.NewItem{Kind: tracker.KindVulnerability, Title: "TLS 1.0 on legacy host", Severity: tracker.SeverityMedium})
	if err != nil {
		t.Fatal(err)
	}
	bob := service.Actor{UserID: "u-bob", Name: "bob", Email: "bob@example.test", Role: tracker.RoleAdmin, Origin: tracker.OriginVulnsync}
	dev := service.Actor{Name: "jira:Dev", Email: "dev@example.test", Origin: tracker.OriginJira}
	until := f.now.Add(30 * 24 * time.Hour)
	a, err := f.svc.RequestAcceptance(ctx, alice, it.ID, tracker.AcceptanceRequest{Reason: "legacy", ExpiresAt: until})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ApproveAcceptance(ctx, bob, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	open := tracker.StatusOpen
	if _, err := f.svc.UpdateItem(ctx, dev, it.ID, tracker.Patch{Status: &open}); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.GetAcceptance(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != tracker.AcceptanceRevoked || !strings.Contains(got.Note, "open") || got.DecidedBy == "" {
		t.Errorf("after the item was reopened the acceptance is %s (note %q, by %q), want revoked saying why", got.State, got.Note, got.DecidedBy)
	}
	if item, _ := f.svc.GetItem(ctx, it.ID); item.Status != tracker.StatusOpen {
		t.Errorf("item %s, want open", item.Status)
	}
	if _, err := f.svc.RequestAcceptance(ctx, alice, it.ID, tracker.AcceptanceRequest{Reason: "still legacy", ExpiresAt: until}); err != nil {
		t.Errorf("a new request after the reopen: %v", err)
	}
	if diff := cmp.Diff([]string{"alice acceptance.request", "bob acceptance.approve", "jira:Dev acceptance.revoke", "alice acceptance.request"}, audit.actions); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
}

// An analyst cannot make an item accepted_risk or false_positive by an
// edit, a bulk edit or a new item: that status is the outcome of a request
// an admin approves. Nothing changes on refusal; an admin may still set it,
// and Jira's changes follow the mapping.
func TestAnalystCannotSkipTheApproval(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	carol := service.Actor{UserID: "u-carol", Name: "carol", Email: "carol@example.test", Role: tracker.RoleAnalyst, Origin: tracker.OriginVulnsync}
	bob := service.Actor{UserID: "u-bob", Name: "bob", Email: "bob@example.test", Role: tracker.RoleAdmin, Origin: tracker.OriginVulnsync}
	it, err := f.svc.CreateItem(ctx, carol, f.target.ID, tracker.NewItem{Kind: tracker.KindVulnerability, Title: "Old jQuery", Severity: tracker.SeverityLow})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []tracker.Status{tracker.StatusAcceptedRisk, tracker.StatusFalsePositive} {
		_, err := f.svc.UpdateItem(ctx, carol, it.ID, tracker.Patch{Status: &st})
		if tracker.KindOf(err) != tracker.EForbidden || !strings.Contains(err.Error(), "request an acceptance") {
			t.Errorf("analyst sets %s: %v, want forbidden, pointing to an acceptance request", st, err)
		}
		_, err = f.svc.CreateItem(ctx, carol, f.target.ID, tracker.NewItem{Kind: tracker.KindVulnerability, Title: "x", Severity: tracker.SeverityLow, Status: st})
		if tracker.KindOf(err) != tracker.EForbidden {
			t.Errorf("analyst creates an item in %s: %v, want forbidden", st, err)
		}
	}
	if got, _ := f.svc.GetItem(ctx, it.ID); got.Status != tracker.StatusOpen || got.Version != it.Version {
		t.Errorf("after the refusals the item is %s at version %d, want open at %d", got.Status, got.Version, it.Version)
	}
	title := "Old jQuery 1.8"
	if _, err := f.svc.UpdateItem(ctx, carol, it.ID, tracker.Patch{Title: &title}); err != nil {
		t.Errorf("analyst edits the title: %v", err)
	}
	st := tracker.StatusFalsePositive
	if _, err := f.svc.UpdateItem(ctx, bob, it.ID, tracker.Patch{Status: &st}); err != nil {
		t.Errorf("admin sets false_positive: %v", err)
	}
	dev := service.Actor{Name: "jira:Dev", Origin: tracker.OriginJira}
	open := tracker.StatusOpen
	if _, err := f.svc.UpdateItem(ctx, dev, it.ID, tracker.Patch{Status: &open}); err != nil {
		t.Fatal(err)
	}
	accepted := tracker.StatusAcceptedRisk
	if _, err := f.svc.UpdateItem(ctx, dev, it.ID, tracker.Patch{Status: &accepted}); err != nil {
		t.Errorf("a change from Jira (accept_from_jira: apply) to accepted_risk: %v", err)
	}
}
