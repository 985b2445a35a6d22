package openaicompat

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestSetTopLevel(t *testing.T) {
	for _, tc := range []struct{ body, key, value, want string }{
		{`{"model":"openai/x","messages":[]}`, "model", `"x"`, `{"model":"x","messages":[]}`},
		// a "model" key inside a nested object or a string is not the top-level one
		{`{"messages":[{"model":"m","content":"\"model\":1"}],"model" : "a/b"}`, "model", `"b"`,
			`{"messages":[{"model":"m","content":"\"model\":1"}],"model" : "b"}`},
		{`{"model":"a","stream":true}`, "stream_options", `{"include_usage":true}`, `{"model":"a","stream":true,"stream_options":{"include_usage":true}}`},
		{`{"stream_options":{"include_usage":false},"x":1}`, "stream_options", `{"include_usage":true}`, `{"stream_options":{"include_usage":true},"x":1}`},
		{`{}`, "k", `1`, `{"k":1}`},
		{` { } `, "k", `1`, ` { "k":1} `},
		{`{"n":12,"m":[1,{"n":2}],"n":3}`, "n", `4`, `{"n":12,"m":[1,{"n":2}],"n":4}`}, // the last duplicate, the one decoders honour
		{`{"a":"x\\","model":true}`, "model", `"y"`, `{"a":"x\\","model":"y"}`},
	} {
		got := string(SetTopLevel([]byte(tc.body), tc.key, []byte(tc.value)))
		if got != tc.want {
			t.Errorf("SetTopLevel(%s, %s) = %s, want %s", tc.body, tc.key, got, tc.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("invalid JSON %s", got)
		}
	}
}

func FuzzSetTopLevel(f *testing.F) {
	f.Add(`{"model":"a","messages":[{"role":"user","content":"x"}]}`)
	f.Add(`{"x":{"model":"b"},"model":"c"}`)
	f.Fuzz(func(t *testing.T, body string) {
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &m) != nil {
			return
		}
		got := SetTopLevel([]byte(body), "model", []byte(`"zz"`))
		var after map[string]json.RawMessage
		if err := json.Unmarshal(got, &after); err != nil {
			t.Fatalf("%s -> %s: %v", body, got, err)
		}
		if string(after["model"]) != `"zz"` {
			// keys written with escapes are not matched; the decoder then
			// may honour the escaped one
			if _, escaped := m["model"]; !escaped || !strings.Contains(body, `\u`) {
				t.Fatalf("%s -> %s: model %s", body, got, after["model"])
			}
		}
		for k, v := range m {
			if k != "model" && string(after[k]) != string(v) {
				t.Fatalf("%s -> %s: %s changed", body, got, k)
			}
		}
	})
}

func TestSSEReader(t *testing.T) {
	in := ": keep-alive\n\nevent: message_start\ndata: {\"a\":1}\n\ndata: x\r\ndata: y\r\n\r\ndata:[DONE]\n\ndata: tail"
	r := NewSSEReader(strings.NewReader(in))
	var got []string
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Name+"|"+string(ev.Data))
	}
	want := []string{`message_start|{"a":1}`, "|x\ny", "|[DONE]", "|tail"}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Fatalf("got %q", got)
	}
	big := "data: " + strings.Repeat("x", MaxEventBytes+10) + "\n\n"
	if _, err := NewSSEReader(strings.NewReader(big)).Next(); err == nil {
		t.Fatal("oversized event accepted")
	}
}

