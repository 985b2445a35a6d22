// Package bodymem bounds the memory that request bodies in flight hold,
// all requests together (REQUEST_BODY_MEMORY_MAX_BYTES). Bytes are reserved
// as a handler reads them, never as a client declares them, so a client
// that announces a large body and sends one byte costs one byte; they are
// released when the handler is done. A read that would pass the bound fails
// with ErrExhausted, which routes answer 503 with Retry-After.
package bodymem

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// ErrExhausted is what a Body's Read returns once the bytes held by all
// bodies in flight would pass the budget.
var ErrExhausted = errors.New("request bodies in flight hold REQUEST_BODY_MEMORY_MAX_BYTES already")

// Budget is the bound on bytes held by request bodies in flight.
type Budget struct {
	max     int64
	used    atomic.Int64
	refused atomic.Int64
}

// New returns a budget of max bytes (max > 0).
func New(max int64) *Budget { return &Budget{max: max} }

// Max is the bound in bytes.
func (b *Budget) Max() int64 { return b.max }

// InUse is the number of bytes reserved now.
func (b *Budget) InUse() int64 { return b.used.Load() }

// Refused counts reads refused because the budget was used up.
func (b *Budget) Refused() int64 { return b.refused.Load() }

// Reserve takes n bytes from the budget; false (and nothing taken) when
// that would pass the bound.
func (b *Budget) Reserve(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.max {
			b.refused.Add(1)
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// Release gives n reserved bytes back.
func (b *Budget) Release(n int64) { b.used.Add(-n) }

// Body is a request body that reserves what it reads from its budget.
// Reads happen on the handler's goroutine, Release in the middleware that
// installed it; a read that comes after Release (a goroutine the handler
// left behind) reserves nothing, so nothing leaks from the budget.
type Body struct {
	_      [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	rc     io.ReadCloser
	budget *Budget

	mu       sync.Mutex
	held     int64
	streamed bool  // consumed without being kept: only the last read is held
	last     int64 // bytes of the last read, held while streamed
	failed   bool  // ErrExhausted is sticky
	released bool
}

// Wrap returns rc reserving from b.
func (b *Budget) Wrap(rc io.ReadCloser) *Body { return &Body{rc: rc, budget: b} }

// Read reads from the body and reserves what it got. When the reservation
// fails the bytes are dropped and the read fails with ErrExhausted, as
// every read after it does.
func (r *Body) Read(p []byte) (int, error) {
	r.mu.Lock()
	failed := r.failed
	r.mu.Unlock()
	if failed {
		return 0, ErrExhausted
	}
	n, err := r.rc.Read(p)
	if n <= 0 {
		return n, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.released {
		return n, err // the handler is done; nothing is held for it any more
	}
	if r.streamed && r.last > 0 {
		r.budget.Release(r.last)
		r.held -= r.last
		r.last = 0
	}
	if !r.budget.Reserve(int64(n)) {
		r.failed = true
		return 0, ErrExhausted
	}
	r.held += int64(n)
	if r.streamed {
		r.last = int64(n)
	}
	return n, err
}

// Close closes the underlying body.
func (r *Body) Close() error { return r.rc.Close() }

// Held is the number of bytes this body holds in the budget.
func (r *Body) Held() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.held
}

// Release gives everything the body holds back to the budget; reads after
// it reserve nothing (the handler is done). Safe to call more than once.
func (r *Body) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.released {
		return
	}
	r.released = true
	r.budget.Release(r.held)
	r.held, r.last = 0, 0
}

// Stream marks a request body as consumed without being kept (hashed,
// copied to disk...): from then on it holds only its last read, not
// everything read. A body that is not a *Body is left alone.
func Stream(body io.Reader) {
	if r, ok := body.(*Body); ok {
		r.mu.Lock()
		r.streamed = true
		r.mu.Unlock()
	}
}
