package durable

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
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

// TestDecodeIntoRooms: an upsert's vectors are decoded into the room the
// index hands out, and when that room (the end of a block of its storage)
// runs out, into the room it hands out past the vectors decoded so far;
// with none left the decoder allocates.
func TestDecodeIntoRooms(t *testing.T) {
	const dim = 3
	r := rand.New(rand.NewPCG(6, 6))
	op := &memory.Op{Kind: memory.OpUpsert, Collection: "c"}
	for _, p := range pts(r, 0, 7, dim) {
		op.Points = append(op.Points, memory.Record{ID: p.ID, Vector: p.Vector})
	}
	rec := appendRecord(nil, 9, op)
	first, second := make([]float32, 2*dim+1), make([]float32, 3*dim)
	var asked []int
	space := func(name string, skip int) []float32 {
		asked = append(asked, skip)
		switch skip {
		case 0:
			return first // two vectors and a float: the rest of a block
		case 2:
			return second
		}
		return nil
	}
	_, got, err := decodeBody(rec[frameLen:], space)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(asked) != "[0 2 5]" {
		t.Fatalf("asked for room past %v vectors, want [0 2 5]", asked)
	}
	in := func(v, room []float32) bool {
		for i := 0; i+dim <= len(room); i += dim {
			if &room[i] == &v[0] {
				return true
			}
		}
		return false
	}
	for i, p := range got.Points {
		if !reflect.DeepEqual(p.Vector, op.Points[i].Vector) {
			t.Fatalf("point %d decoded as %v, want %v", i, p.Vector, op.Points[i].Vector)
		}
		wantFirst, wantSecond := i < 2, i >= 2 && i < 5
		if in(p.Vector, first) != wantFirst || in(p.Vector, second) != wantSecond {
			t.Fatalf("point %d: in the first room %v, in the second %v", i, in(p.Vector, first), in(p.Vector, second))
		}
	}
}

// TestReopenGivesEveryIndex: a reopen reads the snapshot's collections
// without their indexes (no int8 codes point by point) and leaves none so:
// a flat one gets its codes once the snapshot is read, an HNSW one its
// saved graph, one whose graph file is gone a graph built, one the log
// dropped and made again flat its codes point by point; each then answers
// exactly as before the reopen.
func TestReopenGivesEveryIndex(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	r := rand.New(rand.NewPCG(12, 12))
	hnsw := store.IndexSpec{Type: store.IndexHNSW, M: 8, EfConstruction: 32}
	const dim = 8
	for _, c := range []struct {
		name string
		spec store.IndexSpec
	}{{"flat", store.IndexSpec{}}, {"h", hnsw}, {"swap", hnsw}} {
		if _, err := s.CreateIndexed(ctx, c.name, dim, store.Cosine, c.spec); err != nil {
			t.Fatal(err)
		}
		if err := s.Upsert(ctx, c.name, pts(r, 0, 600, dim)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	// in the log only: swap dropped and made again flat, more points
	if err := s.Delete(ctx, "swap"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "swap", dim, store.Cosine); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"flat", "h", "swap"} {
		if err := s.Upsert(ctx, name, pts(r, 600, 300, dim)); err != nil {
			t.Fatal(err)
		}
	}
	qs := pts(r, 0, 5, dim)
	want := map[string]string{}
	for _, name := range []string{"flat", "h", "swap"} {
		for _, q := range qs {
			hits, err := s.SearchWith(ctx, name, q.Vector, 5, nil, store.SearchParams{Exact: true})
			if err != nil {
				t.Fatal(err)
			}
			want[name] += fmt.Sprint(hits)
		}
	}
	s.Close()
	for _, graphs := range []bool{true, false} {
		if !graphs {
			if err := os.Remove(filepath.Join(dir, graphsFile)); err != nil {
				t.Fatal(err)
			}
		}
		s, _ = open(t, dir)
		if d := s.index.Deferred(); len(d) != 0 {
			t.Fatalf("graph file %v: %v left without an index after the reopen", graphs, d)
		}
		if got := fmt.Sprint(s.Loaded().Graphs, s.Loaded().Built); graphs && got != "[h] []" || !graphs && got != "[] [h]" {
			t.Fatalf("graph file %v: graphs read and built %s", graphs, got)
		}
		for _, name := range []string{"flat", "h", "swap"} {
			got := ""
			for _, q := range qs {
				hits, err := s.SearchWith(ctx, name, q.Vector, 5, nil, store.SearchParams{Exact: true})
				if err != nil {
					t.Fatal(err)
				}
				got += fmt.Sprint(hits)
			}
			if got != want[name] {
				t.Fatalf("graph file %v: %s answers\n%s\nwant\n%s", graphs, name, got, want[name])
			}
		}
		s.Close()
	}
}
