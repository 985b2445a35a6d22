package auth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/config"
)

// hashCost is low so the tests stay fast; the code path is the same.
const hashCost = bcrypt.MinCost

func mustHash(t testing.TB, pw string, cost int) string {
	t.Helper()
	h, err := HashPassword([]byte(pw), cost)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func writeUsers(t testing.TB, users ...User) string {
	t.Helper()
	b, err := json.Marshal(usersFile{Users: users})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseUsersRejects(t *testing.T) {
	h := mustHash(t, "pw", hashCost)
	ok := fmt.Sprintf(`{"users":[{"username":"alice","password_hash":%q,"roles":["admin"]}]}`, h)
	if u, err := ParseUsers([]byte(ok)); err != nil || u.Len() != 1 {
		t.Fatalf("valid file: %v", err)
	}
	if u, err := ParseUsers([]byte(`{"users":[]}`)); err != nil || u.Len() != 0 {
		t.Fatalf("empty list: %v", err)
	}
	for name, body := range map[string]string{
		"not JSON":        `users: alice`,
		"empty":           ``,
		"no users key":    `{}`,
		"users null":      `{"users":null}`,
		"unknown field":   fmt.Sprintf(`{"users":[{"username":"a","password_hash":%q,"admin":true}]}`, h),
		"unknown top key": `{"users":[],"extra":1}`,
		"trailing data":   `{"users":[]} {}`,
		"plain password":  `{"users":[{"username":"a","password_hash":"hunter2"}]}`,
		"md5 hash":        `{"users":[{"username":"a","password_hash":"5f4dcc3b5aa765d61d8327deb882cf99"}]}`,
		"cost too high":   `{"users":[{"username":"a","password_hash":"$2a$20$afK1OUHZOHza12O1N9VAuuRVaxDdsm2IEJ4wvdqd52oixIOCp6dOy"}]}`,
		"empty username":  fmt.Sprintf(`{"users":[{"username":"","password_hash":%q}]}`, h),
		"space in name":   fmt.Sprintf(`{"users":[{"username":"a b","password_hash":%q}]}`, h),
		"long username":   fmt.Sprintf(`{"users":[{"username":%q,"password_hash":%q}]}`, strings.Repeat("a", 65), h),
		"duplicate user":  fmt.Sprintf(`{"users":[{"username":"a","password_hash":%q},{"username":"a","password_hash":%q}]}`, h, h),
		"empty role":      fmt.Sprintf(`{"users":[{"username":"a","password_hash":%q,"roles":[""]}]}`, h),
		"role wrong type": fmt.Sprintf(`{"users":[{"username":"a","password_hash":%q,"roles":"admin"}]}`, h),
		"username number": fmt.Sprintf(`{"users":[{"username":7,"password_hash":%q}]}`, h),
		"too many roles":  fmt.Sprintf(`{"users":[{"username":"a","password_hash":%q,"roles":[%s"x"]}]}`, h, strings.Repeat(`"x",`, 40)),
		"top level array": `[]`,
		"over size bound": `{"users":[],"x":"` + strings.Repeat("x", MaxUsersFileBytes) + `"}`,
	} {
		if _, err := ParseUsers([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var many strings.Builder
	many.WriteString(`{"users":[`)
	for i := 0; i <= MaxUsers; i++ {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `{"username":"u%d","password_hash":%q}`, i, h)
	}
	many.WriteString(`]}`)
	if _, err := ParseUsers([]byte(many.String())); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("%d users: %v", MaxUsers+1, err)
	}
}

// TestUnknownUserCostsTheSameBcryptWork checks, without timing anything,
// that a login for an unknown user runs one bcrypt comparison against a
// hash of the same cost as the real users' hashes.
func TestUnknownUserCostsTheSameBcryptWork(t *testing.T) {
	for _, cost := range []int{4, 6} {
		u, err := ParseUsers(fmt.Appendf(nil, `{"users":[{"username":"alice","password_hash":%q}]}`, mustHash(t, "right", cost)))
		if err != nil {
			t.Fatal(err)
		}
		if u.DummyCost() != cost {
			t.Fatalf("dummy cost %d, users' cost %d", u.DummyCost(), cost)
		}
		for i, tc := range []struct {
			user, pw string
			ok       bool
		}{
			{"alice", "right", true},
			{"alice", "wrong", false},
			{"nobody", "right", false},
			{"nobody", "", false},
			{"", "", false},
		} {
			before, beforeAt := u.BcryptCompares(), u.BcryptComparesAt(cost)
			_, ok := u.Authenticate(tc.user, tc.pw)
			if ok != tc.ok {
				t.Errorf("%s/%s: ok=%v", tc.user, tc.pw, ok)
			}
			if got := u.BcryptCompares() - before; got != 1 {
				t.Errorf("case %d (%s): %d bcrypt comparisons, want 1", i, tc.user, got)
			}
			if got := u.BcryptComparesAt(cost) - beforeAt; got != 1 {
				t.Errorf("case %d (%s): the comparison was not against a hash of cost %d", i, tc.user, cost)
			}
		}
	}
	// Every dummy hash has the cost it is filed under and accepts no
	// password a test can guess.
	n := 0
	for cost, h := range dummyHashes {
		if h == "" {
			continue
		}
		n++
		if c, err := bcrypt.Cost([]byte(h)); err != nil || c != cost {
			t.Errorf("dummy hash for cost %d has cost %d (%v)", cost, c, err)
		}
	}
	if n != MaxBcryptCost-MinBcryptCost+1 || dummyHashes[MinBcryptCost] == "" {
		t.Fatalf("dummy hashes for %d costs, want %d", n, MaxBcryptCost-MinBcryptCost+1)
	}
}

func TestHashPasswordBounds(t *testing.T) {
	if _, err := HashPassword(nil, hashCost); err == nil {
		t.Error("empty password hashed")
	}
	if _, err := HashPassword([]byte(strings.Repeat("p", 73)), hashCost); err == nil {
		t.Error("73-byte password hashed")
	}
	if _, err := HashPassword([]byte("pw"), MaxBcryptCost+1); err == nil {
		t.Error("cost over the bound")
	}
	h := mustHash(t, strings.Repeat("p", 72), hashCost)
	if bcrypt.CompareHashAndPassword([]byte(h), []byte(strings.Repeat("p", 72))) != nil {
		t.Fatal("hash does not verify")
	}
}

type tokenEnv struct {
	st *Stack
	e  *gin.Engine
}

func newTokenEnv(t testing.TB, a config.AuthConfig) tokenEnv {
	t.Helper()
	st, err := NewStack(&config.Config{Auth: a}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := guarded(st)
	e.POST("/auth/token", apierr.LimitBody(1024), st.TokenHandler())
	return tokenEnv{st, e}
}

func (te tokenEnv) post(ct, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/auth/token", strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	te.e.ServeHTTP(w, r)
	return w
}

// TestTokenRoundTrip issues tokens through POST /auth/token (JSON and form)
// for every algorithm and uses them on the guarded routes.
func TestTokenRoundTrip(t *testing.T) {
	users := writeUsers(t,
		User{Username: "alice", PasswordHash: mustHash(t, "alice-pw", hashCost), Roles: []string{"admin"}},
		User{Username: "bob", PasswordHash: mustHash(t, "bob-pw", hashCost), Roles: []string{"user"}},
	)
	rsaPub, rsaPriv := writeKeyPair(t, testRSAKey(t))
	ecPub, ecPriv := writeKeyPair(t, newECKey(t))
	edPub, edPriv := writeKeyPair(t, newEdKey(t))
	for _, tc := range []struct {
		name string
		mod  func(*config.AuthConfig)
	}{
		{"HS256", func(a *config.AuthConfig) { a.Secret = testSecret }},
		{"RS256", func(a *config.AuthConfig) { a.PublicKeyFile, a.PrivateKeyFile = rsaPub, rsaPriv }},
		{"ES256", func(a *config.AuthConfig) { a.PublicKeyFile, a.PrivateKeyFile = ecPub, ecPriv }},
		{"EdDSA", func(a *config.AuthConfig) { a.PublicKeyFile, a.PrivateKeyFile = edPub, edPriv }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newTokenEnv(t, authCfg(func(a *config.AuthConfig) {
				tc.mod(a)
				a.UsersFile, a.Issuer, a.Audience = users, "https://issuer.test", "advanced-backend"
			}))
			w := te.post("application/json", `{"username":"alice","password":"alice-pw"}`)
			if w.Code != 200 {
				t.Fatalf("alice JSON: %d %s", w.Code, w.Body)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("token response is cacheable")
			}
			var tr TokenResponse
			if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil || tr.TokenType != "bearer" || tr.ExpiresIn != 900 || tr.AccessToken == "" {
				t.Fatalf("response %s", w.Body)
			}
			cl, err := te.st.Verifier().Verify(tr.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if cl.Subject != "alice" || cl.Issuer != "https://issuer.test" || !cl.HasRole("admin") ||
				cl.ExpiresAt.Sub(cl.IssuedAt.Time) != 15*time.Minute || cl.ID == "" {
				t.Fatalf("claims %+v", cl)
			}
			if w := call(te.e, "/admin", "Bearer "+tr.AccessToken); w.Code != 200 {
				t.Fatalf("alice on admin: %d", w.Code)
			}
			form := url.Values{"username": {"bob"}, "password": {"bob-pw"}}.Encode()
			w = te.post("application/x-www-form-urlencoded", form)
			if w.Code != 200 {
				t.Fatalf("bob form: %d %s", w.Code, w.Body)
			}
			_ = json.Unmarshal(w.Body.Bytes(), &tr)
			if w := call(te.e, "/user", "Bearer "+tr.AccessToken); w.Code != 200 {
				t.Fatalf("bob on user: %d", w.Code)
			}
			if w := call(te.e, "/admin", "Bearer "+tr.AccessToken); w.Code != 403 {
				t.Fatalf("bob on admin: %d", w.Code)
			}
		})
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	users := writeUsers(t, User{Username: "alice", PasswordHash: mustHash(t, "alice-pw", hashCost)})
	te := newTokenEnv(t, authCfg(func(a *config.AuthConfig) { a.Secret, a.UsersFile = testSecret, users }))
	before := te.st.Users().BcryptCompares()
	for _, tc := range []struct {
		name, ct, body string
		status         int
		code           string
	}{
		{"wrong password", "application/json", `{"username":"alice","password":"nope"}`, 401, "invalid_credentials"},
		{"unknown user", "application/json", `{"username":"mallory","password":"alice-pw"}`, 401, "invalid_credentials"},
		{"unknown user, form", "application/x-www-form-urlencoded", "username=mallory&password=x", 401, "invalid_credentials"},
		{"missing password", "application/json", `{"username":"alice"}`, 400, "bad_request"},
		{"missing username", "application/x-www-form-urlencoded", "password=x", 400, "bad_request"},
		{"long password", "application/json", `{"username":"alice","password":"` + strings.Repeat("p", 73) + `"}`, 400, "bad_request"},
		{"long username", "application/json", `{"username":"` + strings.Repeat("u", 65) + `","password":"p"}`, 400, "bad_request"},
		{"malformed JSON", "application/json", `{"username":`, 400, "bad_json"},
		{"unknown field", "application/json", `{"username":"alice","password":"alice-pw","admin":true}`, 400, "bad_json"},
		{"wrong type", "application/json", `{"username":["alice"],"password":"x"}`, 400, "bad_json"},
		// a body without a Content-Type is JSON, as on every JSON route
		{"no content type, missing password", "", `{"username":"alice"}`, 400, "bad_request"},
		{"no content type, malformed", "", `{"username":`, 400, "bad_json"},
		{"no content type, wrong password", "", `{"username":"alice","password":"nope"}`, 401, "invalid_credentials"},
		// curl -d sends JSON as a form unless told otherwise
		{"JSON sent as a form, wrong password", "application/x-www-form-urlencoded", ` {"username":"alice","password":"nope"}`, 401, "invalid_credentials"},
		{"text/plain", "text/plain", `alice:alice-pw`, 415, "unsupported_media_type"},
		{"body over the limit", "application/json", `{"username":"alice","password":"` + strings.Repeat("p", 2000) + `"}`, 413, "body_too_large"},
	} {
		w := te.post(tc.ct, tc.body)
		var b apierr.Body
		if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || w.Code != tc.status || b.Error.Code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, w.Code, w.Body, tc.status, tc.code)
		}
	}
	// The five 401s each did exactly one bcrypt comparison; the 400s none.
	if got := te.st.Users().BcryptCompares() - before; got != 5 {
		t.Fatalf("%d bcrypt comparisons for 5 credential checks", got)
	}
	// Success without a Content-Type, and with curl -d's default type.
	for _, ct := range []string{"", "application/x-www-form-urlencoded"} {
		w := te.post(ct, `{"username":"alice","password":"alice-pw"}`)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "access_token") {
			t.Errorf("JSON body with Content-Type %q: %d %s", ct, w.Code, w.Body)
		}
	}
	// Issuing unavailable: a public key without its private key.
	pub, _ := writeKeyPair(t, newEdKey(t))
	te = newTokenEnv(t, authCfg(func(a *config.AuthConfig) { a.PublicKeyFile, a.UsersFile = pub, users }))
	if w := te.post("application/json", `{"username":"alice","password":"alice-pw"}`); w.Code != http.StatusServiceUnavailable ||
		!strings.Contains(w.Body.String(), "JWT_PRIVATE_KEY_FILE") {
		t.Fatalf("no private key: %d %s", w.Code, w.Body)
	}
	// No users file.
	te = newTokenEnv(t, authCfg(func(a *config.AuthConfig) { a.Secret = testSecret }))
	if w := te.post("application/json", `{"username":"alice","password":"alice-pw"}`); w.Code != 503 || !strings.Contains(w.Body.String(), "USERS_FILE") {
		t.Fatalf("no users file: %d %s", w.Code, w.Body)
	}
}

// TestMixedCostsAreRefused: a file whose hashes have different costs would
// let a cheap known user answer faster than an unknown one (compared at
// one cost), so it is refused at load with the users and costs named.
func TestMixedCostsAreRefused(t *testing.T) {
	cheap, dear := mustHash(t, "a-pw", 4), mustHash(t, "b-pw", 6)
	_, err := ParseUsers(fmt.Appendf(nil, `{"users":[{"username":"a","password_hash":%q},{"username":"b","password_hash":%q}]}`, cheap, dear))
	if err == nil || !strings.Contains(err.Error(), `user "b": bcrypt cost 6, but user "a" has cost 4`) || !strings.Contains(err.Error(), "same cost") {
		t.Fatalf("mixed costs: %v", err)
	}
	// Same cost in several hash versions is one cost.
	b := "$2b$" + cheap[4:]
	u, err := ParseUsers(fmt.Appendf(nil, `{"users":[{"username":"a","password_hash":%q},{"username":"b","password_hash":%q}]}`, cheap, b))
	if err != nil || u.DummyCost() != 4 {
		t.Fatalf("one cost: %v", err)
	}
	// A hash that only starts like bcrypt would fail before the expensive
	// part (a fast answer for a known user): refused.
	for _, bad := range []string{cheap[:59], cheap[:40] + "!!" + cheap[42:], cheap + "x"} {
		if _, err := ParseUsers(fmt.Appendf(nil, `{"users":[{"username":"a","password_hash":%q}]}`, bad)); err == nil {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}
