package memory

import (
	"errors"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

// TestPlanThenCommit: a plan changes nothing until it is committed, a
// commit applies exactly the planned change, and a plan checked against a
// state the index has left is refused loudly (its record may already be in
// a log: applying it to another state would make the index and the log
// disagree).
func TestPlanThenCommit(t *testing.T) {
	x := New(lim(10, 2))
	ch, err := x.PlanCreate("c", 2, store.Dot, store.IndexSpec{})
	if err != nil || ch == nil || ch.Op.Kind != OpCreate {
		t.Fatalf("plan create: %+v %v", ch, err)
	}
	if _, err := x.Info(ctx, "c"); !errors.Is(err, store.ErrCollectionNotFound) {
		t.Fatalf("a plan made the collection: %v", err)
	}
	x.Commit(ch)
	if again, err := x.PlanCreate("c", 2, store.Dot, store.IndexSpec{}); again != nil || err != nil {
		t.Fatalf("an identical create plans a change: %+v %v", again, err)
	}
	b, err := x.Prepare([]store.Point{pt(1, 1, 0), pt(2, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	up, err := x.PlanUpsert("c", b)
	if err != nil || len(up.Op.Points) != 2 {
		t.Fatalf("plan upsert: %+v %v", up, err)
	}
	if x.Stats().Points != 0 {
		t.Fatalf("a plan wrote points: %+v", x.Stats())
	}
	// bounds are checked at the plan: 11 points do not fit 10
	many := make([]store.Point, 11)
	for i := range many {
		many[i] = pt(uint64(100+i), 1, 1)
	}
	bm, _ := x.Prepare(many)
	if _, err := x.PlanUpsert("c", bm); !errors.Is(err, store.ErrFull) {
		t.Fatalf("11 points into a bound of 10: %v", err)
	}
	// another write in between makes the first plan stale
	if err := x.Upsert(ctx, "c", []store.Point{pt(3, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(r.(string), "planned at version") {
				t.Fatalf("a stale plan committed: recover() = %v", r)
			}
		}()
		x.Commit(up)
	}()
	if x.Stats().Points != 1 {
		t.Fatalf("the stale plan changed the index: %+v", x.Stats())
	}
	if del, err := x.PlanDeletePoints("c", []store.ID{{Num: 7}}); del != nil || err != nil {
		t.Fatalf("deleting absent ids plans a change: %+v %v", del, err)
	}
}

// TestUpsertEncodedKeepsTheEncoding: the index keeps the payload bytes its
// caller encoded, as they are: it does not check or encode them again.
func TestUpsertEncodedKeepsTheEncoding(t *testing.T) {
	x := New(Limits{MaxPoints: 10, MaxCollections: 1, MaxBytes: 1 << 20, MaxPayloadBytes: 4, MaxPayloadDepth: 1})
	x.Create(ctx, "c", 2, store.Dot)
	// longer than MaxPayloadBytes and not in canonical key order: a second
	// encoding would have refused or reordered it
	given := []byte(`{"z":1,"a":{"b":"c"}}`)
	if err := x.UpsertEncoded(ctx, "c", []store.Encoded{{ID: store.ID{Num: 1}, Vector: []float32{1, 2}, Payload: given}}); err != nil {
		t.Fatal(err)
	}
	var kept []byte
	x.Dump(10, func(Stats) {}, func(op *Op) error {
		if op.Kind == OpUpsert {
			kept = append(kept, op.Points[0].Payload...)
		}
		return nil
	})
	if string(kept) != string(given) {
		t.Fatalf("kept %s, given %s", kept, given)
	}
	// the same payload through Upsert is checked against the bounds
	if err := x.Upsert(ctx, "c", []store.Point{{ID: store.ID{Num: 2}, Vector: []float32{1, 2}, Payload: map[string]any{"z": 1.0}}}); !errors.Is(err, store.ErrPayloadTooLarge) {
		t.Fatalf("Upsert past MaxPayloadBytes: %v", err)
	}
}
