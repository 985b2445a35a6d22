package llm

// Every field of OpenAI's chat completion request, sent through /v1 to an
// anthropic/ model: each is either translated (the test asserts what the
// upstream got, internal/testkit/testllm speaking the Anthropic Messages API in
// process) or refused with a 400 naming it; none is dropped with a 200
// (issue 20 item 7: messages[].cache_control, tools[].cache_control and
// unknown tools[].function.* were dropped).

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/features/llm/openaicompat"
	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testllm"
)

// fieldCase is one field: extra top-level members added to a base request
// (or a whole messages/tools array), and either the parameter a 400 names
// or a check of the upstream's request.
type fieldCase struct {
	field   string // the schema path the case covers
	extra   string // JSON members added to the base request (may replace messages)
	refused string // the param of the 400; "" when translated
	check   func(up map[string]any) bool
}

// get walks a decoded JSON value by keys and indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func eph(v any) bool { m, _ := v.(map[string]any); return m != nil && m["type"] == "ephemeral" }

const toolF = `{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}`

var chatFieldCases = []fieldCase{
	// top level: every field of openaicompat.ChatFields
	{field: "messages", check: func(up map[string]any) bool { return get(up, "messages", 0, "content", 0, "text") == "hi" }},
	{field: "model", check: func(up map[string]any) bool { return up["model"] == "fake-claude" }},
	{field: "audio", extra: `"audio":{"voice":"alloy","format":"mp3"}`, refused: "audio"},
	{field: "frequency_penalty", extra: `"frequency_penalty":0.5`, refused: "frequency_penalty"},
	{field: "frequency_penalty=0", extra: `"frequency_penalty":0`, check: func(up map[string]any) bool { return up["frequency_penalty"] == nil }},
	{field: "function_call", extra: `"function_call":"auto"`, refused: "function_call"},
	{field: "functions", extra: `"functions":[{"name":"f"}]`, refused: "functions"},
	{field: "logit_bias", extra: `"logit_bias":{"50256":-100}`, refused: "logit_bias"},
	{field: "logprobs", extra: `"logprobs":true`, refused: "logprobs"},
	{field: "max_completion_tokens", extra: `"max_completion_tokens":7`, check: func(up map[string]any) bool { return up["max_tokens"] == float64(7) }},
	{field: "max_tokens", extra: `"max_tokens":6`, check: func(up map[string]any) bool { return up["max_tokens"] == float64(6) }},
	{field: "metadata", extra: `"metadata":{"k":"v"}`, refused: "metadata"},
	{field: "modalities", extra: `"modalities":["text","audio"]`, refused: "modalities"},
	{field: "modalities=text", extra: `"modalities":["text"]`, check: func(up map[string]any) bool { return up["modalities"] == nil }},
	{field: "n", extra: `"n":1`, check: func(up map[string]any) bool { return up["n"] == nil }},
	{field: "n=2", extra: `"n":2`, refused: "n"},
	{field: "parallel_tool_calls", extra: `"parallel_tool_calls":false,"tools":[` + toolF + `]`,
		check: func(up map[string]any) bool { return get(up, "tool_choice", "disable_parallel_tool_use") == true }},
	{field: "prediction", extra: `"prediction":{"type":"content","content":"x"}`, refused: "prediction"},
	{field: "presence_penalty", extra: `"presence_penalty":1`, refused: "presence_penalty"},
	{field: "prompt_cache_key", extra: `"prompt_cache_key":"k"`, refused: "prompt_cache_key"},
	{field: "reasoning_effort", extra: `"reasoning_effort":"low"`, refused: "reasoning_effort"},
	{field: "response_format", extra: `"response_format":{"type":"json_object"}`, refused: "response_format"},
	{field: "response_format=text", extra: `"response_format":{"type":"text"}`, check: func(up map[string]any) bool { return up["response_format"] == nil }},
	{field: "response_format.x", extra: `"response_format":{"type":"text","x":1}`, refused: "response_format.x"},
	{field: "safety_identifier", extra: `"safety_identifier":"sid-1"`, check: func(up map[string]any) bool { return get(up, "metadata", "user_id") == "sid-1" }},
	{field: "seed", extra: `"seed":1`, refused: "seed"},
	{field: "service_tier", extra: `"service_tier":"flex"`, refused: "service_tier"},
	{field: "stop", extra: `"stop":["zz"]`, check: func(up map[string]any) bool { return get(up, "stop_sequences", 0) == "zz" }},
	{field: "store", extra: `"store":true`, refused: "store"},
	{field: "stream", extra: `"stream":true`, check: func(up map[string]any) bool { return up["stream"] == true }},
	{field: "stream_options", extra: `"stream":true,"stream_options":{"include_usage":true}`, check: func(up map[string]any) bool { return up["stream_options"] == nil && up["stream"] == true }},
	{field: "stream_options.include_obfuscation", extra: `"stream":true,"stream_options":{"include_obfuscation":true}`, refused: "stream_options.include_obfuscation"},
	{field: "stream_options.x", extra: `"stream":true,"stream_options":{"x":1}`, refused: "stream_options.x"},
	{field: "temperature", extra: `"temperature":0.25`, check: func(up map[string]any) bool { return up["temperature"] == 0.25 }},
	{field: "tool_choice", extra: `"tool_choice":"required","tools":[` + toolF + `]`, check: func(up map[string]any) bool { return get(up, "tool_choice", "type") == "any" }},
	{field: "tool_choice.function", extra: `"tool_choice":{"type":"function","function":{"name":"f"}},"tools":[` + toolF + `]`,
		check: func(up map[string]any) bool { return get(up, "tool_choice", "name") == "f" }},
	{field: "tool_choice.x", extra: `"tool_choice":{"type":"function","function":{"name":"f","x":1}},"tools":[` + toolF + `]`, refused: "tool_choice.function.x"},
	{field: "tools", extra: `"tools":[` + toolF + `]`, check: func(up map[string]any) bool {
		return get(up, "tools", 0, "name") == "f" && get(up, "tools", 0, "description") == "d" && get(up, "tools", 0, "input_schema", "properties", "q", "type") == "string"
	}},
	{field: "top_logprobs", extra: `"top_logprobs":2`, refused: "top_logprobs"},
	{field: "top_p", extra: `"top_p":0.5`, check: func(up map[string]any) bool { return up["top_p"] == 0.5 }},
	{field: "user", extra: `"user":"u-1"`, check: func(up map[string]any) bool { return get(up, "metadata", "user_id") == "u-1" }},
	{field: "verbosity", extra: `"verbosity":"low"`, refused: "verbosity"},
	{field: "web_search_options", extra: `"web_search_options":{}`, refused: "web_search_options"},
	{field: "(unknown)", extra: `"frobnicate":1`, refused: "frobnicate"},

	// tools[]
	{field: "tools[].cache_control", extra: `"tools":[{"type":"function","function":{"name":"f"},"cache_control":{"type":"ephemeral"}}]`,
		check: func(up map[string]any) bool { return eph(get(up, "tools", 0, "cache_control")) }},
	{field: "tools[].cache_control.ttl", extra: `"tools":[{"type":"function","function":{"name":"f"},"cache_control":{"type":"ephemeral","ttl":"1h"}}]`,
		check: func(up map[string]any) bool { return get(up, "tools", 0, "cache_control", "ttl") == "1h" }},
	{field: "tools[].cache_control bad", extra: `"tools":[{"type":"function","function":{"name":"f"},"cache_control":{"type":"forever"}}]`, refused: "tools[0].cache_control.type"},
	{field: "tools[].type", extra: `"tools":[{"type":"custom","custom":{"name":"c"}}]`, refused: "tools[0].type"},
	{field: "tools[].x", extra: `"tools":[{"type":"function","function":{"name":"f"},"x":1}]`, refused: "tools[0].x"},
	{field: "tools[].function.strict", extra: `"tools":[{"type":"function","function":{"name":"f","strict":true}}]`, refused: "tools[0].function.strict"},
	{field: "tools[].function.strict=false", extra: `"tools":[{"type":"function","function":{"name":"f","strict":false}}]`,
		check: func(up map[string]any) bool { return get(up, "tools", 0, "name") == "f" }},
	{field: "tools[].function.x", extra: `"tools":[{"type":"function","function":{"name":"f","examples":[1]}}]`, refused: "tools[0].function.examples"},

	// messages[]
	{field: "messages[].cache_control", extra: `"messages":[{"role":"user","content":"hi","cache_control":{"type":"ephemeral"}}]`,
		check: func(up map[string]any) bool { return eph(get(up, "messages", 0, "content", 0, "cache_control")) }},
	{field: "messages[].cache_control bad", extra: `"messages":[{"role":"user","content":"hi","cache_control":{"type":"ephemeral","ttl":"2d"}}]`, refused: "messages[0].cache_control.ttl"},
	{field: "messages[].content[].cache_control", extra: `"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b","cache_control":{"type":"ephemeral"}}]}]`,
		check: func(up map[string]any) bool {
			return get(up, "messages", 0, "content", 0, "cache_control") == nil && eph(get(up, "messages", 0, "content", 1, "cache_control"))
		}},
	{field: "messages[system].cache_control", extra: `"messages":[{"role":"system","content":"rules","cache_control":{"type":"ephemeral"}},{"role":"user","content":"hi"}]`,
		check: func(up map[string]any) bool {
			return get(up, "system", 0, "text") == "rules" && eph(get(up, "system", 0, "cache_control"))
		}},
	{field: "messages[tool].cache_control", extra: `"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"t1","content":"r","cache_control":{"type":"ephemeral"}}],"tools":[` + toolF + `]`,
		check: func(up map[string]any) bool { return eph(get(up, "messages", 2, "content", 0, "cache_control")) }},
	{field: "messages[].name", extra: `"messages":[{"role":"user","content":"hi","name":"bob"}]`, refused: "messages[0].name"},
	{field: "messages[].refusal", extra: `"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"no","refusal":"I can't"},{"role":"user","content":"ok"}]`, refused: "messages[1].refusal"},
	{field: "messages[].audio", extra: `"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"x","audio":{"id":"a1"}},{"role":"user","content":"ok"}]`, refused: "messages[1].audio"},
	{field: "messages[].function_call", extra: `"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"x","function_call":{"name":"f","arguments":"{}"}},{"role":"user","content":"ok"}]`, refused: "messages[1].function_call"},
	{field: "messages[].tool_calls", extra: `"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{\"q\":1}"}}]},{"role":"tool","tool_call_id":"t1","content":"r"}],"tools":[` + toolF + `]`,
		check: func(up map[string]any) bool {
			return get(up, "messages", 1, "content", 0, "type") == "tool_use" && get(up, "messages", 1, "content", 0, "input", "q") == float64(1) &&
				get(up, "messages", 2, "content", 0, "tool_use_id") == "t1"
		}},
	{field: "messages[].tool_calls[].type", extra: `"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"custom","custom":{"name":"c","input":"x"}}]},{"role":"user","content":"ok"}]`, refused: "messages[1].tool_calls[0].type"},
	{field: "messages[].tool_calls[].function.x", extra: `"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}","x":1}}]},{"role":"user","content":"ok"}]`, refused: "messages[1].tool_calls[0].function.x"},
	{field: "messages[].content[].image_url", extra: `"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.invalid/a.png","detail":"auto"}}]}]`,
		check: func(up map[string]any) bool {
			return get(up, "messages", 0, "content", 0, "source", "url") == "https://example.invalid/a.png"
		}},
	{field: "messages[].content[].image_url.detail", extra: `"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.invalid/a.png","detail":"high"}}]}]`, refused: "messages[0].content[0].image_url.detail"},
	{field: "messages[].content[].input_audio", extra: `"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}]}]`, refused: "messages[0].content[0].type"},
	{field: "messages[].content[].file", extra: `"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"f1"}}]}]`, refused: "messages[0].content[0].type"},
	{field: "messages[].content[].x", extra: `"messages":[{"role":"user","content":[{"type":"text","text":"a","x":1}]}]`, refused: "messages[0].content[0].x"},
	{field: "messages[].x", extra: `"messages":[{"role":"user","content":"hi","x":1}]`, refused: "messages[0].x"},
	{field: "messages[].Role", extra: `"messages":[{"Role":"user","content":"hi"}]`, refused: "messages[0].Role"},
}

