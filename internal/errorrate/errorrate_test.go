package errorrate

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func find(t *testing.T, w *Window, route string) Rate {
	t.Helper()
	for _, r := range w.Snapshot() {
		if r.Route == route {
			return r
		}
	}
	t.Fatalf("route %q not tracked", route)
	return Rate{}
}

func TestShareOverRollingWindow(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	w, err := New(60*time.Second, 10, c.now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		status := 200
		if i < 3 {
			status = 503
		}
		w.Record("GET /x", status)
	}
	w.Record("GET /x", 404) // a client error is not a server error
	r := find(t, w, "GET /x")
	if r.Requests != 11 || r.Errors != 3 || r.Share != 3.0/11 {
		t.Fatalf("got %+v", r)
	}

	// 30 s later: ten more successes; the old ones still count.
	c.add(30 * time.Second)
	for range 10 {
		w.Record("GET /x", 200)
	}
	if r := find(t, w, "GET /x"); r.Requests != 21 || r.Errors != 3 {
		t.Fatalf("after 30 s: %+v", r)
	}
	// 31 s after that the first batch has left the window.
	c.add(31 * time.Second)
	if r := find(t, w, "GET /x"); r.Requests != 10 || r.Errors != 0 || r.Share != 0 {
		t.Fatalf("after 61 s: %+v", r)
	}
	// Idle for a whole window: the route stays, with zero counts.
	c.add(2 * time.Minute)
	if r := find(t, w, "GET /x"); r.Requests != 0 || r.Share != 0 {
		t.Fatalf("idle: %+v", r)
	}
	// A slot reused after a full turn starts from zero.
	w.Record("GET /x", 500)
	if r := find(t, w, "GET /x"); r.Requests != 1 || r.Errors != 1 || r.Share != 1 {
		t.Fatalf("reused slot: %+v", r)
	}
}

func TestRouteBound(t *testing.T) {
	w, err := New(time.Minute, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		w.Record(fmt.Sprintf("GET /r%d", i), 500)
	}
	if n := w.Len(); n != 6 {
		t.Fatalf("tracked %d keys, want 5 routes + overflow", n)
	}
	if r := find(t, w, Overflow); r.Requests != 995 || r.Errors != 995 {
		t.Fatalf("overflow %+v", r)
	}
	// Routes tracked before the bound keep their own counts.
	w.Record("GET /r0", 200)
	if r := find(t, w, "GET /r0"); r.Requests != 2 {
		t.Fatalf("r0 %+v", r)
	}
}

func TestBoundsValidated(t *testing.T) {
	if _, err := New(time.Millisecond, 10, nil); err == nil {
		t.Fatal("a 1 ms window was accepted")
	}
	if _, err := New(time.Minute, 0, nil); err == nil {
		t.Fatal("a route bound of 0 was accepted")
	}
}

func TestConcurrent(t *testing.T) {
	w, err := New(time.Minute, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				w.Record(fmt.Sprintf("GET /g%d", g), 200+300*(i%2))
				if i%100 == 0 {
					w.Snapshot()
				}
			}
		}()
	}
	wg.Wait()
	var total, errs uint64
	for _, r := range w.Snapshot() {
		total += r.Requests
		errs += r.Errors
	}
	if total != 8000 || errs != 4000 {
		t.Fatalf("total %d errors %d", total, errs)
	}
}

func BenchmarkRecord(b *testing.B) {
	w, _ := New(time.Minute, 100, nil)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Record("GET /health", 200)
		}
	})
}

func BenchmarkRecordAt(b *testing.B) {
	w, _ := New(time.Minute, 100, nil)
	at := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.RecordAt("GET /health", 200, at)
		}
	})
}
