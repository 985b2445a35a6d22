package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// Without a shared store (no vector group, no REDIS_URL) scope=cluster is
// a 503 that says why, scope=local is unchanged, a bad scope is a 400, and
// the replica id shows in /health and /__phase. The store itself is tested
// against a real Redis in features/vector/cluster and e2e/cluster_test.go.
func TestClusterScopeWithoutStore(t *testing.T) {
	l := newLiveServer(t, map[string]string{"REPLICA_ID": "r-test", "ADMIN_RESET_TOKEN": "tok"})
	var body map[string]any
	for _, p := range []string{"/api/v2/latency/quantiles?scope=cluster", "/api/v2/latency/distribution?scope=cluster"} {
		if code := l.get(t, p, &body); code != http.StatusServiceUnavailable || errCode(body) != "cluster_unavailable" {
			t.Fatalf("%s: %d %v", p, code, body)
		}
		msg := body["error"].(map[string]any)["message"].(string)
		if !strings.Contains(msg, "vector group") {
			t.Errorf("%s: the reason is not named: %q", p, msg)
		}
	}
	hdr := map[string]string{"X-Admin-Token": "tok"}
	if code := l.call(t, "POST", "/admin/adaptive/reset?scope=cluster", hdr, &body); code != http.StatusServiceUnavailable {
		t.Fatalf("cluster reset without a store: %d %v", code, body)
	}
	for _, p := range []string{"/api/v2/latency/quantiles?scope=everywhere", "/api/v2/latency/distribution?scope=", "/admin/adaptive/reset?scope=all"} {
		method := "GET"
		if strings.HasPrefix(p, "/admin") {
			method = "POST"
		}
		if code := l.call(t, method, p, hdr, &body); code != http.StatusBadRequest || errCode(body) != "bad_scope" {
			t.Errorf("%s: %d %v", p, code, body)
		}
	}
	if code := l.get(t, "/api/v2/latency/quantiles?scope=local", &body); code != http.StatusOK || body["routes"] == nil {
		t.Fatalf("scope=local: %d %v", code, body)
	}
	l.get(t, "/health", &body)
	if body["replica_id"] != "r-test" {
		t.Errorf("/health replica_id %v", body["replica_id"])
	}
	l.get(t, "/__phase", &body)
	if body["replica_id"] != "r-test" || !strings.HasPrefix(body["cluster"].(string), "off: ") {
		t.Errorf("/__phase replica_id %v cluster %v", body["replica_id"], body["cluster"])
	}
}

// A replica whose estimator cannot be exported answers 501 for scope=cluster.
func TestClusterScopeReservoirIsUnsupported(t *testing.T) {
	l := newLiveServer(t, map[string]string{"TDIGEST_COMPRESSION": "0.5"})
	var body map[string]any
	if code := l.get(t, "/api/v2/latency/quantiles?scope=cluster", &body); code != http.StatusNotImplemented || errCode(body) != "cluster_unsupported" {
		t.Fatalf("%d %v", code, body)
	}
}
