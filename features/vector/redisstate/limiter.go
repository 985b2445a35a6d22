package redisstate

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/advanced-backend/advanced-backend/internal/ratelimit"
)

// limiterPrefix keeps the service's budgets apart in a shared Redis
// (redis_rate adds its own "rate:" in front).
const limiterPrefix = "advanced-backend:"

// Limiter is a ratelimit.Limiter shared by every replica that uses the same
// Redis: GCRA (redis_rate) at rps sustained with bursts of burst. While
// Redis is down Allow fails at once; core then uses its local buckets.
type Limiter struct {
	g     *Guard
	rl    *redis_rate.Limiter
	limit redis_rate.Limit
}

// NewLimiter returns a limiter over g; rps must be positive.
func NewLimiter(g *Guard, rps float64, burst int) *Limiter {
	// one event per 1/rps: redis_rate's emission interval is Period/Rate
	period := time.Duration(float64(time.Second) / rps)
	return &Limiter{g: g, rl: redis_rate.NewLimiter(g.client), limit: redis_rate.Limit{Rate: 1, Burst: burst, Period: period}}
}

// Allow takes one request from key's budget.
func (l *Limiter) Allow(ctx context.Context, key string) (ratelimit.Decision, error) {
	var res *redis_rate.Result
	err := l.g.Do(ctx, "limiter", func(ctx context.Context) error {
		var err error
		res, err = l.rl.Allow(ctx, limiterPrefix+key, l.limit)
		return err
	})
	if err != nil {
		return ratelimit.Decision{}, fmt.Errorf("shared limiter: %w", err)
	}
	d := ratelimit.Decision{
		Allowed:    res.Allowed > 0,
		Limit:      l.limit.Burst,
		Remaining:  res.Remaining,
		ResetAfter: max(res.ResetAfter, 0),
	}
	if !d.Allowed {
		d.RetryAfter = max(res.RetryAfter, 0)
	}
	return d, nil
}

var _ ratelimit.Limiter = (*Limiter)(nil)
