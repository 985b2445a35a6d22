package memory

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

// TestReserveAvoidsGrowth: a collection reserved for n points takes n
// points without reallocating its storage, and a batch appends with at most
// one reallocation per slice.
func TestReserveAvoidsGrowth(t *testing.T) {
	x := New(lim(10000, 1))
	x.Create(ctx, "c", 8, store.Dot)
	x.Reserve("c", 3000)
	c := x.cols["c"]
	base, idBase := &c.vecs.room(0)[0], &c.ids[:1][0]
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 3000; i += 100 {
		pts := make([]store.Point, 100)
		for j := range pts {
			pts[j] = store.Point{ID: store.ID{Num: uint64(i + j)}, Vector: randVec(r, 8)}
		}
		if err := x.Upsert(ctx, "c", pts); err != nil {
			t.Fatal(err)
		}
	}
	if &c.vecs.at(0)[0] != base || &c.ids[0] != idBase {
		t.Fatalf("storage moved or grew: room for %d vectors, %d ids", c.vecs.capacity(), cap(c.ids))
	}
	// past the reservation a batch grows each slice once, to fit it whole
	pts := make([]store.Point, 500)
	for j := range pts {
		pts[j] = store.Point{ID: store.ID{Num: uint64(5000 + j)}, Vector: randVec(r, 8)}
	}
	if err := x.Upsert(ctx, "c", pts); err != nil {
		t.Fatal(err)
	}
	if cap(c.ids) < 3500 || len(c.ids) != 3500 {
		t.Fatalf("after a batch past the reservation: len %d cap %d", len(c.ids), cap(c.ids))
	}
	// a reservation below what is held changes nothing
	x.Reserve("c", 10)
	x.Reserve("absent", 10)
	if len(c.ids) != 3500 {
		t.Fatal(len(c.ids))
	}
}

// BenchmarkInsert: batches of 100 points of dimension 384 into an
// in-memory collection (no journal); points/s is the throughput.
func BenchmarkInsert(b *testing.B) {
	const batch = 100
	r := rand.New(rand.NewPCG(5, 6))
	batches := make([][]store.Point, 1000) // 100,000 distinct points
	for i := range batches {
		batches[i] = make([]store.Point, batch)
		for j := range batches[i] {
			batches[i][j] = store.Point{ID: store.ID{Num: uint64(i*batch + j)}, Vector: randVec(r, benchDim)}
		}
	}
	for _, payload := range []bool{false, true} {
		b.Run(fmt.Sprint("payload=", payload), func(b *testing.B) {
			if payload {
				for _, bt := range batches {
					for j := range bt {
						bt[j].Payload = map[string]any{"n": float64(bt[j].ID.Num), "tag": "t"}
					}
				}
			}
			var x *Index
			for i := 0; i < b.N; i++ {
				if i%len(batches) == 0 {
					b.StopTimer()
					x = New(Limits{MaxPoints: benchN, MaxCollections: 1, MaxBytes: 1 << 34, MaxPayloadBytes: 1 << 16, MaxPayloadDepth: 8})
					x.Create(ctx, "c", benchDim, store.Cosine)
					b.StartTimer()
				}
				if err := x.Upsert(ctx, "c", batches[i%len(batches)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// TestSpareDecodedInPlace: a batch whose vectors were written into the
// storage's spare room (as a reload decodes them) lands as a batch copied
// from elsewhere does, with new points, replacements of held and of new
// points mixed in (each copy moves a vector down within the room, never
// over one not yet stored), in a flat and in an hnsw collection.
func TestSpareDecodedInPlace(t *testing.T) {
	for _, spec := range []store.IndexSpec{{Type: store.IndexFlat}, {Type: store.IndexHNSW, M: 8, EfConstruction: 32}} {
		t.Run(spec.Type, func(t *testing.T) {
			const dim = 4
			x := New(lim(1000, 1))
			if _, err := x.CreateIndexed(ctx, "c", dim, store.Dot, spec); err != nil {
				t.Fatal(err)
			}
			vec := func(k int) []float32 { return []float32{float32(k), 1, float32(-k), 2} }
			held := make([]store.Point, 5)
			for i := range held {
				held[i] = store.Point{ID: store.ID{Num: uint64(i)}, Vector: vec(i)}
			}
			if err := x.Upsert(ctx, "c", held); err != nil {
				t.Fatal(err)
			}
			x.Reserve("c", 20)
			if x.Spare("absent", 0) != nil {
				t.Fatal("room for an unknown collection")
			}
			// new 10, replace 2, new 11, replace 10 (new in this batch), new 12
			ids := []uint64{10, 2, 11, 10, 12}
			vals := []int{100, 102, 111, 110, 112}
			room := x.Spare("c", 0)
			if len(room) < len(ids)*dim {
				t.Fatalf("room for %d floats after Reserve", len(room))
			}
			op := &Op{Kind: OpUpsert, Collection: "c", Points: make([]Record, len(ids))}
			for i, id := range ids {
				v := room[i*dim : (i+1)*dim : (i+1)*dim]
				copy(v, vec(vals[i]))
				op.Points[i] = Record{ID: store.ID{Num: id}, Vector: v}
			}
			if err := x.Apply(op); err != nil {
				t.Fatal(err)
			}
			want := map[uint64]int{0: 0, 1: 1, 2: 102, 3: 3, 4: 4, 10: 110, 11: 111, 12: 112}
			if n := x.Len(); n != len(want) {
				t.Fatalf("%d points, want %d", n, len(want))
			}
			for id, k := range want {
				p, err := x.Get(ctx, "c", store.ID{Num: id})
				if err != nil {
					t.Fatal(id, err)
				}
				if fmt.Sprint(p.Vector) != fmt.Sprint(vec(k)) {
					t.Fatalf("point %d: %v, want %v", id, p.Vector, vec(k))
				}
			}
			// the int8 codes or the graph nodes were made from the vectors in place
			hits, err := x.Search(ctx, "c", vec(1), len(want), nil)
			if err != nil || len(hits) != len(want) {
				t.Fatalf("search found %d of %d points: %v", len(hits), len(want), err)
			}
		})
	}
}

// TestAdviseHuge: the advice changes no byte of a large slice and takes
// small and empty ones.
func TestAdviseHuge(t *testing.T) {
	big := make([]float32, 3<<20)
	for i := range big {
		big[i] = float32(i)
	}
	adviseHuge(big)
	adviseHuge(big[:0])
	adviseHuge([]int8{1})
	adviseHuge([]int32(nil))
	for i, v := range big {
		if v != float32(i) {
			t.Fatalf("element %d changed to %v", i, v)
		}
	}
}
