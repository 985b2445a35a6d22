package httpapi

import (
	"strings"
	"testing"
)

// TestAdminGuardJudgesResolvedClient: with TRUSTED_PROXIES=127.0.0.1, no
// ADMIN_RESET_TOKEN and no JWT, every admin route decides on the resolved
// client (X-Forwarded-For believed from the trusted proxy), never on the
// proxy's loopback TCP address.
func TestAdminGuardJudgesResolvedClient(t *testing.T) {
	e := newSecServer(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1"})
	var admin []string
	for _, r := range e.s.Engine().Routes() {
		if strings.Contains(r.Path, "/admin") {
			admin = append(admin, r.Method+" "+r.Path)
		}
	}
	if len(admin) < 2 { // core's reset and the test group's admin route
		t.Fatalf("admin routes: %v", admin)
	}
	proxy := clientFrom("127.0.0.1")
	for _, rt := range admin {
		method, path, _ := strings.Cut(rt, " ")
		r := e.do(t, proxy, method, path, map[string]string{"X-Forwarded-For": "203.0.113.9"}, "")
		msg, _ := errMsg(r.body)
		if r.code != 403 || errCode(r.body) != "forbidden" || !strings.Contains(msg, "203.0.113.9") || !strings.Contains(msg, "trusted proxy 127.0.0.1") {
			t.Errorf("%s from 203.0.113.9 via trusted proxy: %d %v", rt, r.code, r.body)
		}
		// The proxy's own loopback request (no forwarding header) is a loopback client.
		if r := e.do(t, proxy, method, path, nil, ""); r.code != 200 {
			t.Errorf("%s from loopback: %d %v", rt, r.code, r.body)
		}
		// A loopback client forwarded by the trusted proxy passes too.
		if r := e.do(t, proxy, method, path, map[string]string{"X-Forwarded-For": "127.0.0.1"}, ""); r.code != 200 {
			t.Errorf("%s for a forwarded loopback client: %d %v", rt, r.code, r.body)
		}
	}
	for _, ev := range eventsOf(t, e) {
		if m, _ := ev["msg"].(string); strings.Contains(m, "203.0.113.9") {
			t.Errorf("refused client acted: %q", m)
		}
	}
}

// TestAdminResetTokenIgnoredUnderJWTIsSaid: the start-up log says when
// ADMIN_RESET_TOKEN is set but has no effect because JWT auth is on.
func TestAdminResetTokenIgnoredUnderJWTIsSaid(t *testing.T) {
	e := newSecServer(t, map[string]string{"JWT_SECRET": secSecret, "ADMIN_RESET_TOKEN": "reset-tok"})
	if !hasEvent(eventsOf(t, e), "warn", "ADMIN_RESET_TOKEN is set but ignored: JWT auth is on") {
		t.Fatal("no event saying ADMIN_RESET_TOKEN is ignored")
	}
	if r := e.do(t, nil, "POST", "/admin/adaptive/reset", map[string]string{"X-Admin-Token": "reset-tok"}, ""); r.code != 401 {
		t.Fatalf("reset token accepted under JWT: %d", r.code)
	}
	e = newSecServer(t, map[string]string{"JWT_SECRET": secSecret})
	if hasEvent(eventsOf(t, e), "warn", "ADMIN_RESET_TOKEN is set but ignored") {
		t.Fatal("event without ADMIN_RESET_TOKEN")
	}
}

func errMsg(body map[string]any) (string, bool) {
	e, _ := body["error"].(map[string]any)
	m, ok := e["message"].(string)
	return m, ok
}
