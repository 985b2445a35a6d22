package openaicompat

import (
	"bytes"
	"encoding/json"
	"slices"
)

// The Anthropic translation reads every object of a request by its exact
// keys: a key it does not translate, at any depth, is refused by its path
// (messages[2].refusal, tools[0].function.x), never dropped. encoding/json
// alone would drop unknown keys and read case variants as the field.

// rawObject is an object's keys and raw values.
type rawObject map[string]json.RawMessage

// present reports a key with a value other than null.
func (o rawObject) present(k string) bool {
	v, ok := o[k]
	return ok && !isNull(v)
}

// onlyKeys refuses the first key of o (in sorted order, so the answer is
// stable) that is not in allowed and whose value is not null.
func onlyKeys(o rawObject, path string, allowed ...string) *FieldError {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if slices.Contains(allowed, k) || isNull(o[k]) {
			continue
		}
		return fieldErr(join(path, k), "has no counterpart in the Anthropic Messages API")
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// objectAt decodes raw as an object; a value that is not one is refused
// with what it should be.
func objectAt(raw json.RawMessage, path string) (rawObject, *FieldError) {
	var o rawObject
	if err := json.Unmarshal(raw, &o); err != nil || o == nil {
		return nil, fieldErr(path, "want an object")
	}
	return o, nil
}

// objectsAt decodes raw as an array of objects (null or absent: none).
func objectsAt(raw json.RawMessage, path string) ([]rawObject, *FieldError) {
	if len(raw) == 0 || isNull(raw) {
		return nil, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fieldErr(path, "want an array")
	}
	out := make([]rawObject, len(list))
	for i, item := range list {
		o, ferr := objectAt(item, sprintf("%s[%d]", path, i))
		if ferr != nil {
			return nil, ferr
		}
		out[i] = o
	}
	return out, nil
}

// cacheControl checks a cache_control value and returns it as Anthropic
// takes it: {"type":"ephemeral"} with an optional ttl of 5m or 1h (the
// shape OpenAI-compatible clients use for Anthropic prompt caching, and
// Anthropic's own). nil for absent or null.
func cacheControl(raw json.RawMessage, path string) (json.RawMessage, *FieldError) {
	if len(raw) == 0 || isNull(raw) {
		return nil, nil
	}
	o, ferr := objectAt(raw, path)
	if ferr != nil {
		return nil, ferr
	}
	if ferr := onlyKeys(o, path, "type", "ttl"); ferr != nil {
		return nil, ferr
	}
	var cc struct {
		Type string `json:"type"`
		TTL  string `json:"ttl,omitempty"`
	}
	_ = json.Unmarshal(o["type"], &cc.Type)
	if cc.Type != "ephemeral" {
		return nil, fieldErr(join(path, "type"), "want \"ephemeral\", got %s", bytes.TrimSpace(o["type"]))
	}
	if o.present("ttl") {
		_ = json.Unmarshal(o["ttl"], &cc.TTL)
		if cc.TTL != "5m" && cc.TTL != "1h" {
			return nil, fieldErr(join(path, "ttl"), "want \"5m\" or \"1h\", got %s", bytes.TrimSpace(o["ttl"]))
		}
	}
	b, _ := json.Marshal(cc)
	return b, nil
}

// messageKeys are the keys of a message the translation reads, by role;
// anything else (refusal, audio, function_call, ...) is refused.
var messageKeys = map[string][]string{
	"system":    {"role", "content", "name", "cache_control"},
	"developer": {"role", "content", "name", "cache_control"},
	"user":      {"role", "content", "name", "cache_control"},
	"assistant": {"role", "content", "name", "cache_control", "tool_calls"},
	"tool":      {"role", "content", "tool_call_id", "cache_control"},
}

// partKeys are the keys of a content part the translation reads, by type.
var partKeys = map[string][]string{
	"text":      {"type", "text", "cache_control"},
	"image_url": {"type", "image_url", "cache_control"},
}

// checkMessage refuses the keys of message i (raw) that are not
// translated, down to its content parts and tool calls.
func checkMessage(i int, m rawObject, role string) *FieldError {
	path := sprintf("messages[%d]", i)
	allowed, ok := messageKeys[role]
	if !ok {
		return nil // the role itself is refused by the translation
	}
	if ferr := onlyKeys(m, path, allowed...); ferr != nil {
		return ferr
	}
	if c := m["content"]; len(c) > 0 && bytes.TrimSpace(c)[0] == '[' {
		parts, ferr := objectsAt(c, path+".content")
		if ferr != nil {
			return ferr
		}
		for j, p := range parts {
			pp := sprintf("%s.content[%d]", path, j)
			var typ string
			_ = json.Unmarshal(p["type"], &typ)
			keys, known := partKeys[typ]
			if !known {
				continue // the type is refused by the translation, by name
			}
			if ferr := onlyKeys(p, pp, keys...); ferr != nil {
				return ferr
			}
			if typ == "image_url" && p.present("image_url") {
				img, ferr := objectAt(p["image_url"], pp+".image_url")
				if ferr != nil {
					return ferr
				}
				if ferr := onlyKeys(img, pp+".image_url", "url", "detail"); ferr != nil {
					return ferr
				}
				var detail string
				if img.present("detail") && (json.Unmarshal(img["detail"], &detail) != nil || detail != "auto") {
					return fieldErr(pp+".image_url.detail", "Anthropic has no image detail setting; send auto or leave it out")
				}
			}
		}
	}
	calls, ferr := objectsAt(m["tool_calls"], path+".tool_calls")
	if ferr != nil {
		return ferr
	}
	for k, tc := range calls {
		cp := sprintf("%s.tool_calls[%d]", path, k)
		var typ string
		if tc.present("type") && (json.Unmarshal(tc["type"], &typ) != nil || typ != "function") {
			return fieldErr(cp+".type", "only function calls can be translated, got %s", bytes.TrimSpace(tc["type"]))
		}
		if ferr := onlyKeys(tc, cp, "id", "type", "function"); ferr != nil {
			return ferr
		}
		if tc.present("function") {
			fn, ferr := objectAt(tc["function"], cp+".function")
			if ferr != nil {
				return ferr
			}
			if ferr := onlyKeys(fn, cp+".function", "name", "arguments"); ferr != nil {
				return ferr
			}
		}
	}
	return nil
}

// checkTool refuses the keys of tool i that are not translated and
// returns its cache_control.
func checkTool(i int, t rawObject) (json.RawMessage, *FieldError) {
	path := sprintf("tools[%d]", i)
	var typ string
	if t.present("type") && (json.Unmarshal(t["type"], &typ) != nil || typ != "function") {
		return nil, fieldErr(path+".type", "only function tools can be translated, got %s", bytes.TrimSpace(t["type"]))
	}
	if ferr := onlyKeys(t, path, "type", "function", "cache_control"); ferr != nil {
		return nil, ferr
	}
	if t.present("function") {
		fn, ferr := objectAt(t["function"], path+".function")
		if ferr != nil {
			return nil, ferr
		}
		if ferr := onlyKeys(fn, path+".function", "name", "description", "parameters", "strict"); ferr != nil {
			return nil, ferr
		}
	}
	return cacheControl(t["cache_control"], path+".cache_control")
}
