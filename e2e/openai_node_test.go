package e2e

// The /v1 gateway of real binaries, driven by the official OpenAI Node SDK
// and LangChain's @langchain/openai
// (e2e/openai-node, pinned by its package-lock.json; `npm ci` runs when
// node_modules is missing) and by raw HTTP, against internal/testkit/testllm: an
// in-process server speaking the OpenAI and Anthropic wire protocols (no
// real LLM API is reachable here).

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/testkit/testllm"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testtool"
)

const nodeDir = repoRoot + "/e2e/openai-node"

// nodeSDK makes sure the pinned packages are installed and returns the
// node binary.
func nodeSDK(t *testing.T) string {
	t.Helper()
	node := testtool.Need(t, "node", testtool.GetNode)
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "@langchain", "openai", "package.json")); err != nil {
		npm := testtool.Need(t, "npm", testtool.GetNode)
		buildMu.Lock() // one npm ci at a time
		defer buildMu.Unlock()
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = nodeDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", nodeDir, err, out)
		}
	}
	return node
}

// gatewayUser writes a users file with one user and returns its path.
func gatewayUser(t *testing.T, bin string) string {
	t.Helper()
	hash := exec.Command(bin, "hash-password", "--cost", "4")
	hash.Stdin = strings.NewReader("node-pw\n")
	out, err := hash.Output()
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(t.TempDir(), "users.json")
	body := `{"users":[{"username":"node","password_hash":"` + strings.TrimSpace(string(out)) + `","roles":["user"]}]}`
	if err := os.WriteFile(users, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return users
}

func (p *proc) token(t *testing.T) string {
	t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code, _ := p.call(t, "POST", "/auth/token", `{"username":"node","password":"node-pw"}`,
		map[string]string{"Content-Type": "application/json"}, &tok); code != 200 {
		t.Fatalf("token: %d", code)
	}
	return tok.AccessToken
}

func gatewayEnv(fake *testllm.Server, users string, extra ...string) []string {
	var models []string
	for _, p := range []string{"openai", "anthropic"} {
		for _, m := range []string{"status-400", "status-429", "status-500", "stream-error"} {
			models = append(models, p+"/"+m)
		}
	}
	models = append(models, "openai/fake-gpt", "openai/fake-embed", "anthropic/fake-claude")
	env := []string{
		"OPENAI_BASE_URL=" + fake.OpenAIBase(), "OPENAI_API_KEY=" + fake.OpenAIKey, "OPENAI_MODEL=fake-gpt",
		"ANTHROPIC_BASE_URL=" + fake.URL, "ANTHROPIC_API_KEY=" + fake.AnthropicK, "ANTHROPIC_MODEL=fake-claude",
		"OPENAI_EMBEDDING_MODEL=fake-embed", "LLM_MODELS=" + strings.Join(models, ","), "LLM_MAX_RETRIES=0",
		"JWT_SECRET=e2e-secret-0123456789abcdef-0123456789", "USERS_FILE=" + users,
	}
	return append(env, extra...)
}

func runNode(t *testing.T, node string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=tap", "gateway.test.mjs", "langchain.test.mjs")
	cmd.Dir = nodeDir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "# fail 0") {
		t.Fatalf("node --test reported failures:\n%s", out)
	}
	t.Logf("OpenAI Node SDK: %s", summaryLine(string(out)))
}

func summaryLine(tap string) string {
	var parts []string
	for _, l := range strings.Split(tap, "\n") {
		if strings.HasPrefix(l, "# pass ") || strings.HasPrefix(l, "# fail ") || strings.HasPrefix(l, "# tests ") {
			parts = append(parts, strings.TrimPrefix(l, "# "))
		}
	}
	return strings.Join(parts, ", ")
}

func TestOpenAINodeSDK(t *testing.T) {
	node := nodeSDK(t)
	bin := buildVariant(t, "hybrid")
	fake := testllm.Start(t)
	users := gatewayUser(t, bin)
	alpha, _ := json.Marshal(testllm.Vector("alpha", fake.Dim))

	p := startBinary(t, bin, gatewayEnv(fake, users, "RATE_LIMIT_BURST=1000")...)
	runNode(t, node, "GATEWAY_URL="+p.Base, "API_KEY="+p.token(t), "REPLY="+fake.Reply, "ALPHA_VECTOR="+string(alpha), "MODE=main")

	// the upstreams saw the models without their prefix and our keys, never
	// the client's token
	for _, ep := range []string{testllm.OpenAIChat, testllm.AnthropicMessages} {
		for _, r := range fake.Requests(ep) {
			if m, _ := r.Body["model"].(string); strings.Contains(m, "/") {
				t.Fatalf("%s: upstream got model %q", ep, m)
			}
			if a := r.Header.Get("Authorization"); a != "" && a != "Bearer "+fake.OpenAIKey {
				t.Fatalf("%s: upstream got Authorization %q", ep, a)
			}
		}
	}
	// per-route latency and per-provider token metrics
	var q struct {
		Routes map[string]any `json:"routes"`
	}
	p.get(t, "GET", "/api/v2/latency/quantiles", &q)
	if _, ok := q.Routes["POST /v1/chat/completions"]; !ok {
		t.Fatalf("no latency for /v1/chat/completions: %v", q.Routes)
	}
	resp, err := http.Get(p.Base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tokens []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "advanced_backend_llm_tokens_total{") {
			tokens = append(tokens, sc.Text())
		}
	}
	joined := strings.Join(tokens, "\n")
	for _, want := range []string{`model="fake-claude",provider="anthropic"`, `model="fake-gpt",provider="openai"`} {
		if !strings.Contains(joined, want) {
			t.Fatalf("token metrics lack %s:\n%s", want, joined)
		}
	}

	t.Run("our rate limiter", func(t *testing.T) {
		p := startBinary(t, bin, gatewayEnv(fake, users, "RATE_LIMIT_BURST=3", "RATE_LIMIT_RPS=0.001")...)
		runNode(t, node, "GATEWAY_URL="+p.Base, "API_KEY="+p.token(t), "MODE=ratelimit")
	})
}

