package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMisspeltSettingsAreReported: a name under the prefix of a linked
// group (vector, llm) or of core (JWT_) that nothing declares used to
// start silently with the real setting at its default. It is now listed in
// /__phase ignored_settings with the nearest declared name, logged, and
// refused (exit 2) under STRICT_SETTINGS=1.
func TestMisspeltSettingsAreReported(t *testing.T) {
	bin := buildVariant(t, "full")
	typos := map[string]struct{ group, nearest, value string }{
		"VECTOR_MEMORY_MAX_BYTE": {"vector", "VECTOR_MEMORY_MAX_BYTES", "1024"},
		"OPENAI_APIKEY":          {"llm", "OPENAI_API_KEY", "sk-hunter2"},
		"JWT_SECRETS":            {"core", "JWT_SECRET", "hunter2hunter2hunter2hunter2hunter2"},
	}
	var env []string
	for name, tc := range typos {
		env = append(env, name+"="+tc.value)
	}
	p := startBinary(t, bin, append(env, "SAFE_MODE=1")...)
	var ph struct {
		Ignored []map[string]any `json:"ignored_settings"`
	}
	if code := p.get(t, "GET", "/__phase", &ph); code != 200 || len(ph.Ignored) != len(typos) {
		t.Fatalf("/__phase %d %+v", code, ph.Ignored)
	}
	for _, i := range ph.Ignored {
		name, _ := i["name"].(string)
		tc, ok := typos[name]
		if !ok || i["group"] != tc.group || i["nearest"] != tc.nearest || i["unknown"] != true {
			t.Errorf("ignored %+v, want group %s nearest %s", i, tc.group, tc.nearest)
		}
	}
	if err := p.Stop(t); err != nil {
		t.Fatal(err)
	}
	logs := p.Logs()
	for name, tc := range typos {
		if !strings.Contains(logs, name+" is ignored: "+name+" is not a setting of") || !strings.Contains(logs, "did you mean "+tc.nearest+"?") {
			t.Errorf("log lacks %s:\n%s", name, logs)
		}
	}
	if strings.Contains(logs, "hunter2") {
		t.Fatalf("a value reached the log:\n%s", logs)
	}

	for name, tc := range typos {
		cmd := exec.Command(bin, "serve")
		cmd.Env = []string{"ADDR=127.0.0.1:0", "STRICT_SETTINGS=1", name + "=" + tc.value}
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), name+" is not a setting of") ||
			!strings.Contains(string(out), "did you mean "+tc.nearest+"?") || strings.Contains(string(out), "hunter2") {
			t.Errorf("%s strict: want exit 2 naming the setting and %s, got %v\n%s", name, tc.nearest, err, out)
		}
	}
}
