package auth

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

// A verified token is remembered, but never past its expiry (with the
// leeway), never for longer than verifiedCacheTTL, and a token that differs
// in any byte is verified on its own; the cache stays within its bound.
func TestVerifiedTokenCache(t *testing.T) {
	const secret = "cache-secret-0123456789abcdef-0123456789"
	clock := time.Unix(1_800_000_000, 0)
	v, err := NewVerifier(config.AuthConfig{Secret: secret, Leeway: 5 * time.Second}, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	sign := func(sub string, exp time.Time) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: sub,
			IssuedAt: jwt.NewNumericDate(clock), ExpiresAt: jwt.NewNumericDate(exp)}).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	start := clock
	tok := sign("alice", start.Add(30*time.Second))
	for i := 0; i < 2; i++ {
		if c, err := v.Verify(tok); err != nil || c.Subject != "alice" {
			t.Fatalf("verify %d: %v", i, err)
		}
	}
	if len(v.verified.entries) != 1 {
		t.Fatalf("%d cached", len(v.verified.entries))
	}
	// a forged signature on the same claims is not the cached token
	parts := strings.Split(tok, ".")
	if _, err := v.Verify(parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))); err == nil {
		t.Fatal("forged token accepted")
	}
	// within exp + leeway it still passes; after, the cache does not keep it alive
	clock = start.Add(34 * time.Second)
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	clock = start.Add(36 * time.Second)
	if _, err := v.Verify(tok); err == nil {
		t.Fatal("expired token accepted from the cache")
	}
	// a long-lived token is re-verified after verifiedCacheTTL
	long := sign("bob", start.Add(time.Hour))
	clock = start
	v.Verify(long)
	key := v.verified.entries
	for k, e := range key {
		if e.claims.Subject == "bob" && !e.until.Equal(start.Add(verifiedCacheTTL)) {
			t.Fatalf("bob cached until %v", e.until)
		}
		_ = k
	}
	// bounded
	for i := 0; i < verifiedCacheSize+50; i++ {
		if _, err := v.Verify(sign(fmt.Sprint("u", i), start.Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(v.verified.entries); n > verifiedCacheSize {
		t.Fatalf("%d entries, bound %d", n, verifiedCacheSize)
	}
}
