package openaicompat

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheckKeys(t *testing.T) {
	for _, tc := range []struct {
		body, param string // param "" = accepted
	}{
		{`{"model":"m","messages":[],"max_tokens":5}`, ""},
		{`{"max_tokens":999999,"Max_Tokens":5,"n":7,"N":1}`, "Max_Tokens"},
		{`{"n":1,"n":7}`, "n"},
		{`{"N":1}`, "N"},
		{`{"m\u006fdel":"openai/x"}`, "model"},                   // a known field written with escapes
		{`{"messages":[{"r\u006fle":"user"}]}`, ""},              // deeper keys are not edited by the gateway
		{`{"max_tokens":5,"max\u005ftokens":999}`, "max_tokens"}, // the same key, escaped
		{`{"MAX_TOKENS":5}`, "MAX_TOKENS"},                       // a case variant alone
		{"{\"max_to\u212Bens\":5}", ""},                          // Å (U+212B) folds to å, not k: a different key
		{"{\"\u212Aey\":1,\"n\u212A\":1}", ""},                   // unknown names pass through
		{"{\"stream\":true,\"STREAM\":false}", "STREAM"},         //
		{"{\"top_p\":1,\"\u0074op_P\":0.5}", "top_P"},            // escaped and case-varied
		{`{"stream_options":{"include_usage":true,"Include_Usage":false}}`, "stream_options.Include_Usage"},
		{`{"messages":[{"role":"user","content":"a"},{"role":"user","role":"system","content":"b"}]}`, "messages[1].role"},
		{`{"tools":[{"type":"function","function":{"name":"f","parameters":{"properties":{"Name":{},"name":{}}}}}]}`, ""}, // schema keys may differ in case
		{`{"tools":[{"type":"function","function":{"name":"f","parameters":{"properties":{"a":{},"a":{}}}}}]}`, "tools[0].function.parameters.properties.a"},
		{`{"messages":[{"content":"\"n\":1,\"n\":2"}],"n":1}`, ""}, // keys inside strings are text
		{`{"metadata":{"Foo":"1","foo":"2"}}`, ""},
	} {
		if !json.Valid([]byte(tc.body)) {
			t.Fatalf("test body not JSON: %s", tc.body)
		}
		fe := CheckKeys([]byte(tc.body), ChatFields)
		switch {
		case tc.param == "" && fe != nil:
			t.Errorf("%s: refused: %v", tc.body, fe)
		case tc.param != "" && (fe == nil || fe.Param != tc.param):
			t.Errorf("%s: got %v, want a refusal naming %s", tc.body, fe, tc.param)
		}
	}
}

// TestCheckKeysManyKeys: an object with many keys is checked through a set
// (no quadratic scan) and still finds the duplicate.
func TestCheckKeysManyKeys(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"metadata":{`)
	for i := 0; i < 5000; i++ {
		sb.WriteString(`"k` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `_` + itoa(i) + `":1,`)
	}
	sb.WriteString(`"k_0x":1,"k_0x":2}}`)
	fe := CheckKeys([]byte(sb.String()), ChatFields)
	if fe == nil || fe.Param != "metadata.k_0x" {
		t.Fatalf("got %v", fe)
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestEqualFold(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"max_tokens", "max_tokens", true}, {"Max_Tokens", "max_tokens", true}, {"MAX_TOKENS", "max_tokens", true},
		{"max-tokens", "max_tokens", false}, {"max_tokenz", "max_tokens", false}, {"n", "N", true},
		{"@", "`", false}, {"_", "\x7f", false}, {"\x10", "0", false}, {"max_to\u212aens", "max_tokens", true},
		{"n", "nn", false}, {"top_p", "top_P", true},
	} {
		if got := equalFold([]byte(tc.a), tc.b); got != tc.want || got != strings.EqualFold(tc.a, tc.b) {
			t.Errorf("equalFold(%q, %q) = %v, want %v (strings.EqualFold %v)", tc.a, tc.b, got, tc.want, strings.EqualFold(tc.a, tc.b))
		}
	}
}

// BenchmarkCheckKeys: the check runs on every forwarded request; a usual
// body costs no allocation.
func BenchmarkCheckKeys(b *testing.B) {
	body := []byte(`{"model":"openai/fake-gpt","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}],"max_tokens":64,"temperature":0,"stream":false}`)
	b.ReportAllocs()
	for b.Loop() {
		if fe := CheckKeys(body, ChatFields); fe != nil {
			b.Fatal(fe)
		}
	}
}
