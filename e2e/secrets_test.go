package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/advanced-backend/advanced-backend/internal/testkit/testllm"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// TestNoSecretInAnyAnswerOrLog runs the full binary with every URL setting
// carrying user:password (and a query with a key), with API keys, a JWT
// secret and an admin token set, against an in-process LLM wire server
// (internal/testkit/testllm) that echoes the request's credentials in its error
// bodies; Qdrant and Redis point at closed loopback ports. It walks every
// public endpoint, a group error, an upstream error relayed, and the log
// (debug, text and JSON): no secret substring appears anywhere.
func TestNoSecretInAnyAnswerOrLog(t *testing.T) {
	bin := buildVariant(t, "full")
	fake := testllm.Start(t)
	fake.OpenAIKey, fake.AnthropicK = "sk-oakey-SECRET-1", "sk-ankey-SECRET-2"
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	secrets := []string{"oauser-ID", "oapass-SECRET", fake.OpenAIKey, "anuser-ID", "anpass-SECRET", fake.AnthropicK,
		"qduser-ID", "qdpass-SECRET", "qdquery-SECRET", "qdkey-SECRET", "rduser-ID", "rdpass-SECRET",
		"jwt-SECRET-0123456789abcdef-0123456789", "admin-SECRET-token"}
	host := strings.TrimPrefix(fake.URL, "http://")
	env := []string{
		"OPENAI_BASE_URL=http://oauser-ID:oapass-SECRET@" + host + "/v1", "OPENAI_API_KEY=" + fake.OpenAIKey, "OPENAI_MODEL=fake-gpt",
		"ANTHROPIC_BASE_URL=http://anuser-ID:anpass-SECRET@" + host, "ANTHROPIC_API_KEY=" + fake.AnthropicK, "ANTHROPIC_MODEL=fake-claude",
		"QDRANT_URL=grpc://qduser-ID:qdpass-SECRET@" + closed() + "?api_key=qdquery-SECRET", "QDRANT_API_KEY=qdkey-SECRET",
		"REDIS_URL=redis://rduser-ID:rdpass-SECRET@" + closed() + "/0",
		"JWT_SECRET=jwt-SECRET-0123456789abcdef-0123456789", "ADMIN_RESET_TOKEN=admin-SECRET-token",
		"LOG_LEVEL=debug",
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "walker", "roles": []string{"admin"}, "exp": time.Now().Add(5 * time.Minute).Unix(),
	}).SignedString([]byte("jwt-SECRET-0123456789abcdef-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	echo := func(key, userinfo string) string {
		return fmt.Sprintf(`{"type":"error","error":{"type":"invalid_request_error","message":"key %s rejected (Authorization: Bearer %s) for %s"}}`, key, key, userinfo)
	}
	for _, structured := range []string{"0", "1"} {
		t.Run("STRUCTURED_LOG="+structured, func(t *testing.T) {
			p := startBinary(t, bin, append(env, "STRUCTURED_LOG="+structured)...)
			fetch := func(method, path, body string, hdr map[string]string) string {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, method, p.Base+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				for k, v := range hdr {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, path, err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				var h strings.Builder
				_ = resp.Header.Write(&h)
				return fmt.Sprintf("%d %s\n%s", resp.StatusCode, h.String(), b)
			}
			// Both the Qdrant and the Redis probe have reported before the
			// walk, so their error texts are part of what is walked.
			waitfor.True(t, 20*time.Second, "the vector group's probes", func() bool {
				return !strings.Contains(fetch("GET", "/ml-capabilities", "", nil), "not probed yet")
			})
			auth := map[string]string{"Authorization": "Bearer " + tok}
			answers := map[string]string{}
			for _, path := range []string{"/health", "/ready", "/__phase", "/ml-capabilities", "/startup/heartbeat?n=200",
				"/metrics", "/api/v2/latency/quantiles", "/api/v2/latency/distribution", "/", "/executive_dashboard.html",
				"/no/such/route", "/api/v2/vector/collections/docs", "/api/v2/files/x"} {
				answers["GET "+path] = fetch("GET", path, "", nil)
				answers["GET "+path+" (token)"] = fetch("GET", path, "", auth)
			}
			fake.Script(testllm.OpenAIChat, testllm.Step{Status: 400, Body: echo(fake.OpenAIKey, "oauser-ID:oapass-SECRET")})
			answers["openai error"] = fetch("POST", "/api/v2/llm/chat", `{"provider":"openai","messages":[{"role":"user","content":"hi"}]}`, auth)
			fake.Script(testllm.AnthropicMessages, testllm.Step{Status: 401, Body: echo(fake.AnthropicK, "anuser-ID:anpass-SECRET")})
			answers["anthropic stream error"] = fetch("POST", "/api/v2/llm/chat", `{"provider":"anthropic","stream":true,"messages":[{"role":"user","content":"hi"}]}`, auth)
			answers["vector search"] = fetch("POST", "/api/v2/vector/collections/docs/search", `{"vector":[1,2]}`, auth)
			answers["reset with token ignored"] = fetch("POST", "/admin/adaptive/reset?secret=admin-SECRET-token", "", nil)
			if !strings.Contains(answers["openai error"], "[redacted]") || !strings.Contains(answers["GET /ml-capabilities"], host) {
				t.Errorf("walk did not reach what it meant to: %s\n%s", answers["openai error"], answers["GET /ml-capabilities"])
			}
			answers["log"] = p.Logs()
			for what, text := range answers {
				for _, s := range secrets {
					if strings.Contains(text, s) {
						t.Errorf("%s carries %q:\n%s", what, s, text)
					}
				}
			}
		})
	}
}
