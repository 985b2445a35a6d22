package ratelimit

import (
	"container/list"
	"context"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Local is an in-process limiter: one token bucket per key, in a table
// bounded by maxClients; when full, the least recently seen key is evicted
// (it starts again with a full bucket when it comes back).
type Local struct {
	rps        float64
	burst      int
	maxClients int
	now        func() time.Time

	mu        sync.Mutex
	lru       *list.List // of *bucket, most recently seen at the front
	byKey     map[string]*list.Element
	evictions uint64
}

type bucket struct {
	key string
	lim *rate.Limiter
}

// NewLocal returns a limiter of rps requests per second, bursts of burst,
// for at most maxClients keys at a time. now may be nil (time.Now).
func NewLocal(rps float64, burst, maxClients int, now func() time.Time) *Local {
	if now == nil {
		now = time.Now
	}
	burst = max(burst, 1)
	maxClients = max(maxClients, 1)
	return &Local{rps: rps, burst: burst, maxClients: maxClients, now: now,
		lru: list.New(), byKey: make(map[string]*list.Element)}
}

// Allow takes one token from key's bucket if there is one.
func (l *Local) Allow(_ context.Context, key string) (groupapi.Decision, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if el, ok := l.byKey[key]; ok {
		l.lru.MoveToFront(el)
		b = el.Value.(*bucket)
	} else {
		if l.lru.Len() >= l.maxClients {
			oldest := l.lru.Back()
			l.lru.Remove(oldest)
			delete(l.byKey, oldest.Value.(*bucket).key)
			l.evictions++
		}
		b = &bucket{key: key, lim: rate.NewLimiter(rate.Limit(l.rps), l.burst)}
		l.byKey[key] = l.lru.PushFront(b)
	}
	allowed := b.lim.AllowN(now, 1)
	return decide(allowed, b.lim.TokensAt(now), l.rps, l.burst), nil
}

// decide turns the bucket level after the attempt into a Decision.
func decide(allowed bool, tokens, rps float64, burst int) groupapi.Decision {
	d := groupapi.Decision{Allowed: allowed, Limit: burst, Remaining: max(int(math.Floor(tokens)), 0)}
	if rps > 0 {
		d.ResetAfter = seconds((float64(burst) - tokens) / rps)
		if !allowed {
			d.RetryAfter = seconds((1 - tokens) / rps)
		}
	}
	return d
}

func seconds(s float64) time.Duration {
	if s <= 0 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// Len is the number of keys in the table.
func (l *Local) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// Evictions counts keys evicted to keep the table bounded.
func (l *Local) Evictions() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.evictions
}

// Rate returns the configured rate and burst.
func (l *Local) Rate() (rps float64, burst int) { return l.rps, l.burst }
