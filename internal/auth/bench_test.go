package auth

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

// BenchmarkVerify measures one token verification per algorithm (the cost
// the identification middleware adds to every request with a token).
func BenchmarkVerify(b *testing.B) {
	rsaPub, _ := writeKeyPair(b, testRSAKey(b))
	ec := newECKey(b)
	ecPub, _ := writeKeyPair(b, ec)
	ed := newEdKey(b)
	edPub, _ := writeKeyPair(b, ed)
	for _, tc := range []struct {
		name   string
		mod    func(*config.AuthConfig)
		method jwt.SigningMethod
		key    any
	}{
		{"HS256", func(a *config.AuthConfig) { a.Secret = testSecret }, jwt.SigningMethodHS256, []byte(testSecret)},
		{"RS256", func(a *config.AuthConfig) { a.PublicKeyFile = rsaPub }, jwt.SigningMethodRS256, testRSAKey(b)},
		{"ES256", func(a *config.AuthConfig) { a.PublicKeyFile = ecPub }, jwt.SigningMethodES256, ec},
		{"EdDSA", func(a *config.AuthConfig) { a.PublicKeyFile = edPub }, jwt.SigningMethodEdDSA, ed},
	} {
		st := stackFor(b, authCfg(tc.mod))
		tok := sign(b, tc.method, claimsAt("alice", "admin"), tc.key)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.Verifier().Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAuthenticate is one password check at bcrypt cost 10 (the
// default of hash-password), known and unknown user.
func BenchmarkAuthenticate(b *testing.B) {
	u, err := ParseUsers([]byte(`{"users":[{"username":"alice","password_hash":"` + mustHash(b, "pw", 10) + `"}]}`))
	if err != nil {
		b.Fatal(err)
	}
	for _, user := range []string{"alice", "nobody"} {
		b.Run(user, func(b *testing.B) {
			for b.Loop() {
				u.Authenticate(user, "wrong")
			}
		})
	}
}