func TestAnthropicTranslationWalksEveryField(t *testing.T) {
	// every top-level field of the schema has a case
	covered := map[string]bool{}
	for _, fc := range chatFieldCases {
		covered[fc.field] = true
	}
	for _, f := range openaicompat.ChatFields {
		if !covered[f] {
			t.Errorf("no case for the request field %s", f)
		}
	}
	r := newRig(t, nil)
	for _, fc := range chatFieldCases {
		members := []string{`"model":"anthropic/fake-claude"`}
		if !strings.Contains(fc.extra, `"messages":`) {
			members = append(members, `"messages":[{"role":"user","content":"hi"}]`)
		}
		if fc.extra != "" {
			members = append(members, fc.extra)
		}
		body := "{" + strings.Join(members, ",") + "}"
		if !json.Valid([]byte(body)) {
			t.Fatalf("%s: test body not JSON: %s", fc.field, body)
		}
		before := len(r.fake.Requests(testllm.AnthropicMessages))
		a := r.post(t, "/v1/chat/completions", body)
		reqs := r.fake.Requests(testllm.AnthropicMessages)
		if fc.refused != "" {
			var eb apierr.OpenAIBody
			_ = json.Unmarshal(a.body, &eb)
			if a.status != 400 || eb.Param() != fc.refused {
				t.Errorf("%s: %d %s, want 400 naming %s", fc.field, a.status, a.body, fc.refused)
			}
			if len(reqs) != before {
				t.Errorf("%s: refused, yet the upstream was called", fc.field)
			}
			continue
		}
		if a.status != 200 || len(reqs) != before+1 {
			t.Errorf("%s: %d %s (upstream calls %d -> %d)", fc.field, a.status, a.body, before, len(reqs))
			continue
		}
		if up := reqs[len(reqs)-1].Body; !fc.check(up) {
			b, _ := json.Marshal(up)
			t.Errorf("%s: not translated; the upstream got %s", fc.field, b)
		}
	}
	// the list names each refusal once (no case hides behind another)
	var params []string
	for _, fc := range chatFieldCases {
		if fc.refused != "" {
			params = append(params, fc.field)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(params)))) != len(params) {
		t.Fatalf("duplicate cases")
	}
}
