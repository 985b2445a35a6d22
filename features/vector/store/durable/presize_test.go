package durable

import (
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

// TestSnapshotCounts: the header pass that sizes collections at reload
// counts every point of every collection in a snapshot (replaced points
// and deleted ones are not in a snapshot, which holds the state).
func TestSnapshotCounts(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	r := rand.New(rand.NewPCG(4, 4))
	s.Create(ctx, "a", 4, store.Cosine)
	s.Create(ctx, "b", 3, store.Dot)
	s.Create(ctx, "empty", 3, store.Dot)
	for i := 0; i < 2500; i += 500 {
		if err := s.Upsert(ctx, "a", pts(r, i, 500, 4)); err != nil {
			t.Fatal(err)
		}
	}
	s.Upsert(ctx, "a", pts(r, 0, 10, 4)) // replaces
	s.Upsert(ctx, "b", pts(r, 0, 7, 3))
	s.DeletePoints(ctx, "b", []store.ID{{Num: 1}, {Num: 2}})
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	got := snapshotCounts(filepath.Join(dir, "snapshot"))
	if want := map[string]int{"a": 2500, "b": 5}; !reflect.DeepEqual(got, want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
	s.Close()
	s, _ = open(t, dir)
	defer s.Close()
	if s.Len() != 2505 {
		t.Fatalf("%d points after reload", s.Len())
	}
	if snapshotCounts(filepath.Join(dir, "absent")) != nil {
		t.Fatal("counts for a missing file")
	}
}
