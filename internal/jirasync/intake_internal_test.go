package jirasync

import (
	"testing"

	"github.com/vulnsync/vulnsync/internal/jirahook"
)

// The hand-over of parsed events stays bounded: events nobody takes (their
// deliveries applied by another replica) make room for new ones, oldest
// first, and taken ones leave no trace.
func TestParsedEventsStayBounded(t *testing.T) {
	var p parsedEvents
	for id := int64(1); id <= 3*maxParsed; id++ {
		p.put(id, &jirahook.Event{Kind: "k"})
		if id%2 == 0 {
			if p.take(id) == nil {
				t.Fatalf("event %d put and then not found", id)
			}
		}
	}
	if len(p.m) > maxParsed || len(p.order) > 2*maxParsed+1 {
		t.Fatalf("kept %d events and %d ids, want at most %d and %d", len(p.m), len(p.order), maxParsed, 2*maxParsed+1)
	}
	if p.take(1) != nil {
		t.Error("the oldest untaken event was not forgotten")
	}
	if p.take(3*maxParsed-1) == nil {
		t.Error("a recent untaken event was forgotten")
	}
}
