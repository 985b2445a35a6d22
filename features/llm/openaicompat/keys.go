package openaicompat

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ChatFields are the fields of OpenAI's chat completion request (as of its
// 2025 API reference). A top-level key that differs from one of them only
// in case is refused: encoding/json, and so the gateway's checks, would read
// it as the field, while the upstream reads only the exact spelling.
var ChatFields = []string{
	"messages", "model", "audio", "frequency_penalty", "function_call", "functions", "logit_bias",
	"logprobs", "max_completion_tokens", "max_tokens", "metadata", "modalities", "n",
	"parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key", "reasoning_effort",
	"response_format", "safety_identifier", "seed", "service_tier", "stop", "store", "stream",
	"stream_options", "temperature", "tool_choice", "tools", "top_logprobs", "top_p", "user",
	"verbosity", "web_search_options",
}

// EmbeddingFields are the fields of OpenAI's embeddings request.
var EmbeddingFields = []string{"input", "model", "dimensions", "encoding_format", "user"}

// nestedKnown are fields inside objects that the gateway itself decodes
// and acts on, by the path of their object.
var nestedKnown = map[string][]string{
	"stream_options": {"include_usage", "include_obfuscation"},
}

// CheckKeys makes sure the body means one thing to every JSON reader, so
// that what the gateway checked is what the upstream acts on (issue 20:
// {"max_tokens":999999,"Max_Tokens":5} passed the check on 5 while the
// upstream used 999999). It refuses, naming the field:
//   - a key given twice in one object, at any depth (readers differ on
//     which one counts), compared after unescaping;
//   - a key of the top-level object, or of an object the gateway reads
//     (stream_options), that matches one of known only when case is
//     ignored (encoding/json matches case-insensitively; the upstream does
//     not).
//
// body must be valid JSON (it has been decoded before).
func CheckKeys(body []byte, known []string) *FieldError {
	type frame struct {
		array     bool
		index     int
		expectKey bool
		lastKey   string
		small     []string            // keys of this object, while few
		set       map[string]struct{} // beyond smallKeys
	}
	const smallKeys = 16
	var stack []frame
	path := func(key string) string {
		var sb strings.Builder
		for d := 1; d < len(stack); d++ {
			if p := stack[d-1]; p.array {
				sb.WriteString("[" + strconv.Itoa(p.index) + "]")
			} else {
				if sb.Len() > 0 {
					sb.WriteByte('.')
				}
				sb.WriteString(p.lastKey)
			}
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(key)
		return sb.String()
	}
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{', '[':
			stack = append(stack, frame{array: body[i] == '[', expectKey: body[i] == '{'})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 {
				if stack[n-1].array {
					stack[n-1].index++
				} else {
					stack[n-1].expectKey = true
				}
			}
		case '"':
			j := skipString(body, i)
			n := len(stack)
			if n == 0 || stack[n-1].array || !stack[n-1].expectKey {
				i = j - 1
				continue
			}
			top := &stack[n-1]
			top.expectKey = false
			key := string(body[i+1 : j-1])
			if strings.IndexByte(key, '\\') >= 0 {
				var s string
				if json.Unmarshal(body[i:j], &s) == nil {
					key = s
				}
			}
			dup := false
			if top.set != nil {
				_, dup = top.set[key]
				top.set[key] = struct{}{}
			} else {
				for _, k := range top.small {
					if k == key {
						dup = true
						break
					}
				}
				top.small = append(top.small, key)
				if len(top.small) > smallKeys {
					top.set = make(map[string]struct{}, 2*smallKeys)
					for _, k := range top.small {
						top.set[k] = struct{}{}
					}
					top.small = nil
				}
			}
			if dup {
				p := path(key)
				return fieldErr(p, "given more than once; send each field once")
			}
			var fields []string
			switch {
			case n == 1:
				fields = known
			case n == 2 && !stack[0].array:
				fields = nestedKnown[stack[0].lastKey]
			}
			for _, f := range fields {
				if key != f && equalFold(key, f) {
					p := path(key)
					return fieldErr(p, "is %s spelled in another case; send %s exactly as documented", f, f)
				}
			}
			top.lastKey = key
			i = j - 1
		}
	}
	return nil
}

// equalFold is strings.EqualFold with an ASCII fast path; it is the
// matching encoding/json applies to field names.
func equalFold(a, b string) bool {
	if len(a) == len(b) {
		ascii := true
		for k := 0; k < len(a); k++ {
			ca, cb := a[k], b[k]
			if ca >= utf8.RuneSelf || cb >= utf8.RuneSelf {
				ascii = false
				break
			}
			if unicode.ToLower(rune(ca)) != unicode.ToLower(rune(cb)) {
				return false
			}
		}
		if ascii {
			return true
		}
	}
	return strings.EqualFold(a, b)
}
