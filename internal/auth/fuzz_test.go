package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

// FuzzVerify feeds arbitrary strings to the token verifier (HS256 with
// issuer and audience checks). Seeds are in testdata/fuzz/FuzzVerify and
// below. Whatever the input: no panic; oversized input is refused before
// parsing; an accepted token has a subject, an exp, alg HS256 and an HMAC
// that really matches its first two parts.
func FuzzVerify(f *testing.F) {
	a := authCfg(func(a *config.AuthConfig) {
		a.Secret, a.Issuer, a.Audience, a.MaxTokenBytes = testSecret, "https://issuer.test", "advanced-backend", 1024
	})
	st, err := NewStack(&config.Config{Auth: a}, nil, fixedNow)
	if err != nil {
		f.Fatal(err)
	}
	v := st.Verifier()
	good := with(claimsAt("alice", "admin"), "iss", "https://issuer.test", "aud", "advanced-backend")
	valid := sign(f, jwt.SigningMethodHS256, good, []byte(testSecret))
	f.Add(valid)
	f.Add(sign(f, jwt.SigningMethodHS256, with(good, "roles", "user", "role", "admin"), []byte(testSecret)))
	f.Add(sign(f, jwt.SigningMethodHS256, with(good, "exp", nil), []byte(testSecret)))
	f.Add(sign(f, jwt.SigningMethodHS384, good, []byte(testSecret)))
	f.Add(valid[:len(valid)-3])
	f.Add("")
	f.Add("a.b.c")
	f.Add(strings.Repeat("A", 1100))
	f.Fuzz(func(t *testing.T, tok string) {
		cl, err := v.Verify(tok)
		if len(tok) > 1024 {
			if !errors.Is(err, ErrTokenTooLarge) {
				t.Fatalf("oversized token (%d bytes): %v", len(tok), err)
			}
			return
		}
		if err != nil {
			return
		}
		if cl.Subject == "" || cl.ExpiresAt == nil {
			t.Fatalf("accepted without sub/exp: %+v", cl)
		}
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted a token of %d parts", len(parts))
		}
		hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
		if err != nil {
			t.Fatalf("accepted an undecodable header: %v", err)
		}
		var h struct {
			Alg string `json:"alg"`
		}
		if err := json.Unmarshal(hdr, &h); err != nil || h.Alg != "HS256" {
			t.Fatalf("accepted alg %q (%v)", h.Alg, err)
		}
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			t.Fatalf("accepted an undecodable signature: %v", err)
		}
		mac := hmac.New(sha256.New, []byte(testSecret))
		mac.Write([]byte(parts[0] + "." + parts[1]))
		if !hmac.Equal(sig, mac.Sum(nil)) {
			t.Fatal("accepted a token whose HMAC does not match")
		}
		if cl.ExpiresAt.Add(a.Leeway).Before(t0) {
			t.Fatalf("accepted an expired token: exp %v", cl.ExpiresAt)
		}
	})
}

// FuzzParseUsers feeds arbitrary bytes to the users-file parser. Seeds
// are in testdata/fuzz/FuzzParseUsers and below. No panic; an accepted file
// respects every bound, and writing it back out parses to the same users.
func FuzzParseUsers(f *testing.F) {
	h := "$2a$04$EYaAOld8m95M6dF85O.7SOVysdetW4ZQVz1dX7/.r4rHdDUe2kiZe"
	f.Add([]byte(`{"users":[{"username":"alice","password_hash":"` + h + `","roles":["admin"]}]}`))
	f.Add([]byte(`{"users":[]}`))
	f.Add([]byte(`{"users":[{"username":"a","password_hash":"` + h + `"},{"username":"a","password_hash":"` + h + `"}]}`))
	f.Add([]byte(`{"users":[{"username":"b","password_hash":"$2a$99$x"}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"users":[{"username":"c","password_hash":"` + h + `","roles":"admin"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := ParseUsers(data)
		if err != nil {
			return
		}
		if len(data) > MaxUsersFileBytes || u.Len() > MaxUsers {
			t.Fatalf("accepted %d bytes, %d users", len(data), u.Len())
		}
		if c := u.DummyCost(); c < MinBcryptCost || c > MaxBcryptCost {
			t.Fatalf("dummy cost %d", c)
		}
		var out usersFile
		for name, usr := range u.byName {
			if !usernameRE().MatchString(name) || name != usr.Username || len(usr.Roles) > maxRoles {
				t.Fatalf("accepted user %+v", usr)
			}
			out.Users = append(out.Users, usr)
		}
		if out.Users == nil {
			out.Users = []User{}
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		u2, err := ParseUsers(b)
		if err != nil || u2.Len() != u.Len() {
			t.Fatalf("round trip: %v, %d vs %d users", err, u2.Len(), u.Len())
		}
	})
}
