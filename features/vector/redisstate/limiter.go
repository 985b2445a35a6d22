package redisstate

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/ratelimit"
)

// limiterPrefix keeps the service's budgets apart in a shared Redis
// (redis_rate adds its own "rate:" in front).
const limiterPrefix = "advanced-backend:"

// LimitKey is the Redis key of a client's budget: rate:advanced-backend:{key}.
// The client key is the hash tag, so on a Redis Cluster the one key that
// redis_rate's script reads and writes has its slot chosen by the client
// alone (the script touches nothing else), and different clients spread
// over all slots and masters. Core's keys (ip:..., sub:..., "METHOD
// /route ip:...") hold no braces; if one did, the tag would end at its
// first "}" - still one key, one slot.
func LimitKey(key string) string { return "rate:" + rateKey(key) }

// rateKey is the key handed to redis_rate, which prepends "rate:".
func rateKey(key string) string { return limiterPrefix + "{" + key + "}" }

// Limiter is a groupapi.Limiter shared by every replica that uses the same
// Redis: GCRA (redis_rate) at rps sustained with bursts of burst. While
// Redis is down Allow fails at once; core then uses its local buckets.
type Limiter struct {
	g     *Guard
	rl    *redis_rate.Limiter
	limit redis_rate.Limit
}

// NewLimiter returns a limiter over g; rps must be positive.
func NewLimiter(g *Guard, rps float64, burst int) *Limiter {
	return &Limiter{g: g, rl: redis_rate.NewLimiter(g.client), limit: gcra(rps, burst)}
}

// gcra expresses rps/burst as a redis_rate limit: one event per 1/rps
// (redis_rate's emission interval is Period/Rate).
func gcra(rps float64, burst int) redis_rate.Limit {
	return redis_rate.Limit{Rate: 1, Burst: burst, Period: time.Duration(float64(time.Second) / rps)}
}

// Allow takes one request from key's budget.
func (l *Limiter) Allow(ctx context.Context, key string) (groupapi.Decision, error) {
	return l.allow(ctx, key, l.limit)
}

// AllowRate takes one request from key's budget at a per-route rate (a
// registry-file override), so overrides are shared by replicas too.
func (l *Limiter) AllowRate(ctx context.Context, key string, rps float64, burst int) (groupapi.Decision, error) {
	if rps <= 0 || burst < 1 {
		return groupapi.Decision{}, fmt.Errorf("shared limiter: invalid rate %g/%d", rps, burst)
	}
	return l.allow(ctx, key, gcra(rps, burst))
}

func (l *Limiter) allow(ctx context.Context, key string, limit redis_rate.Limit) (groupapi.Decision, error) {
	var res *redis_rate.Result
	err := l.g.Do(ctx, "limiter", func(ctx context.Context) error {
		var err error
		res, err = l.rl.Allow(ctx, rateKey(key), limit)
		return err
	})
	if err != nil {
		return groupapi.Decision{}, fmt.Errorf("shared limiter: %w", err)
	}
	d := groupapi.Decision{
		Allowed:    res.Allowed > 0,
		Limit:      limit.Burst,
		Remaining:  res.Remaining,
		ResetAfter: max(res.ResetAfter, 0),
	}
	if !d.Allowed {
		d.RetryAfter = max(res.RetryAfter, 0)
	}
	return d, nil
}

var (
	_ groupapi.Limiter    = (*Limiter)(nil)
	_ ratelimit.RateAware = (*Limiter)(nil)
)
