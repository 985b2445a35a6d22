package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Bounds of the verified-token cache.
const (
	verifiedCacheSize = 4096
	verifiedCacheTTL  = time.Minute
)

// verifiedCache remembers tokens that passed verification, so that a
// client sending the same token on every request (an API key, as OpenAI
// clients do) costs a hash and a map lookup instead of a signature check
// and a claims decode. A token's signature, issuer and audience cannot
// change; its time checks can, so an entry is used only until the token's
// expiry (plus leeway) and at most verifiedCacheTTL after it was verified.
// Keys are SHA-256 digests of the token: the cache holds no token text and
// its lookups compare fixed-size digests.
type verifiedCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]verifiedEntry
}

type verifiedEntry struct {
	claims *Claims
	until  time.Time
}

func (c *verifiedCache) get(key [sha256.Size]byte, now time.Time) (*Claims, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	if !now.Before(e.until) {
		delete(c.entries, key)
		return nil, false
	}
	return e.claims, true
}

// put stores claims verified at now; leeway extends the expiry as the
// parser does.
func (c *verifiedCache) put(key [sha256.Size]byte, claims *Claims, now time.Time, leeway time.Duration) {
	until := now.Add(verifiedCacheTTL)
	if claims.ExpiresAt == nil {
		return // the parser requires exp; never cache without one
	}
	if exp := claims.ExpiresAt.Add(leeway); exp.Before(until) {
		until = exp
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[[sha256.Size]byte]verifiedEntry)
	}
	if len(c.entries) >= verifiedCacheSize {
		// drop expired entries, then (still full) an arbitrary one
		for k, e := range c.entries {
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < verifiedCacheSize {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = verifiedEntry{claims: claims, until: until}
}
