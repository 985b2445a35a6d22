package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/testkit/testllm"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testtool"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

// The worked examples under examples/, each run as written (README.md
// points to them), so they stay true.

// TestExampleRunWithEnvFile: examples/run/run.sh runs the service with the
// settings of an env file made from .env.example; a setting changed in the
// file is in force, every default of the file parses, and SIGTERM ends the
// service with exit 0.
func TestExampleRunWithEnvFile(t *testing.T) {
	bin := buildVariant(t, "lean")
	example, err := os.ReadFile(filepath.Join(repoRoot, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	// as a user would: copy it and change one line
	env := strings.Replace(string(example), "#REPLICA_ID=\n", "REPLICA_ID=example-a\n", 1)
	if env == string(example) {
		t.Fatal(".env.example has no #REPLICA_ID= line to change")
	}
	envFile := filepath.Join(t.TempDir(), "my.env")
	if err := os.WriteFile(envFile, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(testtool.Need(t, "bash", testtool.GetBash), "examples/run/run.sh", "--addr", base)
	cmd.Dir = repoRoot
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "BIN=" + bin, "ENV_FILE=" + envFile}
	var mu sync.Mutex
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = lockedBuffer{&mu, &buf}, lockedBuffer{&mu, &buf}
	logs := func() string { mu.Lock(); defer mu.Unlock(); return buf.String() }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	var health struct {
		Status    string `json:"status"`
		ReplicaID string `json:"replica_id"`
	}
	if _, err := waitfor.Poll(15*time.Second, func() (struct{}, bool) {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("run.sh exited before /health answered: %v\n%s", err, logs())
		default:
		}
		resp, err := http.Get("http://" + base + "/health")
		if err != nil {
			return struct{}{}, false
		}
		defer resp.Body.Close()
		return struct{}{}, resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&health) == nil
	}); err != nil {
		t.Fatalf("/health never answered: %v\n%s", err, logs())
	}
	if health.ReplicaID != "example-a" {
		t.Errorf("replica_id %q: the env file's REPLICA_ID is not in force", health.ReplicaID)
	}
	resp, err := http.Get("http://" + base + "/ready")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/ready: %v %v", resp, err)
	}
	resp.Body.Close()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15 s after SIGTERM\n%s", logs())
	}
	if strings.Contains(logs(), "ignored") || strings.Contains(logs(), "level=ERROR") {
		t.Errorf("the example's settings drew warnings:\n%s", logs())
	}
}

// TestExampleOpenAIGateway runs examples/openai-gateway/chat.mjs, with the
// OpenAI Node SDK pinned in e2e/openai-node, against the hybrid variant
// configured as the example says (OPENAI_API_KEY, LLM_MODELS; JWT auth on,
// the API key a token from POST /auth/token), its upstream an in-process
// server speaking OpenAI's wire protocol (internal/testkit/testllm; no real API is
// called). README's snippet is the example file itself.
func TestExampleOpenAIGateway(t *testing.T) {
	node := nodeSDK(t)
	script, err := os.ReadFile(filepath.Join(repoRoot, "examples", "openai-gateway", "chat.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```js\n"+string(script)+"```\n") {
		t.Error("README.md's /v1 snippet is not examples/openai-gateway/chat.mjs as it is")
	}
	var pinned struct{ Dependencies map[string]string }
	for _, f := range []string{"examples/openai-gateway/package.json", "e2e/openai-node/package.json"} {
		var pj struct{ Dependencies map[string]string }
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil || json.Unmarshal(b, &pj) != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if pinned.Dependencies == nil {
			pinned = pj
		} else if pj.Dependencies["openai"] != pinned.Dependencies["openai"] {
			t.Errorf("the example pins openai %s, the tested SDK is %s", pinned.Dependencies["openai"], pj.Dependencies["openai"])
		}
	}

	bin := buildVariant(t, "hybrid")
	fake := testllm.Start(t)
	users := gatewayUser(t, bin)
	p := startBinary(t, bin,
		"OPENAI_BASE_URL="+fake.OpenAIBase(), "OPENAI_API_KEY="+fake.OpenAIKey,
		"LLM_MODELS=openai/fake-gpt", "OPENAI_MODEL=fake-gpt",
		"JWT_SECRET=example-secret-0123456789abcdef-0123", "USERS_FILE="+users)

	// the script as written, beside the pinned SDK (node resolves
	// node_modules from the script's directory)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "chat.mjs"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	modules, _ := filepath.Abs(filepath.Join(nodeDir, "node_modules"))
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "chat.mjs")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GATEWAY_URL=" + p.Base + "/v1", "API_KEY=" + p.token(t), "MODEL=openai/fake-gpt"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node chat.mjs: %v\n%s", err, out)
	}
	for _, want := range []string{"model: openai/fake-gpt\n", "reply: " + fake.Reply + "\n", "streamed: " + fake.Reply + "\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("chat.mjs printed no %q:\n%s", want, out)
		}
	}
}

