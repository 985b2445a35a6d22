package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

const testSecret = "0123456789abcdef0123456789abcdef-test-secret"

// t0 is the fixed "now" of the verifier in these tests.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedNow() time.Time { return t0 }

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func testRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	rsaOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err) // crypto/rand failing is not a test condition
		}
		rsaKey = k
	})
	return rsaKey
}

// writeKeyPair writes PEM files of a key pair and returns their paths.
func writeKeyPair(t testing.TB, priv crypto.Signer) (pubPath, privPath string) {
	t.Helper()
	dir := t.TempDir()
	pubDER, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pubPath, privPath = filepath.Join(dir, "pub.pem"), filepath.Join(dir, "priv.pem")
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return pubPath, privPath
}

func newECKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newEdKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func authCfg(mod func(*config.AuthConfig)) config.AuthConfig {
	a := config.AuthConfig{Leeway: 30 * time.Second, TTL: 15 * time.Minute, MaxTokenBytes: 4096}
	if mod != nil {
		mod(&a)
	}
	return a
}

// claimsAt are valid claims around t0.
func claimsAt(sub string, roles ...string) jwt.MapClaims {
	m := jwt.MapClaims{
		"sub": sub,
		"iat": t0.Add(-time.Minute).Unix(),
		"nbf": t0.Add(-time.Minute).Unix(),
		"exp": t0.Add(10 * time.Minute).Unix(),
	}
	if len(roles) > 0 {
		m["roles"] = roles
	}
	return m
}

func sign(t testing.TB, m jwt.SigningMethod, claims jwt.Claims, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func with(m jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func rsaGenerate(bits int) (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, bits) }

var (
	otherOnce sync.Once
	otherKey  *rsa.PrivateKey
)

func otherRSA(t testing.TB) *rsa.PrivateKey {
	otherOnce.Do(func() {
		k, err := rsaGenerate(2048)
		if err != nil {
			panic(err)
		}
		otherKey = k
	})
	return otherKey
}

func mustB64(t testing.TB, s string) string {
	t.Helper()
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func jsonInt(n int64) string { return strconv.FormatInt(n, 10) }

func pemBody(t testing.TB, p []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(p)
	if b == nil {
		t.Fatal("no PEM")
	}
	return b.Bytes
}

// signHeader signs with an extra header field.
func signHeader(t testing.TB, m jwt.SigningMethod, claims jwt.Claims, key any, k string, v any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	tok.Header[k] = v
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
