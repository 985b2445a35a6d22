package openaicompat

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
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
//     not), or that is one of known written with escapes (the gateway
//     rewrites model and stream_options by their bytes).
//
// body must be valid JSON (it has been decoded before). It runs on every
// forwarded request, so the usual body costs no allocation: keys are spans
// of body, and the frames of the first levels live on the stack.
func CheckKeys(body []byte, known []string) *FieldError {
	var buf [8]keyFrame
	stack := buf[:0]
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{', '[':
			stack = append(stack, keyFrame{array: body[i] == '[', expectKey: body[i] == '{'})
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
			key := body[i+1 : j-1]
			escaped := bytes.IndexByte(key, '\\') >= 0
			if escaped {
				var s string
				if json.Unmarshal(body[i:j], &s) == nil {
					key = []byte(s)
				}
			}
			if top.seen(key) {
				return fieldErr(keyPath(stack, key), "given more than once; send each field once")
			}
			var fields []string
			switch {
			case n == 1:
				fields = known
			case n == 2 && !stack[0].array:
				fields = nestedKnown[string(stack[0].lastKey)]
			}
			ascii := isASCII(key)
			for _, f := range fields {
				if ascii && len(key) != len(f) {
					continue // ASCII folds only to ASCII of the same length
				}
				if string(key) != f && equalFold(key, f) {
					return fieldErr(keyPath(stack, key), "is %s spelled in another case; send %s exactly as documented", f, f)
				}
				// the gateway edits known fields by their bytes (model,
				// stream_options): one written with escapes would be
				// missed and then sent twice
				if escaped && string(key) == f {
					return fieldErr(keyPath(stack, key), "is written with escapes; send %s as plain text", f)
				}
			}
			top.lastKey = key
			i = j - 1
		}
	}
	return nil
}

// smallKeys is how many keys of one object are compared one by one; an
// object with more moves to a set.
const smallKeys = 16

// keyFrame is one open object or array of CheckKeys.
type keyFrame struct {
	array     bool
	index     int
	expectKey bool
	lastKey   []byte
	n         int
	small     [smallKeys][]byte
	set       map[string]struct{}
}

// seen records key in the object and reports whether it was there.
func (f *keyFrame) seen(key []byte) bool {
	if f.set != nil {
		if _, dup := f.set[string(key)]; dup {
			return true
		}
		f.set[string(key)] = struct{}{}
		return false
	}
	for _, k := range f.small[:f.n] {
		if bytes.Equal(k, key) {
			return true
		}
	}
	if f.n < smallKeys {
		f.small[f.n] = key
		f.n++
		return false
	}
	f.set = make(map[string]struct{}, 2*smallKeys)
	for _, k := range f.small {
		f.set[string(k)] = struct{}{}
	}
	f.set[string(key)] = struct{}{}
	return false
}

// keyPath names key inside the open frames: messages[1].role.
func keyPath(stack []keyFrame, key []byte) string {
	var sb strings.Builder
	for d := 1; d < len(stack); d++ {
		if p := stack[d-1]; p.array {
			sb.WriteString("[" + strconv.Itoa(p.index) + "]")
		} else {
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			sb.Write(p.lastKey)
		}
	}
	if sb.Len() > 0 {
		sb.WriteByte('.')
	}
	sb.Write(key)
	return sb.String()
}

// equalFold is strings.EqualFold for a key and a field name, with an ASCII
// fast path; it is the matching encoding/json applies to field names.
func equalFold(a []byte, b string) bool {
	if len(a) == len(b) {
		ascii := true
		for k := 0; k < len(a); k++ {
			ca, cb := a[k], b[k]
			if ca >= utf8.RuneSelf || cb >= utf8.RuneSelf {
				ascii = false
				break
			}
			if ca|0x20 != cb|0x20 || (ca|0x20) < 'a' && ca != cb || (ca|0x20) > 'z' && ca != cb {
				return false
			}
		}
		if ascii {
			return true
		}
	} else if isASCII(a) && isASCIIString(b) {
		return false // ASCII folds only to ASCII of the same length
	}
	return strings.EqualFold(string(a), b)
}

func isASCIIString(s string) bool {
	for k := 0; k < len(s); k++ {
		if s[k] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