func TestAnthropicStreamOrderAndTools(t *testing.T) {
	s := &AnthropicStream{IncludeUsage: true, Created: 1}
	if _, err := s.Event([]byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}`)); err == nil {
		t.Fatal("delta before message_start accepted")
	}
	events := []string{
		`{"type":"message_start","message":{"id":"msg_1","type":"message","model":"c","usage":{"input_tokens":4,"cache_read_input_tokens":2,"output_tokens":1}}}`,
		`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`,
		`{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"tu","name":"f","input":{}}}`,
		`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}`,
		`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"1}"}}`,
		`{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}`,
		`{"type":"message_stop"}`,
	}
	var chunks []Chunk
	var last StreamEvent
	for _, e := range events {
		out, err := s.Event([]byte(e))
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, out.Chunks...)
		last = out
	}
	if !last.Done || last.Usage == nil || last.Usage.PromptTokens != 6 || last.Usage.CompletionTokens != 9 || last.Usage.TotalTokens != 15 {
		t.Fatalf("end %+v", last)
	}
	b, _ := json.Marshal(chunks)
	for _, want := range []string{`"role":"assistant","content":""`, `"content":"Hi"`, `"index":0,"id":"tu","type":"function","function":{"name":"f","arguments":""}`,
		`"function":{"arguments":"{\"a\":"}`, `"finish_reason":"tool_calls"`, `"choices":[],"usage":{"prompt_tokens":6`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("chunks lack %s: %s", want, b)
		}
	}
	if _, err := s.Event([]byte(`{"type":"ping"}`)); err == nil {
		t.Fatal("event after message_stop accepted")
	}
	var se *UpstreamStreamError
	if _, err := (&AnthropicStream{}).Event([]byte(`{"type":"error","error":{"type":"overloaded_error","message":"busy"}}`)); !errors.As(err, &se) || se.Message != "busy" {
		t.Fatalf("error event: %v", err)
	}
}

func TestFinishReasons(t *testing.T) {
	for in, want := range map[string]string{"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls", "refusal": "content_filter"} {
		if got := FinishReason(in); got != want {
			t.Errorf("%s: %s", in, got)
		}
	}
}

func TestToAnthropicMessages(t *testing.T) {
	body := `{"model":"anthropic/c","messages":[
		{"role":"developer","content":[{"type":"text","text":"rules"}]},
		{"role":"user","content":"q"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},{"id":"t2","type":"function","function":{"name":"g","arguments":""}}]},
		{"role":"tool","tool_call_id":"t1","content":"r1"},
		{"role":"tool","tool_call_id":"t2","content":[{"type":"text","text":"r2"}]},
		{"role":"user","content":"more"}],
		"tools":[{"type":"function","function":{"name":"f"}}],"parallel_tool_calls":false,"user":"u1","max_tokens":5}`
	var r ChatRequest
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	out, ferr := ToAnthropic([]byte(body), &r, "c", 5)
	if ferr != nil {
		t.Fatal(ferr)
	}
	want := `{"model":"c","max_tokens":5,"system":"rules","messages":[{"role":"user","content":[{"type":"text","text":"q"}]},` +
		`{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{"x":1}},{"type":"tool_use","id":"t2","name":"g","input":{}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"r1"},{"type":"tool_result","tool_use_id":"t2","content":"r2"},{"type":"text","text":"more"}]}],` +
		`"tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"auto","disable_parallel_tool_use":true},"metadata":{"user_id":"u1"}}`
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	for _, tc := range []struct{ msgs, param string }{
		{`[{"role":"user","content":"x","name":"bob"}]`, "messages[0].name"},
		{`[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]`, "messages[0].content[0].type"},
		{`[{"role":"function","content":"x"}]`, "messages[0].role"},
		{`[{"role":"tool","content":"x"}]`, "messages[0].tool_call_id"},
		{`[{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"[1]"}}]}]`, "messages[0].tool_calls[0].function.arguments"},
		{`[{"role":"system","content":"only system"}]`, "messages"},
	} {
		b := `{"model":"anthropic/c","messages":` + tc.msgs + `}`
		var r ChatRequest
		if err := json.Unmarshal([]byte(b), &r); err != nil {
			t.Fatal(err)
		}
		if _, ferr := ToAnthropic([]byte(b), &r, "c", 5); ferr == nil || ferr.Param != tc.param {
			t.Errorf("%s: %v, want param %s", tc.msgs, ferr, tc.param)
		}
	}
}
