package service

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
	"github.com/advanced-backend/advanced-backend/internal/phase"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// runLogged runs a real service over loopback with the given environment,
// sends one request with a request id and one to an unknown path, shuts the
// service down and returns everything it logged.
func runLogged(t *testing.T, env map[string]string) string {
	t.Helper()
	cfg, err := config.Load(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	g := &slowGroup{release: make(chan struct{}), stopped: make(chan struct{})}
	close(g.release)
	svc, err := New(cfg, NewLogger(cfg, out), map[string]groupapi.Feature{"ml": g},
		capability.BuildFacts{Modules: map[string]string{"gonum.org/v1/gonum": "v0"}})
	if err != nil {
		t.Fatal(err)
	}
	r := runOnLoopback(t, svc)
	base := r.base
	req, _ := http.NewRequest("GET", base+"/ml-capabilities", nil) // not a probe path: logged at INFO
	req.Header.Set("X-Request-ID", "log-test-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-ID"); got != "log-test-1" {
		t.Fatalf("request id echoed as %q", got)
	}
	resp, err = http.Get(base + "/no/such/thing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out.String()
}

func TestStructuredLogIsJSONLines(t *testing.T) {
	logs := runLogged(t, map[string]string{"STRUCTURED_LOG": "1"})
	lines := strings.Split(strings.TrimRight(logs, "\n"), "\n")
	if len(lines) < 5 {
		t.Fatalf("only %d lines:\n%s", len(lines), logs)
	}
	var requests []map[string]any
	sawPhase, sawHeavy := false, false
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not one JSON object a line: %q", l)
		}
		ts, _ := m["time"].(string)
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("time %q: %v", ts, err)
		}
		if lv, _ := m["level"].(string); lv != "INFO" && lv != "WARN" && lv != "ERROR" {
			t.Errorf("level %q in %q", lv, l)
		}
		if msg, _ := m["msg"].(string); msg == "" {
			t.Errorf("no msg in %q", l)
		}
		if m["phase_kind"] != nil {
			sawPhase = true
		}
		if m["msg"] == phase.HeavyMarker {
			heavy, ok := m["heavy_dependencies"].(map[string]any)
			if !ok || heavy["gonum"] != true || heavy["tensorflow"] != false || m["replica"] == nil {
				t.Errorf("%s line: heavy_dependencies is %T, want a JSON object: %q", phase.HeavyMarker, m["heavy_dependencies"], l)
			}
			sawHeavy = true
		}
		if m["msg"] == "request" {
			requests = append(requests, m)
		}
	}
	if !sawPhase {
		t.Error("no phase event carried its fields (phase_kind)")
	}
	if !sawHeavy {
		t.Errorf("no %s line", phase.HeavyMarker)
	}
	if len(requests) != 2 {
		t.Fatalf("%d request lines:\n%s", len(requests), logs)
	}
	r := requests[0]
	if r["method"] != "GET" || r["route"] != "GET /ml-capabilities" || r["status"] != float64(200) ||
		r["client"] != "127.0.0.1" || r["request_id"] != "log-test-1" {
		t.Errorf("request line %v", r)
	}
	if _, ok := r["duration_ms"].(float64); !ok {
		t.Errorf("duration_ms is %T", r["duration_ms"])
	}
	if u := requests[1]; u["route"] != "(unmatched)" || u["status"] != float64(404) || u["path"] != "/no/such/thing" {
		t.Errorf("unmatched line %v", u)
	}
	if id, _ := requests[1]["request_id"].(string); len(id) != 32 {
		t.Errorf("generated request id %q", id)
	}
}

var (
	textLine = regexp.MustCompile(`^time=\S+ level=(DEBUG|INFO|WARN|ERROR) msg=`)
	// The marker line puts the message and its JSON last (see phase.NewTextHandler).
	heavyLine = regexp.MustCompile(`^time=\S+ level=INFO replica=\S+ msg=HEAVY_DEPENDENCIES_STATUS \{`)
)

func TestTextLogIsReadable(t *testing.T) {
	logs := runLogged(t, nil)
	var request string
	sawHeavy := false
	for _, l := range strings.Split(strings.TrimRight(logs, "\n"), "\n") {
		if i := strings.Index(l, phase.HeavyMarker+" "); i >= 0 {
			// What operators do: take the JSON after the marker as it is.
			var heavy map[string]bool
			if err := json.Unmarshal([]byte(l[i+len(phase.HeavyMarker)+1:]), &heavy); err != nil || !heavyLine.MatchString(l) {
				t.Fatalf("%s line: %v: %q", phase.HeavyMarker, err, l)
			}
			if !heavy["gonum"] || heavy["tensorflow"] || len(heavy) != len(groupspec.HeavyKeys()) {
				t.Fatalf("%s: %v", phase.HeavyMarker, heavy)
			}
			sawHeavy = true
			continue
		}
		if !textLine.MatchString(l) {
			t.Fatalf("not a text log line: %q", l)
		}
		if json.Valid([]byte(l)) {
			t.Fatalf("JSON line in text mode: %q", l)
		}
		if strings.Contains(l, "msg=request") && strings.Contains(l, "request_id=log-test-1") {
			request = l
		}
	}
	if request == "" {
		t.Fatalf("no request line with the request id:\n%s", logs)
	}
	if !sawHeavy {
		t.Fatalf("no %s line:\n%s", phase.HeavyMarker, logs)
	}
	for _, want := range []string{`method=GET`, `route="GET /ml-capabilities"`, `status=200`, `duration_ms=`, `client=127.0.0.1`} {
		if !strings.Contains(request, want) {
			t.Errorf("request line lacks %s: %q", want, request)
		}
	}
}
