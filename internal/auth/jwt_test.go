package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

// guarded builds a gin engine with Identify and a user and an admin route.
func guarded(st *Stack) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(st.Identify())
	e.GET("/user", st.RequireUser(), func(c *gin.Context) {
		sub, _ := Subject(c)
		c.JSON(200, gin.H{"sub": sub})
	})
	e.GET("/admin", st.RequireAdmin(), func(c *gin.Context) { c.JSON(200, gin.H{"ok": true}) })
	return e
}

func stackFor(t testing.TB, a config.AuthConfig) *Stack {
	t.Helper()
	st, err := NewStack(&config.Config{Auth: a}, nil, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func call(e http.Handler, path, authz string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", path, nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	e.ServeHTTP(w, r)
	return w
}

// TestAttackTokens: every token in the table is refused with 401 and a
// Bearer challenge, by an HS256 and by an RS256 configuration; the valid
// controls pass, so the table cannot pass by refusing everything.
func TestAttackTokens(t *testing.T) {
	rk := testRSAKey(t)
	pubPath, _ := writeKeyPair(t, rk)
	pubPEM, err := os.ReadFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	hs := stackFor(t, authCfg(func(a *config.AuthConfig) {
		a.Secret, a.Issuer, a.Audience = testSecret, "https://issuer.test", "advanced-backend"
	}))
	rs := stackFor(t, authCfg(func(a *config.AuthConfig) {
		a.PublicKeyFile, a.Issuer, a.Audience = pubPath, "https://issuer.test", "advanced-backend"
	}))
	if hs.Mode() != "jwt-hs256" || rs.Mode() != "jwt-rs256" {
		t.Fatalf("modes %q %q", hs.Mode(), rs.Mode())
	}
	good := with(claimsAt("alice", "user"), "iss", "https://issuer.test", "aud", "advanced-backend")
	hsKey := []byte(testSecret)
	ecKey := newECKey(t)

	type attack struct {
		name  string
		token string
	}
	common := func(m jwt.SigningMethod, key any) []attack {
		valid := sign(t, m, good, key)
		parts := strings.Split(valid, ".")
		flipped := []byte(parts[2])
		flipped[5] ^= 0x01
		none, err := jwt.NewWithClaims(jwt.SigningMethodNone, good).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return []attack{
			{"alg none", none},
			{"alg none, empty signature kept", parts[0][:0] + mustB64(t, `{"alg":"none","typ":"JWT"}`) + "." + parts[1] + "."},
			{"header says none, real signature", mustB64(t, `{"alg":"none","typ":"JWT"}`) + "." + parts[1] + "." + parts[2]},
			{"expired", sign(t, m, with(good, "exp", t0.Add(-time.Hour).Unix()), key)},
			{"expired beyond leeway", sign(t, m, with(good, "exp", t0.Add(-31*time.Second).Unix()), key)},
			{"nbf in the future", sign(t, m, with(good, "nbf", t0.Add(time.Hour).Unix()), key)},
			{"iat in the future", sign(t, m, with(good, "iat", t0.Add(time.Hour).Unix()), key)},
			{"wrong iss", sign(t, m, with(good, "iss", "https://evil.test"), key)},
			{"missing iss", sign(t, m, with(good, "iss", nil), key)},
			{"wrong aud", sign(t, m, with(good, "aud", "someone-else"), key)},
			{"missing aud", sign(t, m, with(good, "aud", nil), key)},
			{"bad signature", parts[0] + "." + parts[1] + "." + string(flipped)},
			{"signature of other claims", parts[0] + "." + mustB64(t, `{"sub":"mallory","roles":["admin"],"exp":`+jsonInt(t0.Add(time.Hour).Unix())+`}`) + "." + parts[2]},
			{"truncated signature", valid[:len(valid)-10]},
			{"truncated to two parts", parts[0] + "." + parts[1]},
			{"truncated mid-payload", valid[:len(parts[0])+10]},
			{"oversized", sign(t, m, with(good, "pad", strings.Repeat("x", 5000)), key)},
			{"missing exp", sign(t, m, with(good, "exp", nil), key)},
			{"missing sub", sign(t, m, with(good, "sub", nil), key)},
			{"sub is a number", sign(t, m, with(good, "sub", 42), key)},
			{"exp is a string", sign(t, m, with(good, "exp", "tomorrow"), key)},
			{"nbf is an object", sign(t, m, with(good, "nbf", map[string]any{"t": 1}), key)},
			{"roles is a number", sign(t, m, with(good, "roles", 7), key)},
			{"roles holds numbers", sign(t, m, with(good, "roles", []any{1, 2}), key)},
			{"role is an array", sign(t, m, with(good, "role", []string{"admin"}), key)},
			{"aud is a number", sign(t, m, with(good, "aud", 5), key)},
			{"HS512 with the right secret", sign(t, jwt.SigningMethodHS512, good, hsKey)},
			{"ES256 with another key", sign(t, jwt.SigningMethodES256, good, ecKey)},
			{"crit header", signHeader(t, m, good, key, "crit", []string{"exp"})},
			{"not a JWT", "hello"},
			{"three empty parts", ".."},
			{"garbage base64", "!!!.###.$$$"},
		}
	}
	for _, tc := range []struct {
		name    string
		st      *Stack
		method  jwt.SigningMethod
		key     any
		attacks []attack
	}{
		{"HS256", hs, jwt.SigningMethodHS256, hsKey, []attack{
			{"HS256 with another secret", sign(t, jwt.SigningMethodHS256, good, []byte(strings.Repeat("z", 40)))},
			{"RS256 signed by an RSA key", sign(t, jwt.SigningMethodRS256, good, rk)},
		}},
		{"RS256", rs, jwt.SigningMethodRS256, rk, []attack{
			{"HS256 signed with the RSA public key bytes", sign(t, jwt.SigningMethodHS256, good, pubPEM)},
			{"HS256 signed with the RSA public key DER", sign(t, jwt.SigningMethodHS256, good, pemBody(t, pubPEM))},
			{"RS256 by another RSA key", sign(t, jwt.SigningMethodRS256, good, otherRSA(t))},
			{"PS256 with the right key", sign(t, jwt.SigningMethodPS256, good, rk)},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := guarded(tc.st)
			valid := sign(t, tc.method, good, tc.key)
			if w := call(e, "/user", "Bearer "+valid); w.Code != 200 || !strings.Contains(w.Body.String(), `"sub":"alice"`) {
				t.Fatalf("valid control token refused: %d %s", w.Code, w.Body)
			}
			if w := call(e, "/user", "bearer "+valid); w.Code != 200 {
				t.Fatalf("scheme is case-insensitive: %d", w.Code)
			}
			if w := call(e, "/user", "Bearer "+sign(t, tc.method, with(good, "exp", t0.Add(-10*time.Second).Unix()), tc.key)); w.Code != 200 {
				t.Fatalf("expired within the leeway refused: %d %s", w.Code, w.Body)
			}
			for _, a := range append(common(tc.method, tc.key), tc.attacks...) {
				if _, err := tc.st.Verifier().Verify(a.token); err == nil {
					t.Errorf("%s: Verify accepted it", a.name)
				}
				w := call(e, "/user", "Bearer "+a.token)
				if w.Code != http.StatusUnauthorized {
					t.Errorf("%s: %d %s, want 401", a.name, w.Code, w.Body)
					continue
				}
				if ch := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer ") || !strings.Contains(ch, `error="invalid_token"`) {
					t.Errorf("%s: WWW-Authenticate %q", a.name, ch)
				}
				if w := call(e, "/admin", "Bearer "+a.token); w.Code != http.StatusUnauthorized {
					t.Errorf("%s on admin: %d", a.name, w.Code)
				}
			}
		})
	}
	// The oversized token is refused before parsing, with its own error.
	big := sign(t, jwt.SigningMethodHS256, with(good, "pad", strings.Repeat("x", 5000)), hsKey)
	if _, err := hs.Verifier().Verify(big); !errors.Is(err, ErrTokenTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
}

func TestMissingOrMalformedHeader(t *testing.T) {
	e := guarded(stackFor(t, authCfg(func(a *config.AuthConfig) { a.Secret = testSecret })))
	w := call(e, "/user", "")
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") != `Bearer realm="advanced-backend"` {
		t.Fatalf("no header: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != "unauthorized" {
		t.Fatalf("body %s", w.Body)
	}
	valid := sign(t, jwt.SigningMethodHS256, claimsAt("bob"), []byte(testSecret))
	for _, h := range []string{"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token " + valid, valid} {
		if w := call(e, "/user", h); w.Code != 401 {
			t.Errorf("%q: %d", h, w.Code)
		}
	}
	// A token in the query string or a cookie is not looked at.
	w = httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/user?access_token="+valid, nil)
	r.AddCookie(&http.Cookie{Name: "token", Value: valid})
	e.ServeHTTP(w, r)
	if w.Code != 401 {
		t.Fatalf("query/cookie token accepted: %d", w.Code)
	}
	// Two Authorization headers are refused.
	w = httptest.NewRecorder()
	r = httptest.NewRequest("GET", "/user", nil)
	r.Header.Add("Authorization", "Bearer "+valid)
	r.Header.Add("Authorization", "Bearer "+valid)
	e.ServeHTTP(w, r)
	if w.Code != 401 {
		t.Fatalf("two headers: %d", w.Code)
	}
}

func TestRoles(t *testing.T) {
	st := stackFor(t, authCfg(func(a *config.AuthConfig) { a.Secret = testSecret }))
	e := guarded(st)
	k := []byte(testSecret)
	for _, tc := range []struct {
		name        string
		claims      jwt.MapClaims
		user, admin int
	}{
		{"no roles", claimsAt("u1"), 200, 403},
		{"user role", claimsAt("u2", "user"), 200, 403},
		{"roles array with admin", claimsAt("a1", "user", "admin"), 200, 200},
		{"roles string admin", with(claimsAt("a2"), "roles", "admin"), 200, 200},
		{"role claim admin", with(claimsAt("a3"), "role", "admin"), 200, 200},
		{"role claim other", with(claimsAt("u3"), "role", "auditor"), 200, 403},
		{"Admin is not admin", claimsAt("u4", "Admin"), 200, 403},
		{"roles null, role admin", with(claimsAt("a4"), "roles", []string(nil), "role", "admin"), 200, 200},
	} {
		tok := "Bearer " + sign(t, jwt.SigningMethodHS256, tc.claims, k)
		if w := call(e, "/user", tok); w.Code != tc.user {
			t.Errorf("%s: user route %d", tc.name, w.Code)
		}
		w := call(e, "/admin", tok)
		if w.Code != tc.admin {
			t.Errorf("%s: admin route %d %s", tc.name, w.Code, w.Body)
		}
		if w.Code == 403 && !strings.Contains(w.Body.String(), `"code":"forbidden"`) {
			t.Errorf("%s: 403 body %s", tc.name, w.Body)
		}
	}
}

func TestKeyConfigurationErrors(t *testing.T) {
	rk := testRSAKey(t)
	rsaPub, rsaPriv := writeKeyPair(t, rk)
	ecPub, ecPriv := writeKeyPair(t, newECKey(t))
	edPub, edPriv := writeKeyPair(t, newEdKey(t))
	smallRSA, err := rsaGenerate(1024)
	if err != nil {
		t.Fatal(err)
	}
	smallPub, _ := writeKeyPair(t, smallRSA)
	garbage := t.TempDir() + "/garbage.pem"
	if err := os.WriteFile(garbage, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	huge := t.TempDir() + "/huge.pem"
	if err := os.WriteFile(huge, make([]byte, maxKeyFileBytes+10), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*config.AuthConfig)
		want string // "" = no error, else a substring of the error
		mode string
	}{
		{"rsa", func(a *config.AuthConfig) { a.PublicKeyFile = rsaPub }, "", "jwt-rs256"},
		{"ec", func(a *config.AuthConfig) { a.PublicKeyFile = ecPub }, "", "jwt-es256"},
		{"ed25519", func(a *config.AuthConfig) { a.PublicKeyFile = edPub }, "", "jwt-eddsa"},
		{"rsa with private", func(a *config.AuthConfig) { a.PublicKeyFile, a.PrivateKeyFile = rsaPub, rsaPriv }, "", "jwt-rs256"},
		{"missing file", func(a *config.AuthConfig) { a.PublicKeyFile = "/nonexistent/key.pem" }, "JWT_PUBLIC_KEY_FILE", ""},
		{"garbage file", func(a *config.AuthConfig) { a.PublicKeyFile = garbage }, "JWT_PUBLIC_KEY_FILE", ""},
		{"huge file", func(a *config.AuthConfig) { a.PublicKeyFile = huge }, "larger than", ""},
		{"private key given as public", func(a *config.AuthConfig) { a.PublicKeyFile = rsaPriv }, "JWT_PUBLIC_KEY_FILE", ""},
		{"small rsa", func(a *config.AuthConfig) { a.PublicKeyFile = smallPub }, "1024 bits", ""},
		{"algorithm mismatch", func(a *config.AuthConfig) { a.PublicKeyFile, a.Algorithm = ecPub, "RS256" }, "JWT_ALGORITHM", ""},
		{"private key of another pair", func(a *config.AuthConfig) { a.PublicKeyFile, a.PrivateKeyFile = rsaPub, ecPriv }, "does not match", ""},
		{"private key of another ed pair", func(a *config.AuthConfig) { a.PublicKeyFile, a.PrivateKeyFile = edPub, rsaPriv }, "JWT_PRIVATE_KEY_FILE", ""},
		{"short secret", func(a *config.AuthConfig) { a.Secret = "short" }, "JWT_SECRET", ""},
		{"users file missing", func(a *config.AuthConfig) { a.Secret, a.UsersFile = testSecret, "/nonexistent/users.json" }, "USERS_FILE", ""},
		{"users file garbage", func(a *config.AuthConfig) { a.Secret, a.UsersFile = testSecret, garbage }, "USERS_FILE", ""},
	} {
		st, err := NewStack(&config.Config{Auth: authCfg(tc.mod)}, nil, nil)
		if tc.want == "" {
			if err != nil || st.Mode() != tc.mode {
				t.Errorf("%s: %v, mode %v", tc.name, err, st)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	_ = edPriv
}

func TestAuthOffModes(t *testing.T) {
	for _, tc := range []struct {
		cfg  config.Config
		mode string
	}{
		{config.Config{SafeMode: true, Auth: authCfg(func(a *config.AuthConfig) { a.Secret = testSecret })}, "off (SAFE_MODE)"},
		// SAFE_MODE reads no key file: a broken one does not stop a safe start.
		{config.Config{SafeMode: true, Auth: authCfg(func(a *config.AuthConfig) { a.PublicKeyFile = "/nonexistent" })}, "off (SAFE_MODE)"},
		{config.Config{Auth: authCfg(nil)}, "off (JWT not configured)"},
	} {
		st, err := NewStack(&tc.cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Enabled() || st.Mode() != tc.mode || st.IssuingProblem() == "" {
			t.Errorf("%+v: enabled %v mode %q", tc.cfg, st.Enabled(), st.Mode())
		}
		e := guarded(st)
		if w := call(e, "/user", ""); w.Code != 200 {
			t.Errorf("%s: RequireUser with auth off: %d", tc.mode, w.Code)
		}
		if w := call(e, "/admin", ""); w.Code != 503 {
			t.Errorf("%s: RequireAdmin with auth off must not pass: %d", tc.mode, w.Code)
		}
	}
}
