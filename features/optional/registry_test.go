package optional

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/ratelimit"
)

const goodYAML = `# registry for the tests
slo:
  "GET /api/v2/ml/anomalies": {p95_ms: 250}
  GET /api/v2/llm/chat:
    p95_ms: 1200.5
groups:
  vector: {enabled: false, reason: qdrant maintenance}
  ml:
    enabled: true
rate_limits:
  "POST /api/v2/llm/chat": {rps: 5, burst: 10}
  POST /api/v2/files/inspect:
    rps: 0.5
    burst: 2
`

const goodJSON = `{
  "slo": {"GET /api/v2/ml/anomalies": {"p95_ms": 250}, "GET /api/v2/llm/chat": {"p95_ms": 1200.5}},
  "groups": {"vector": {"enabled": false, "reason": "qdrant maintenance"}, "ml": {"enabled": true}},
  "rate_limits": {
    "POST /api/v2/llm/chat": {"rps": 5, "burst": 10},
    "POST /api/v2/files/inspect": {"rps": 0.5, "burst": 2}
  }
}
`

func checkGood(t *testing.T, reg *Registry) {
	t.Helper()
	if len(reg.SLO) != 2 || reg.SLO["GET /api/v2/ml/anomalies"].P95Ms != 250 || reg.SLO["GET /api/v2/llm/chat"].P95Ms != 1200.5 {
		t.Errorf("slo: %+v", reg.SLO)
	}
	if len(reg.Groups) != 2 || reg.Groups["vector"] != (GroupSwitch{Enabled: false, Reason: "qdrant maintenance"}) || !reg.Groups["ml"].Enabled {
		t.Errorf("groups: %+v", reg.Groups)
	}
	if len(reg.RateLimits) != 2 || reg.RateLimits["POST /api/v2/llm/chat"] != (groupapi.RateOverride{RPS: 5, Burst: 10}) ||
		reg.RateLimits["POST /api/v2/files/inspect"] != (groupapi.RateOverride{RPS: 0.5, Burst: 2}) {
		t.Errorf("rate_limits: %+v", reg.RateLimits)
	}
}

func TestParseYAMLAndJSON(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		format    Format
	}{
		{"registry.yaml", goodYAML, FormatYAML},
		{"registry.yml", goodYAML, FormatYAML},
		{"registry.json", goodJSON, FormatJSON},
		{"registry", goodJSON, FormatJSON}, // no extension: sniffed by the leading '{'
		{"registry.conf", goodYAML, FormatYAML},
	} {
		reg, format, err := Parse(tc.name, []byte(tc.src))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if format != tc.format {
			t.Errorf("%s: format %s, want %s", tc.name, format, tc.format)
		}
		checkGood(t, reg)
	}
	for _, src := range []string{"", "# nothing yet\n", "{}", "slo:\ngroups:\nrate_limits:\n", "slo: {}\n"} {
		reg, _, err := Parse("empty.yaml", []byte(src))
		if err != nil || len(reg.SLO)+len(reg.Groups)+len(reg.RateLimits) != 0 {
			t.Errorf("%q: %+v %v", src, reg, err)
		}
	}
}

