package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// TestDeepRegistryNeverEndsTheProcess: the file (`slo: ` and
// 64,000 '[') is refused with its line at start, on SIGHUP and on HTTP
// reload, and the process keeps serving with the previous configuration.
func TestDeepRegistryNeverEndsTheProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	deep := "slo: " + strings.Repeat("[", 64_000)
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(deep)
	p := startBinary(t, buildVariant(t, "full"), "REGISTRY_FILE="+path) // loopback admin: no token, no JWT
	lastError := func() (map[string]any, float64) {
		_, v := p.send(t, "GET", "/admin/registry", "", nil, "")
		le, _ := v["last_error"].(map[string]any)
		loads, _ := v["loads"].(float64)
		return le, loads
	}
	rejectedBy := func(trigger string) bool {
		le, _ := lastError()
		msg, _ := le["message"].(string)
		return le != nil && le["trigger"] == trigger && le["line"] == 1.0 && strings.Contains(msg, "nested more than")
	}
	waitfor.True(t, 15*time.Second, "the start-up rejection", func() bool { return rejectedBy("start") })

	write("slo:\n  \"GET /health\": {p95_ms: 50}\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 15*time.Second, "the good file to load", func() bool { _, n := lastError(); return n == 1 })

	write(deep)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 15*time.Second, "the SIGHUP rejection", func() bool { return rejectedBy("hangup") })
	code, m := p.send(t, "POST", "/admin/registry/reload", "", nil, "")
	if code != 400 || !strings.Contains(errorMessage(m), "line 1") || !strings.Contains(errorMessage(m), "previous configuration stays in force") {
		t.Fatalf("reload of the deep file: %d %v", code, m)
	}
	if code := p.get(t, "GET", "/health", nil); code != 200 {
		t.Fatalf("health after the rejections: %d", code)
	}
	if _, n := lastError(); n != 1 {
		t.Fatalf("the good configuration was replaced: %v loads", n)
	}
	if err := p.Stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Logs())
	}
}
