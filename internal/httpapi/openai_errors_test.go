package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
)

// Under /v1 the service's own errors (not linked, body too large, rate
// limited, unknown route) take OpenAI's error shape, so OpenAI clients map
// them to their exception classes; elsewhere the service keeps its own.
func TestOpenAIPrefixErrorsTakeOpenAIShape(t *testing.T) {
	s, _ := newTestServer(t, map[string]string{"RATE_LIMIT_RPS": "0.001", "RATE_LIMIT_BURST": "3", "MAX_BODY_BYTES": "64"})
	send := func(method, path, body, ip string) (*httptest.ResponseRecorder, apierr.OpenAIBody) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.RemoteAddr = ip + ":5555"
		s.Handler().ServeHTTP(w, r)
		var b apierr.OpenAIBody
		if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
		return w, b
	}
	w, b := send("GET", "/v1/models", "", "127.0.0.1")
	if w.Code != 501 || b.Error.Type != "server_error" || b.Error.Code != "group_not_linked" || b.Param() != "" ||
		!strings.Contains(b.Error.Message, "group llm is not linked") || !strings.Contains(w.Body.String(), `"param":null`) {
		t.Fatalf("not linked: %d %s", w.Code, w.Body)
	}
	w, b = send("POST", "/v1/chat/completions", strings.Repeat("x", 100), "127.0.0.2")
	if w.Code != 413 || b.Error.Type != "invalid_request_error" || b.Error.Code != "body_too_large" {
		t.Fatalf("too large: %d %s", w.Code, w.Body)
	}
	for i := 0; ; i++ {
		w, b = send("GET", "/v1/models", "", "127.0.0.3")
		if w.Code == 429 {
			break
		}
		if i > 3 {
			t.Fatalf("never limited: %d %s", w.Code, w.Body)
		}
	}
	if b.Error.Type != "rate_limit_error" || b.Error.Code != "rate_limited" || w.Header().Get("Retry-After") == "" {
		t.Fatalf("limited: %d %s %v", w.Code, w.Body, w.Header())
	}
	// the rest of the service keeps {"error":{"code","message"}}
	w2 := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/api/v2/llm/providers", nil)
	r.RemoteAddr = "127.0.0.4:5555"
	s.Handler().ServeHTTP(w2, r)
	if w2.Code != 501 || strings.Contains(w2.Body.String(), `"type"`) || !strings.Contains(w2.Body.String(), `"code":"group_not_linked"`) {
		t.Fatalf("core shape: %d %s", w2.Code, w2.Body)
	}
	// /v1x is not under /v1
	if v1 := []string{"/v1"}; apierr.UnderPrefix("/v1x", v1) || !apierr.UnderPrefix("/v1", v1) || !apierr.UnderPrefix("/v1/models", v1) {
		t.Fatal("prefix match")
	}
}
