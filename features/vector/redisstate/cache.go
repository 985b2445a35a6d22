package redisstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// MaxValueBytes bounds one cached value; larger ones are not cached.
const MaxValueBytes = 1 << 20

// keyPrefix keeps the service's cache keys apart in a shared Redis.
const keyPrefix = "advanced-backend:cache:"

// Cache is a groupapi.ResponseCache in Redis.
type Cache struct{ g *Guard }

// NewCache returns the cache over g.
func NewCache(g *Guard) *Cache { return &Cache{g: g} }

// Get returns the value and true on a hit; a miss is (nil, false, nil).
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	var b []byte
	err := c.g.Do(ctx, "cache_get", func(ctx context.Context) error {
		var err error
		b, err = c.g.client.Get(ctx, keyPrefix+key).Bytes()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache get: %w", err)
	}
	return b, true, nil
}

// Set stores value for ttl (which must be positive).
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("cache set: ttl must be positive")
	}
	if len(value) > MaxValueBytes {
		return fmt.Errorf("cache set: value of %d bytes exceeds %d", len(value), MaxValueBytes)
	}
	err := c.g.Do(ctx, "cache_set", func(ctx context.Context) error {
		return c.g.client.Set(ctx, keyPrefix+key, value, ttl).Err()
	})
	if err != nil {
		return fmt.Errorf("cache set: %w", err)
	}
	return nil
}
