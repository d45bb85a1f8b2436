package web

import (
	"slices"
	"testing"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// The forms offer accepted risk and false positive to admins only (the
// service refuses them to others), but an item already there keeps its
// status in the list.
func TestSettableStatuses(t *testing.T) {
	admin := &service.Actor{Role: tracker.RoleAdmin}
	analyst := &service.Actor{Role: tracker.RoleAnalyst}
	if got := settableStatuses(admin, tracker.Statuses, ""); !slices.Equal(got, tracker.Statuses) {
		t.Errorf("admin: %v, want every status", got)
	}
	got := settableStatuses(analyst, tracker.Statuses, "")
	if slices.Contains(got, tracker.StatusAcceptedRisk) || slices.Contains(got, tracker.StatusFalsePositive) || !slices.Contains(got, tracker.StatusResolved) {
		t.Errorf("analyst: %v, want no accepted risk or false positive, the rest kept", got)
	}
	if got := settableStatuses(analyst, tracker.Statuses, tracker.StatusAcceptedRisk); !slices.Contains(got, tracker.StatusAcceptedRisk) || slices.Contains(got, tracker.StatusFalsePositive) {
		t.Errorf("analyst on an accepted item: %v, want accepted risk kept as the current status only", got)
	}
}
