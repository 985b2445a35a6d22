// Package errorrate counts requests and server errors (5xx) per route over a
// rolling window, so the share of 5xx answers per route can be exported as a
// gauge. The window is a ring of fixed time slots that rotate lazily on
// record and read; no goroutine is needed. The number of routes is bounded:
// keys past the bound share one overflow key.
package errorrate

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// Overflow is the key that routes share once MaxKeys routes are tracked.
const Overflow = "(overflow)"

// Slots is the number of time slots a window is made of; the window moves
// in steps of window/Slots.
const Slots = 12

// Rate is one route's counts over the window.
type Rate struct {
	Route    string  `json:"route"`
	Requests uint64  `json:"requests"`
	Errors   uint64  `json:"errors"` // answers with status >= 500
	Share    float64 `json:"share"`  // Errors / Requests; 0 with no requests
}

// Window is a rolling per-route 5xx counter. It is safe for concurrent use:
// routes are found without a shared lock (sync.Map, read-mostly) and each
// route's ring has its own mutex, so requests to different routes do not
// contend.
type Window struct {
	now     func() time.Time
	slot    time.Duration
	maxKeys int

	routes sync.Map   // string -> *ring
	addMu  sync.Mutex // serialises adding keys, so the bound holds
	keys   int        // guarded by addMu
}

type ring struct {
	mu     sync.Mutex
	stamp  [Slots]int64 // absolute slot number the counts belong to
	total  [Slots]uint64
	errors [Slots]uint64
}

// New returns a window of the given length keeping at most maxKeys routes
// (plus the overflow key). now is the clock (time.Now when nil).
func New(window time.Duration, maxKeys int, now func() time.Time) (*Window, error) {
	if window < Slots*time.Millisecond {
		return nil, fmt.Errorf("error-rate window %s is shorter than %d ms", window, Slots)
	}
	if maxKeys < 1 {
		return nil, fmt.Errorf("error-rate route bound %d is below 1", maxKeys)
	}
	if now == nil {
		now = time.Now
	}
	return &Window{now: now, slot: window / Slots, maxKeys: maxKeys}, nil
}

// Length returns the window length.
func (w *Window) Length() time.Duration { return w.slot * Slots }

// Record counts one answer of route with the given HTTP status, now.
func (w *Window) Record(route string, status int) { w.RecordAt(route, status, w.now()) }

// RecordAt counts one answer of route with the given HTTP status at time at
// (for a caller that has read the clock already; it should be the window's
// clock).
func (w *Window) RecordAt(route string, status int, at time.Time) {
	cur := at.UnixNano() / int64(w.slot)
	i := cur % Slots
	r := w.ring(route)
	r.mu.Lock()
	if r.stamp[i] != cur {
		r.stamp[i], r.total[i], r.errors[i] = cur, 0, 0
	}
	r.total[i]++
	if status >= 500 {
		r.errors[i]++
	}
	r.mu.Unlock()
}

// ring returns the ring of route, adding it (or the overflow key once the
// bound is reached).
func (w *Window) ring(route string) *ring {
	if v, ok := w.routes.Load(route); ok {
		return v.(*ring)
	}
	w.addMu.Lock()
	defer w.addMu.Unlock()
	if v, ok := w.routes.Load(route); ok {
		return v.(*ring)
	}
	if w.keys >= w.maxKeys {
		route = Overflow
		if v, ok := w.routes.Load(route); ok {
			return v.(*ring)
		}
	}
	r := &ring{}
	w.routes.Store(route, r)
	w.keys++
	return r
}

// Snapshot returns every tracked route's counts over the window, sorted by
// route. A route seen before but idle during the window has zero counts.
func (w *Window) Snapshot() []Rate {
	cur := w.now().UnixNano() / int64(w.slot)
	var out []Rate
	w.routes.Range(func(k, v any) bool {
		r := v.(*ring)
		rt := Rate{Route: k.(string)}
		r.mu.Lock()
		for i := range Slots {
			if r.stamp[i] > cur-Slots && r.stamp[i] <= cur {
				rt.Requests += r.total[i]
				rt.Errors += r.errors[i]
			}
		}
		r.mu.Unlock()
		if rt.Requests > 0 {
			rt.Share = float64(rt.Errors) / float64(rt.Requests)
		}
		out = append(out, rt)
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Route < out[j].Route })
	return out
}

// Len returns how many route keys are tracked (the overflow key included).
func (w *Window) Len() int {
	w.addMu.Lock()
	defer w.addMu.Unlock()
	return w.keys
}
