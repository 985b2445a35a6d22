package e2e

import (
	"strings"
	"testing"
)

// TestAdminRoutesBehindTrustedProxy runs the full binary behind a trusted
// proxy (TRUSTED_PROXIES=127.0.0.1), without ADMIN_RESET_TOKEN and without
// JWT: every admin route of every group refuses a remote client forwarded
// by the proxy (403 naming why), and accepts the loopback client.
func TestAdminRoutesBehindTrustedProxy(t *testing.T) {
	p := startBinary(t, buildVariant(t, "full"), "TRUSTED_PROXIES=127.0.0.1")
	admin := []struct{ method, path, body string }{
		{"POST", "/admin/adaptive/reset", ""},
		{"POST", "/admin/adaptive/reset?scope=cluster", ""},
		{"GET", "/admin/registry", ""},
		{"POST", "/admin/registry/reload", ""},
		{"DELETE", "/api/v2/vector/collections/docs", ""},
		{"POST", "/api/v2/ml/baseline/train", `{}`},
	}
	remote := map[string]string{"X-Forwarded-For": "203.0.113.9", "Content-Type": "application/json"}
	for _, r := range admin {
		var body struct {
			Error struct{ Code, Message string }
		}
		code, _ := p.call(t, r.method, r.path, r.body, remote, &body)
		if code != 403 || body.Error.Code != "forbidden" || !strings.Contains(body.Error.Message, "203.0.113.9 (forwarded by trusted proxy 127.0.0.1) is not loopback") {
			t.Errorf("%s %s from 203.0.113.9: %d %+v", r.method, r.path, code, body)
		}
		if code, _ := p.call(t, r.method, r.path, r.body, map[string]string{"Content-Type": "application/json"}, nil); code == 403 || code == 401 {
			t.Errorf("%s %s from loopback refused: %d", r.method, r.path, code)
		}
	}
	if logs := p.Logs(); strings.Contains(logs, "reset by 203.0.113.9") {
		t.Errorf("a refused client reset the engine:\n%s", logs)
	}
}