// openAIError fetches path and checks the answer is status in OpenAI's
// error shape.
func openAIError(t *testing.T, p *proc, path string, status int, code, contains string) {
	t.Helper()
	var e struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    string  `json:"code"`
		} `json:"error"`
	}
	got, _ := p.call(t, "GET", path, "", nil, &e)
	if got != status || e.Error.Code != code || e.Error.Type == "" || !strings.Contains(e.Error.Message, contains) {
		t.Fatalf("%s: %d %+v, want %d %s", path, got, e, status, code)
	}
}

func TestV1WhenNotLinkedOrOff(t *testing.T) {
	fake := testllm.Start(t)
	lean := startBinary(t, buildVariant(t, "lean"), llmEnv(fake)...)
	openAIError(t, lean, "/v1/models", 501, "group_not_linked", "group llm is not linked into the lean variant")
	// the rest of the service keeps its own shape
	var e struct {
		Error struct{ Code, Message string }
	}
	if code, _ := lean.call(t, "GET", "/api/v2/llm/providers", "", nil, &e); code != 501 || e.Error.Code != "group_not_linked" {
		t.Fatalf("%d %+v", code, e)
	}
	minimal := startBinary(t, buildVariant(t, "hybrid"), append(llmEnv(fake), "MINIMAL_MODE=1")...)
	openAIError(t, minimal, "/v1/models", 503, "group_disabled", "MINIMAL_MODE")
	hybrid := startBinary(t, buildVariant(t, "hybrid"), llmEnv(fake)...)
	openAIError(t, hybrid, "/v1/no-such-route", 404, "not_found", "no route")
}

// SIGTERM while streams are open: they finish (within SHUTDOWN_TIMEOUT)
// with their [DONE], then the process exits 0.
func TestV1StreamsFinishOnSIGTERM(t *testing.T) {
	fake := testllm.Start(t)
	fake.Hold = make(chan struct{})
	p := startBinary(t, buildVariant(t, "hybrid"), append(llmEnv(fake), "SHUTDOWN_TIMEOUT=30s")...)
	type result struct {
		body string
		err  error
	}
	const streams = 3
	first := make(chan struct{}, streams)
	results := make(chan result, streams)
	for i := 0; i < streams; i++ {
		go func() {
			resp, err := http.Post(p.Base+"/v1/chat/completions", "application/json",
				strings.NewReader(`{"model":"anthropic/fake-claude","stream":true,"messages":[{"role":"user","content":"x"}]}`))
			if err != nil {
				first <- struct{}{}
				results <- result{err: err}
				return
			}
			defer resp.Body.Close()
			var b strings.Builder
			rd := bufio.NewReader(resp.Body)
			signalled := false
			for {
				line, err := rd.ReadString('\n')
				b.WriteString(line)
				if !signalled && strings.Contains(line, "pong") {
					signalled = true
					first <- struct{}{}
				}
				if err != nil {
					if !signalled {
						first <- struct{}{}
					}
					results <- result{body: b.String()}
					return
				}
			}
		}()
	}
	for i := 0; i < streams; i++ {
		<-first // every stream is open and has its first chunk
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// new connections are refused once the listener closed; open streams
	// go on: release the rest of their chunks
	deadline := time.After(20 * time.Second)
	done := 0
	for done < streams {
		select {
		case fake.Hold <- struct{}{}:
		case r := <-results:
			done++
			if r.err != nil || !strings.HasSuffix(r.body, "data: [DONE]\n\n") || !strings.Contains(r.body, "upstream") {
				t.Fatalf("stream cut by SIGTERM: %v %q", r.err, r.body)
			}
		case <-deadline:
			t.Fatalf("streams did not finish\n%s", p.Logs())
		}
	}
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.Logs())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit after the streams finished\n%s", p.Logs())
	}
}

// A stream outlives HTTP_READ_TIMEOUT (the per-request body deadline is
// lifted once the gateway has read the body to its end), both providers.
func TestV1StreamOutlivesReadTimeout(t *testing.T) {
	fake := testllm.Start(t)
	fake.ChunkDelay = 400 * time.Millisecond // 5 chunks: about 2 s
	p := startBinary(t, buildVariant(t, "hybrid"), append(llmEnv(fake), "HTTP_READ_TIMEOUT=1s")...)
	for _, model := range []string{"openai/fake-gpt", "anthropic/fake-claude"} {
		start := time.Now()
		code, body := p.sendJSON(t, "POST", "/v1/chat/completions", `{"model":"`+model+`","stream":true,"messages":[{"role":"user","content":"x"}]}`)
		if code != 200 || !strings.HasSuffix(body, "data: [DONE]\n\n") {
			t.Fatalf("%s: %d %q", model, code, body)
		}
		if el := time.Since(start); el < time.Second {
			t.Fatalf("%s: stream took %s, not longer than the read timeout: the test proves nothing", model, el)
		}
	}
}