func TestParseRejectsWithLineAndField(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
		field     string
		msg       string
	}{
		{"r.yaml", "slo:\n  \"GET /x\": {p95_ms: -5}\n", 2, `slo."GET /x".p95_ms`, "greater than 0"},
		{"r.yaml", "slo:\n  \"GET /x\":\n    p95_ms: \"250\"\n", 3, `slo."GET /x".p95_ms`, `want a number, got string "250"`},
		{"r.yaml", "slo:\n  \"GET /x\": {p95: 250}\n", 2, `slo."GET /x".p95`, "unknown key (want p95_ms)"},
		{"r.yaml", "slo:\n  \"GET /x\": {}\n", 2, `slo."GET /x".p95_ms`, "missing"},
		{"r.yaml", "slo:\n  \"/x\": {p95_ms: 1}\n", 2, `slo."/x"`, `want a route "METHOD /path"`},
		{"r.yaml", "slo:\n  \"FETCH /x\": {p95_ms: 1}\n", 2, `slo."FETCH /x"`, "METHOD /path"},
		{"r.yaml", "slo:\n  \"GET /x\": {p95_ms: .inf}\n", 2, `slo."GET /x".p95_ms`, "non-finite"},
		{"r.yaml", "slo:\n  \"GET /x\": {p95_ms: 1e999}\n", 2, `slo."GET /x".p95_ms`, "want a number"},
		{"r.yaml", "slo:\n  \"GET /x\": {p95_ms: 3600001}\n", 2, `slo."GET /x".p95_ms`, "at most 3.6e+06"},
		{"r.yaml", "slo: [1, 2]\n", 1, "slo", "want a mapping, got a list"},
		{"r.yaml", "# c\nslos:\n  x: 1\n", 2, "slos", "unknown section"},
		{"r.yaml", "groups:\n  gpu: {enabled: false}\n", 2, "groups.gpu", "unknown group (known: ml, llm, vector, optional)"},
		{"r.yaml", "groups:\n  llm: {enabled: \"no\"}\n", 2, "groups.llm.enabled", `want true or false, got string "no"`},
		{"r.yaml", "groups:\n  llm: {reason: x}\n", 2, "groups.llm.enabled", "missing"},
		{"r.yaml", "groups:\n  llm:\n    enabled: false\n    color: red\n", 4, "groups.llm.color", "unknown key"},
		{"r.yaml", "groups:\n  optional: {enabled: false}\n", 2, "groups.optional.enabled", "cannot switch itself off"},
		{"r.yaml", "groups:\n  llm: {enabled: false, reason: " + strings.Repeat("x", 300) + "}\n", 2, "groups.llm.reason", "longer than 256"},
		{"r.yaml", "rate_limits:\n  \"POST /x\": {rps: 5}\n", 2, `rate_limits."POST /x".burst`, "missing"},
		{"r.yaml", "rate_limits:\n  \"POST /x\": {burst: 5}\n", 2, `rate_limits."POST /x".rps`, "missing"},
		{"r.yaml", "rate_limits:\n  \"POST /x\":\n    rps: 5\n    burst: 2.5\n", 4, `rate_limits."POST /x".burst`, "whole number"},
		{"r.yaml", "rate_limits:\n  \"POST /x\": {rps: -1, burst: 1}\n", 2, `rate_limits."POST /x".rps`, "from 0 to 1e+06"},
		{"r.yaml", "rate_limits:\n  \"POST /x\":\n    burst: 0\n    rps: 1\n", 3, `rate_limits."POST /x".burst`, "at least 1 when rps > 0"},
		{"r.yaml", "slo:\n  \"GET /x\": {p95_ms: 1}\n  \"GET /x\": {p95_ms: 2}\n", 3, "", "already defined"},
		{"r.yaml", "slo:\n  \"GET /x\": {p95_ms: [1\n", 2, "", "syntax error"},
		{"r.yaml", "base: &b {p95_ms: 1}\n", 1, "base", "unknown section"},
		{"r.yaml", "slo:\n  \"GET /x\": &b {p95_ms: 1}\n  \"GET /y\": *b\n", 2, `slo."GET /x"`, "anchors, aliases and tags are not supported"},
		{"r.yaml", "slo: {}\n---\ngroups: {}\n", 3, "", "more than one YAML document"},
		{"r.yaml", "- 1\n- 2\n", 1, "(top level)", "want a mapping, got a list"},
		{"r.yaml", "1: x\n", 1, "(top level)", "keys must be strings"},
		{"r.json", "{\n  \"slo\": {\n    \"GET /x\": {\"p95_ms\": 0}\n  }\n}\n", 3, `slo."GET /x".p95_ms`, "greater than 0"},
		{"r.json", "{\n  \"slo\": {},\n  \"groups\": {\"llm\": {\"enabled\": 1}}\n}\n", 3, "groups.llm.enabled", "want true or false, got number 1"},
		{"r.json", "{\n  \"slo\": {}\n  # a comment\n}\n", 3, "", "JSON syntax error"},
		{"r.json", "{\n  \"slo\": {\n    'GET /x': {}\n  }\n}\n", 3, "", "JSON syntax error"},
		{"r.json", "[1, 2]\n", 1, "", "top level must be an object"},
		{"r.json", "{\"rate_limits\": {\"POST /x\": {\"rps\": 1, \"burst\": 1, \"extra\": true}}}", 1, `rate_limits."POST /x".extra`, "unknown key"},
	} {
		_, _, err := Parse(tc.name, []byte(tc.src))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: want a ParseError, got %v", tc.src, err)
			continue
		}
		if pe.Line != tc.line || pe.Field != tc.field || !strings.Contains(pe.Msg, tc.msg) || pe.File != tc.name {
			t.Errorf("%q:\n got  line %d field %q msg %q\n want line %d field %q msg ~%q", tc.src, pe.Line, pe.Field, pe.Msg, tc.line, tc.field, tc.msg)
		}
		if !strings.Contains(err.Error(), "line ") {
			t.Errorf("%q: error does not name the line: %v", tc.src, err)
		}
	}
}

func TestRateLimitZeroExempts(t *testing.T) {
	reg, _, err := Parse("r.yaml", []byte("rate_limits:\n  \"GET /health\": {rps: 0}\n  \"POST /x\": {rps: 2, burst: 3}\n"))
	if err != nil || reg.RateLimits["GET /health"] != (groupapi.RateOverride{}) || reg.RateLimits["POST /x"] != (groupapi.RateOverride{RPS: 2, Burst: 3}) {
		t.Fatalf("%+v %v", reg, err)
	}
}

func TestParseBounds(t *testing.T) {
	big := "slo:\n" + strings.Repeat("  # padding padding padding padding padding padding\n", maxRegistryBytes/50)
	if _, _, err := Parse("big.yaml", []byte(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized file: %v", err)
	}
	var b strings.Builder
	b.WriteString("rate_limits:\n")
	for i := 0; i <= ratelimit.MaxOverrides; i++ {
		b.WriteString("  \"GET /r" + strings.Repeat("x", i%7) + "/" + strconv.Itoa(i) + "\": {rps: 1, burst: 1}\n")
	}
	if _, _, err := Parse("many.yaml", []byte(b.String())); err == nil || !strings.Contains(err.Error(), "more than 256 routes (the rate limiter's bound)") {
		t.Fatalf("too many routes: %v", err)
	}
}
