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
	base, idBase := &c.vecs[:1][0], &c.ids[:1][0]
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
	if &c.vecs[0] != base || &c.ids[0] != idBase {
		t.Fatalf("storage moved or grew: cap %d vecs, %d ids", cap(c.vecs), cap(c.ids))
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
