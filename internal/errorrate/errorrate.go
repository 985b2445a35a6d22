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

// Window is a rolling per-route 5xx counter. It is safe for concurrent use.
type Window struct {
	mu      sync.Mutex
	now     func() time.Time
	slot    time.Duration
	maxKeys int
	routes  map[string]*ring
}

type ring struct {
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
	return &Window{now: now, slot: window / Slots, maxKeys: maxKeys, routes: map[string]*ring{}}, nil
}

// Length returns the window length.
func (w *Window) Length() time.Duration { return w.slot * Slots }

// Record counts one answer of route with the given HTTP status.
func (w *Window) Record(route string, status int) {
	cur := w.now().UnixNano() / int64(w.slot)
	i := cur % Slots
	w.mu.Lock()
	r, ok := w.routes[route]
	if !ok {
		if len(w.routes) >= w.maxKeys {
			route = Overflow
			r = w.routes[route]
		}
		if r == nil {
			r = &ring{}
			w.routes[route] = r
		}
	}
	if r.stamp[i] != cur {
		r.stamp[i], r.total[i], r.errors[i] = cur, 0, 0
	}
	r.total[i]++
	if status >= 500 {
		r.errors[i]++
	}
	w.mu.Unlock()
}

// Snapshot returns every tracked route's counts over the window, sorted by
// route. A route seen before but idle during the window has zero counts.
func (w *Window) Snapshot() []Rate {
	cur := w.now().UnixNano() / int64(w.slot)
	w.mu.Lock()
	out := make([]Rate, 0, len(w.routes))
	for route, r := range w.routes {
		rt := Rate{Route: route}
		for i := range Slots {
			if r.stamp[i] > cur-Slots && r.stamp[i] <= cur {
				rt.Requests += r.total[i]
				rt.Errors += r.errors[i]
			}
		}
		if rt.Requests > 0 {
			rt.Share = float64(rt.Errors) / float64(rt.Requests)
		}
		out = append(out, rt)
	}
	w.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Route < out[j].Route })
	return out
}

// Len returns how many route keys are tracked (the overflow key included).
func (w *Window) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.routes)
}
