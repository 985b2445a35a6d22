package durable

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

// TestRestart100k: 100,000 points come back after a restart, from the log
// alone and from a snapshot plus log, and searches answer as before.
func TestRestart100k(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100,000 points")
	}
	dir := t.TempDir()
	s, _ := open(t, dir)
	s.Create(ctx, "big", 16, store.Cosine)
	r := rand.New(rand.NewPCG(10, 10))
	for i := 0; i < 100_000; i += 1000 {
		if err := s.Upsert(ctx, "big", pts(r, i, 1000, 16)); err != nil {
			t.Fatal(err)
		}
	}
	q := pts(r, 0, 1, 16)[0].Vector
	want, err := s.Search(ctx, "big", q, 10, store.Filter{"tag": "t1"})
	if err != nil {
		t.Fatal(err)
	}
	for round, compact := range []bool{false, true} {
		if compact {
			if err := s.Compact(); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		s, _ = open(t, dir)
		if s.Len() != 100_000 || s.Loaded().Snapshot != compact {
			t.Fatalf("round %d: %d points, loaded %+v", round, s.Len(), s.Loaded())
		}
		got, _ := s.Search(ctx, "big", q, 10, store.Filter{"tag": "t1"})
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d: search answers otherwise:\n%v\n%v", round, got, want)
		}
		for _, id := range []uint64{0, 4242, 99_999} {
			if p, err := s.Get(ctx, "big", store.ID{Num: id}); err != nil || p.Payload["i"] != float64(id) {
				t.Fatalf("round %d: point %d: %v %v", round, id, p, err)
			}
		}
		t.Logf("round %d: loaded %d points in %s", round, s.Len(), s.Loaded().Took)
	}
	s.Close()
}

// BenchmarkUpsertDurable: batches of 100 points of dimension 384, each
// acknowledged only after its fsync; points/s is the throughput. With
// several writers one fsync covers every batch written meanwhile.
func BenchmarkUpsertDurable(b *testing.B) {
	for _, writers := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, _ := open(b, b.TempDir())
			defer s.Close()
			s.Create(ctx, "c", 384, store.Cosine)
			r := rand.New(rand.NewPCG(1, 2))
			batches := make([][]store.Point, 64)
			for i := range batches {
				batches[i] = pts(r, i*100, 100, 384)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						if err := s.Upsert(ctx, "c", batches[i%64]); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N*100)/time.Since(start).Seconds(), "points/s")
		})
	}
}

// BenchmarkLoad100k: opening a directory holding 100,000 points of
// dimension 384, from the log and from a snapshot.
func BenchmarkLoad100k(b *testing.B) {
	for _, snapshot := range []bool{false, true} {
		b.Run(fmt.Sprint("snapshot=", snapshot), func(b *testing.B) {
			dir := b.TempDir()
			s, _ := open(b, dir)
			s.Create(ctx, "c", 384, store.Cosine)
			r := rand.New(rand.NewPCG(3, 3))
			for i := 0; i < 100_000; i += 1000 {
				if err := s.Upsert(ctx, "c", pts(r, i, 1000, 384)); err != nil {
					b.Fatal(err)
				}
			}
			if snapshot {
				if err := s.Compact(); err != nil {
					b.Fatal(err)
				}
			}
			s.Close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s, _ := open(b, dir)
				if s.Len() != 100_000 {
					b.Fatalf("%d points", s.Len())
				}
				s.Close()
			}
			b.StopTimer()
			var size int64
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if fi, err := e.Info(); err == nil {
					size += fi.Size()
				}
			}
			b.ReportMetric(float64(size)/100_000, "disk-bytes/point")
		})
	}
}
