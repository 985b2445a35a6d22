package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/lifecycle"
	"github.com/advanced-backend/advanced-backend/internal/phase"
)

func doWithID(t *testing.T, s *Server, path, id string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", path, nil)
	r.RemoteAddr = "127.0.0.1:5555"
	if id != "" {
		r.Header.Set(RequestIDHeader, id)
	}
	s.Handler().ServeHTTP(w, r)
	return w
}

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRequestIDAcceptedOrGenerated(t *testing.T) {
	s, _ := newTestServer(t, nil)
	cases := []struct {
		name, sent string
		keep       bool
	}{
		{"sane", "req-42.a_b:c", true},
		{"max length", strings.Repeat("a", maxRequestIDLen), true},
		{"too long", strings.Repeat("a", maxRequestIDLen+1), false},
		{"space", "two words", false},
		{"newline", "a\nb", false},
		{"quote", `a"b`, false},
		{"non-ascii", "caf\u00e9", false},
		{"missing", "", false},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := doWithID(t, s, "/health", tc.sent)
			got := w.Header().Get(RequestIDHeader)
			if tc.keep {
				if got != tc.sent {
					t.Fatalf("sent %q, echoed %q", tc.sent, got)
				}
				return
			}
			if !generatedID.MatchString(got) {
				t.Fatalf("sent %q, got %q: want a generated 32-hex id", tc.sent, got)
			}
			if seen[got] {
				t.Fatalf("generated id %q twice", got)
			}
			seen[got] = true
		})
	}
	// Error answers carry the id too.
	if w := doWithID(t, s, "/no/such/path", "err-1"); w.Code != 404 || w.Header().Get(RequestIDHeader) != "err-1" {
		t.Fatalf("404: %d %q", w.Code, w.Header().Get(RequestIDHeader))
	}
}