// TestExampleVectorStore runs examples/vector-store/store.sh (curl: create,
// upsert, search, filter, get, backup) against the prodapi variant, then
// restore.sh into a new directory and a second prodapi started on it: the
// restored index answers the same search.
func TestExampleVectorStore(t *testing.T) {
	testtool.Need(t, "curl", testtool.GetCurl)
	bash := testtool.Need(t, "bash", testtool.GetBash)
	bin := buildVariant(t, "prodapi")
	p := startBinary(t, bin)
	waitReadyOK(t, p)
	cmd := exec.Command(bash, "examples/vector-store/store.sh", p.Base)
	cmd.Dir = repoRoot
	code, out := runExit(t, cmd, time.Minute)
	if code != 0 {
		t.Fatalf("store.sh: exit %d\n%s", code, out)
	}
	for _, want := range []string{`"upserted":3`, `"title":"blue whale"`, `"name":"docs"`} {
		if !strings.Contains(out, want) {
			t.Errorf("store.sh printed no %s:\n%s", want, out)
		}
	}
	// the unfiltered search: the apple first, then the cherry
	if !regexp.MustCompile(`\[\{"id":1,[^\]]*\},\{"id":2,`).MatchString(out) {
		t.Errorf("the search did not rank 1 then 2:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	backup := lines[len(lines)-1]
	if _, err := os.Stat(backup); err != nil {
		t.Fatalf("the backup store.sh names: %v\n%s", err, out)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	cmd = exec.Command(bash, "examples/vector-store/restore.sh", backup, restored)
	cmd.Dir = repoRoot
	if code, out := runExit(t, cmd, 30*time.Second); code != 0 {
		t.Fatalf("restore.sh: exit %d\n%s", code, out)
	}
	cmd = exec.Command(bash, "examples/vector-store/restore.sh", backup, restored)
	cmd.Dir = repoRoot
	if code, out := runExit(t, cmd, 30*time.Second); code == 0 || !strings.Contains(out, "not empty") {
		t.Errorf("restore.sh into a non-empty directory: exit %d\n%s", code, out)
	}
	p2 := startBinary(t, bin, "VECTOR_DATA_DIR="+restored)
	waitReadyOK(t, p2)
	var coll struct {
		Points int `json:"points"`
	}
	if code := p2.get(t, "GET", "/api/v2/vector/collections/docs", &coll); code != 200 || coll.Points != 3 {
		t.Fatalf("restored collection: %d, %d points", code, coll.Points)
	}
	var hits []struct {
		ID any `json:"id"`
	}
	if code, _ := p2.call(t, "POST", "/api/v2/vector/collections/docs/search", `{"vector":[1,0,0],"limit":2}`, nil, &hits); code != 200 ||
		len(hits) != 2 || fmt.Sprint(hits[0].ID) != "1" {
		t.Fatalf("search on the restored index: %d %v", code, hits)
	}
}

// waitReadyOK polls /ready (bounded) until the service's groups are ready.
func waitReadyOK(t *testing.T, p *proc) {
	t.Helper()
	if _, err := waitfor.Poll(15*time.Second, func() (struct{}, bool) {
		resp, err := http.Get(p.Base + "/ready")
		if err != nil {
			return struct{}{}, false
		}
		resp.Body.Close()
		return struct{}{}, resp.StatusCode == 200
	}); err != nil {
		t.Fatalf("/ready never answered 200: %v\n%s", err, p.Logs())
	}
}

// TestShellScriptsLint runs shellcheck over the repository's shell scripts:
// the examples, scripts/ and .ci/run.
func TestShellScriptsLint(t *testing.T) {
	sc := testtool.Need(t, "shellcheck", testtool.GetShellcheck)
	scripts, _ := filepath.Glob(filepath.Join(repoRoot, "examples", "*", "*.sh"))
	more, _ := filepath.Glob(filepath.Join(repoRoot, "scripts", "*.sh"))
	scripts = append(append(scripts, more...), filepath.Join(repoRoot, ".ci", "run"))
	if len(scripts) < 6 {
		t.Fatalf("found only %v", scripts)
	}
	if out, err := exec.Command(sc, scripts...).CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}

// TestQuickstartFromAPlainShell runs the README's Quick start the way
// .ci/run does (scripts/quickstart.sh: make run in the background, /health
// and /ready 200 from another process, SIGINT, exit 0, each bounded) in a
// plain shell's environment: no GOTOOLCHAIN, the machine's own go first on
// PATH. It builds dist/lean in the working tree, as `make run` does.
func TestQuickstartFromAPlainShell(t *testing.T) {
	bash := testtool.Need(t, "bash", testtool.GetBash)
	testtool.Need(t, "make", testtool.GetMake)
	testtool.Need(t, "curl", testtool.GetCurl)
	cmd := exec.Command(bash, "scripts/quickstart.sh")
	cmd.Dir = repoRoot
	cmd.Env = append(plainShellEnv(), fmt.Sprintf("ADDR=127.0.0.1:%d", freePort(t)))
	code, out := runExit(t, cmd, 10*time.Minute)
	if code != 0 || !strings.Contains(out, "stopped cleanly on SIGINT") {
		t.Fatalf("quickstart: exit %d\n%s", code, out)
	}
}
