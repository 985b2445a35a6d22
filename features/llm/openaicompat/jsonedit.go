package openaicompat

import "bytes"

// SetTopLevel returns body (a JSON object that already decoded without
// error) with the value of key replaced by value, or with "key":value added
// when absent. Everything else keeps its bytes, so a forwarded request
// carries the client's fields as sent. With duplicate keys the last one,
// the one encoding/json honours, is replaced.
func SetTopLevel(body []byte, key string, value []byte) []byte {
	start, end, ok := findTopLevel(body, key)
	if ok {
		out := make([]byte, 0, len(body)-(end-start)+len(value))
		out = append(out, body[:start]...)
		out = append(out, value...)
		return append(out, body[end:]...)
	}
	closing := bytes.LastIndexByte(body, '}')
	if closing < 0 {
		return body
	}
	empty := len(bytes.TrimSpace(body[bytes.IndexByte(body, '{')+1:closing])) == 0
	out := make([]byte, 0, len(body)+len(key)+len(value)+4)
	out = append(out, body[:closing]...)
	if !empty {
		out = append(out, ',')
	}
	out = append(out, '"')
	out = append(out, key...)
	out = append(out, '"', ':')
	out = append(out, value...)
	return append(out, body[closing:]...)
}

// TopLevel returns the raw value of key in the top-level object of body
// (the last occurrence), without decoding the rest.
func TopLevel(body []byte, key string) ([]byte, bool) {
	start, end, ok := findTopLevel(body, key)
	if !ok {
		return nil, false
	}
	return body[start:end], true
}

// TopLevel2 returns the raw values of two keys of the top-level object in
// one pass (nil for an absent key; the last occurrence of each).
func TopLevel2(body []byte, k1, k2 string) (v1, v2 []byte) {
	scanTopLevel(body, func(key []byte, start, end int) {
		switch string(key) {
		case k1:
			v1 = body[start:end]
		case k2:
			v2 = body[start:end]
		}
	})
	return v1, v2
}

// findTopLevel finds the value span of the last occurrence of key in the
// top-level object. Keys are compared as raw bytes: a key written with
// escapes is not found (and then added, which encoding/json resolves in
// favour of the later one).
func findTopLevel(body []byte, key string) (start, end int, ok bool) {
	scanTopLevel(body, func(k []byte, s, e int) {
		if string(k) == key {
			start, end, ok = s, e, true
		}
	})
	return start, end, ok
}

// scanTopLevel calls each with every key of the top-level object and the
// span of its value, in order.
func scanTopLevel(body []byte, each func(key []byte, start, end int)) {
	depth := 0
	expectKey := false
	for i := 0; i < len(body); i++ {
		switch b := body[i]; b {
		case '{', '[':
			depth++
			expectKey = b == '{' && depth == 1
		case '}', ']':
			depth--
		case ',':
			expectKey = depth == 1
		case '"':
			j := skipString(body, i)
			if depth == 1 && expectKey {
				k := body[i+1 : j-1]
				expectKey = false
				// skip to the colon and the value
				v := j
				for v < len(body) && body[v] != ':' {
					v++
				}
				v++
				for v < len(body) && isSpace(body[v]) {
					v++
				}
				e := skipValue(body, v)
				each(k, v, e)
				i = e - 1
				continue
			}
			i = j - 1
		}
	}
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// skipString returns the index just past the string starting at body[i].
func skipString(body []byte, i int) int {
	for j := i + 1; j < len(body); j++ {
		switch body[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(body)
}

// skipValue returns the index just past the value starting at body[i].
func skipValue(body []byte, i int) int {
	if i >= len(body) {
		return i
	}
	switch body[i] {
	case '"':
		return skipString(body, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(body); j++ {
			switch body[j] {
			case '"':
				j = skipString(body, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(body)
	}
	j := i
	for j < len(body) && body[j] != ',' && body[j] != '}' && body[j] != ']' && !isSpace(body[j]) {
		j++
	}
	return j
}