// logServer builds a test server (as newTestServer does) that logs JSON to buf.
func logServer(t *testing.T, env map[string]string) (*Server, *bytes.Buffer) {
	t.Helper()
	cfg, err := config.Load(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	buf := &bytes.Buffer{}
	rt := lifecycle.New(map[string]groupapi.Feature{"ml": panicky{}}, capability.FactsFrom(&debug.BuildInfo{}), false)
	s, err := wire(Deps{Config: cfg, Logger: slog.New(slog.NewJSONHandler(buf, nil)), Phase: phase.New(nil),
		Groups: rt, Metrics: prometheus.NewRegistry(), Services: &groupapi.Services{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, buf
}

func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

func TestRequestLogFields(t *testing.T) {
	s, buf := logServer(t, nil)
	doWithID(t, s, "/api/v2/latency/quantiles", "rid-1")
	doWithID(t, s, "/api/v2/ml/boom", "rid-2") // panics: 500
	doWithID(t, s, "/zzz/"+strings.Repeat("x", 1000), "rid-3")
	lines := logLines(t, buf)
	if len(lines) != 3 {
		t.Fatalf("want 3 request lines, got %d:\n%s", len(lines), buf)
	}
	want := []struct {
		route, level string
		status       float64
	}{{"GET /api/v2/latency/quantiles", "INFO", 200}, {"GET /api/v2/ml/boom", "ERROR", 500}, {unmatchedRoute, "INFO", 404}}
	for i, w := range want {
		l := lines[i]
		if l["route"] != w.route || l["status"] != w.status || l["level"] != w.level || l["method"] != "GET" ||
			l["client"] != "127.0.0.1" || l["request_id"] != "rid-"+string(rune('1'+i)) {
			t.Errorf("line %d: %v", i, l)
		}
		if d, ok := l["duration_ms"].(float64); !ok || d < 0 {
			t.Errorf("line %d: duration_ms %v", i, l["duration_ms"])
		}
	}
	if p := lines[2]["path"].(string); len(p) > maxLoggedPath+3 {
		t.Errorf("path logged with %d bytes, bound %d", len(p), maxLoggedPath)
	}
}

// TestProbeRequestsLogAtDebug: health checks, scrapes and dashboard polls
// would drown the log, so they log at DEBUG (unless they fail).
func TestProbeRequestsLogAtDebug(t *testing.T) {
	s, buf := logServer(t, nil) // the logger is at INFO
	for _, p := range probePaths {
		doWithID(t, s, p, "probe")
	}
	if n := len(logLines(t, buf)); n != 0 {
		t.Fatalf("probe requests logged %d lines at INFO:\n%s", n, buf)
	}
	dbg := &bytes.Buffer{}
	d := s.deps
	d.Logger = slog.New(slog.NewJSONHandler(dbg, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d.Metrics = prometheus.NewRegistry()
	d.Services = &groupapi.Services{} // a second server gets its own: the slots are set once
	s2, err := wire(d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s2.Close)
	doWithID(t, s2, "/health", "probe-dbg")
	lines := logLines(t, dbg)
	if len(lines) != 1 || lines[0]["level"] != "DEBUG" || lines[0]["route"] != "GET /health" {
		t.Fatalf("at debug level: %v", lines)
	}
}

func TestRequestLogOff(t *testing.T) {
	s, buf := logServer(t, map[string]string{"REQUEST_LOG": "off"})
	w := doWithID(t, s, "/health", "rid-off")
	if len(logLines(t, buf)) != 0 {
		t.Fatalf("REQUEST_LOG=off still logged:\n%s", buf)
	}
	if w.Header().Get(RequestIDHeader) != "rid-off" {
		t.Fatal("request id not echoed with the log off")
	}
}

// scrape parses /metrics with the Prometheus text parser.
func scrape(t *testing.T, s *Server) map[string]*dto.MetricFamily {
	t.Helper()
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("/metrics %d", w.Code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(w.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func TestMetricsFamilies(t *testing.T) {
	s, _ := newTestServer(t, map[string]string{"SAFE_MODE": "1"})
	for range 3 {
		do(t, s, "GET", "/health")
	}
	do(t, s, "GET", "/api/v2/ml/boom")
	do(t, s, "GET", "/api/v2/ml/ok")
	do(t, s, "GET", "/api/v2/ml/ok")
	do(t, s, "GET", "/api/v2/ml/ok")
	do(t, s, "GET", "/nope")
	s.deps.Phase.SetPhase("runtime")
	fams := scrape(t, s)

	for name, typ := range map[string]dto.MetricType{
		metricPhaseEvents:               dto.MetricType_COUNTER,
		metricPhaseInfo:                 dto.MetricType_GAUGE,
		metricPhaseLastEvent:            dto.MetricType_GAUGE,
		metricUptime:                    dto.MetricType_GAUGE,
		metricErrorRate:                 dto.MetricType_GAUGE,
		metricWindowRequests:            dto.MetricType_GAUGE,
		"advanced_backend_build_info":   dto.MetricType_GAUGE,
		"advanced_backend_group_linked": dto.MetricType_GAUGE,
	} {
		f, ok := fams[name]
		if !ok {
			t.Errorf("family %s missing", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("%s is %v, want %v", name, f.GetType(), typ)
		}
	}

	// Events by kind agree with the phase log.
	counts := s.deps.Phase.Counts()
	got := map[string]float64{}
	for _, m := range fams[metricPhaseEvents].GetMetric() {
		got[labels(m)["kind"]] = m.GetCounter().GetValue()
	}
	if len(got) != len(counts) || got["phase"] != 1 || got["mode"] != float64(counts["mode"]) {
		t.Errorf("events by kind %v, phase log %v", got, counts)
	}

	// One info series with the current phase and modes.
	info := fams[metricPhaseInfo].GetMetric()
	if len(info) != 1 {
		t.Fatalf("%d phase info series", len(info))
	}
	if l := labels(info[0]); l["phase"] != "runtime" || l["safe_mode"] != "true" || l["minimal_mode"] != "false" ||
		l["structured_log"] != "false" || info[0].GetGauge().GetValue() != 1 {
		t.Errorf("phase info %v = %v", l, info[0].GetGauge().GetValue())
	}
	if up := fams[metricUptime].GetMetric()[0].GetGauge().GetValue(); up <= 0 {
		t.Errorf("uptime %v", up)
	}

	// Error rate per route template, from the latency engine; unmatched
	// paths share one key. The gauge agrees with the quantiles endpoint.
	rates, reqs := map[string]float64{}, map[string]float64{}
	for _, m := range fams[metricErrorRate].GetMetric() {
		rates[labels(m)["route"]] = m.GetGauge().GetValue()
	}
	for _, m := range fams[metricWindowRequests].GetMetric() {
		reqs[labels(m)["route"]] = m.GetGauge().GetValue()
	}
	if rates["GET /api/v2/ml/boom"] != 1 || rates["GET /health"] != 0 || rates["GET /api/v2/ml/ok"] != 0 {
		t.Errorf("error rates %v", rates)
	}
	if reqs["GET /health"] != 3 || reqs["GET /api/v2/ml/ok"] != 3 || reqs[unmatchedRoute] != 1 {
		t.Errorf("window requests %v", reqs)
	}
	_, q := do(t, s, "GET", "/api/v2/latency/quantiles")
	boom := q["routes"].(map[string]any)["GET /api/v2/ml/boom"].(map[string]any)
	if boom["error_rate"] != rates["GET /api/v2/ml/boom"] {
		t.Errorf("quantiles error_rate %v, gauge %v", boom["error_rate"], rates["GET /api/v2/ml/boom"])
	}
}

// BenchmarkHealthRequestLog measures /health through the whole router with
// the request log on (JSON to io.Discard) and off; the difference is the
// cost of one log line.
func BenchmarkHealthRequestLog(b *testing.B) {
	for _, on := range []string{"on", "off"} {
		b.Run("log="+on, func(b *testing.B) {
			cfg, err := config.Load(nil, func(k string) (string, bool) {
				if k == "REQUEST_LOG" {
					return on, true
				}
				return "", false
			})
			if err != nil {
				b.Fatal(err)
			}
			rt := lifecycle.New(nil, capability.FactsFrom(&debug.BuildInfo{}), false)
			s, err := wire(Deps{Config: cfg, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Phase: phase.New(nil),
				Groups: rt, Metrics: prometheus.NewRegistry(), Services: &groupapi.Services{}})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			h := s.Handler()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest("GET", "/health", nil)
				r.Header.Set(RequestIDHeader, "bench-1")
				for pb.Next() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
				}
			})
		})
	}
}
