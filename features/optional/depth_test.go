package optional

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestDeepNestingRefusedBeforeParsing: nesting beyond maxNestingDepth, in
// flow brackets, block indentation, compact sequences or JSON, is refused
// with the line, before the parser runs (the 64,000 '[' ended the
// process with a fatal out-of-memory in the parser).
func TestDeepNestingRefusedBeforeParsing(t *testing.T) {
	block := func(n int) string {
		var b strings.Builder
		b.WriteString("slo:\n")
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "%sk%d:\n", strings.Repeat(" ", 2*i), i)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, file, data string
		line             int
	}{
		{"issue", "r.yaml", "slo: " + strings.Repeat("[", 64_000), 1},
		{"flow just over", "r.yaml", "slo: " + strings.Repeat("[", maxNestingDepth), 1},
		{"flow on line 3", "r.yaml", "# c\ngroups: {}\nslo: " + strings.Repeat("{a: ", 40), 3},
		{"json", "r.json", `{"slo":` + strings.Repeat("[", 5000), 1},
		{"json pretty", "r.json", "{\n" + strings.Repeat(" [\n", 20), 0},
		{"block", "r.yaml", block(40), 0},
		{"dashes", "r.yaml", "slo:\n  " + strings.Repeat("- ", 40) + "x\n", 2},
		{"brackets in a string count too", "r.yaml", `slo: "` + strings.Repeat("[", 20) + `"`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := Parse(tc.file, []byte(tc.data))
			runtime.ReadMemStats(&after)
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "nested more than") || pe.File != tc.file || pe.Line < 1 {
				t.Fatalf("%#v", err)
			}
			if tc.line > 0 && pe.Line != tc.line {
				t.Errorf("line %d, want %d", pe.Line, tc.line)
			}
			// Refused by the scan, not after the parser built a tree: far
			// less allocated than the file's square.
			if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
				t.Errorf("%d bytes allocated to refuse %d bytes", got, len(tc.data))
			}
		})
	}
}

// TestUsualNestingPasses: the files the format describes, in YAML block
// and flow style and pretty-printed JSON, pass the scan; brackets in
// whole-line comments do not count.
func TestUsualNestingPasses(t *testing.T) {
	for name, data := range map[string]string{
		"yaml":        goodYAML,
		"json":        goodJSON,
		"pretty json": "{\n  \"slo\": {\n    \"GET /x\": {\n      \"p95_ms\": 800\n    }\n  },\n  \"rate_limits\": {\n    \"POST /y\": {\n      \"rps\": 5,\n      \"burst\": 10\n    }\n  }\n}\n",
		"comments":    "# [[[[[[[[[[[[[[[[[[[[[[[[[\n   # {{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\nslo:\n  \"GET /x\": {p95_ms: 800}\n",
	} {
		if pe := checkDepth([]byte(data)); pe != nil {
			t.Errorf("%s: %v", name, pe)
		}
	}
}
