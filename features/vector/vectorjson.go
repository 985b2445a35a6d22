package vector

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/json/jsontext"
	jsonv2 "encoding/json/v2"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// vectorIn is a vector as the points and search routes take it: a JSON
// array of numbers, or a string holding the base64 (standard alphabet) of
// the vector's little-endian float32s, the compact form OpenAI's
// embeddings return with encoding_format=base64 (4 bytes per dimension
// plus a third, against about 10 for a number in text). The array is read
// here rather than by encoding/json's reflection, which cost most of the
// route's time (about 18 ms for 100 points of 384 dimensions): a token at
// a time from the decoder, each number scanned once (UnmarshalJSONFrom,
// which encoding/json uses when a type has it).
type vectorIn []float32

func (v *vectorIn) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		*v = nil
		return err
	case '"':
		val, err := dec.ReadValue()
		if err != nil {
			return err
		}
		return v.fromBase64(val)
	case '[':
	default:
		_, _ = dec.ReadValue()
		return errors.New("vector: want an array of numbers or a base64 string of little-endian float32s")
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	out := make([]float32, 0, 64)
	for dec.PeekKind() != ']' {
		if dec.PeekKind() != '0' {
			if _, err := dec.ReadValue(); err != nil {
				return err
			}
			return fmt.Errorf("vector[%d]: want a number", len(out))
		}
		num, err := dec.ReadValue()
		if err != nil {
			return err
		}
		f, err := strconv.ParseFloat(string(num), 32)
		if err != nil {
			return fmt.Errorf("vector[%d]: %s does not fit a float32", len(out), num)
		}
		out = append(out, float32(f))
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	*v = out
	return nil
}

// pointsBody is the points route's body: an array of points or
// {"points": [...]}, decoded in one pass.
type pointsBody []pointIn

func (p *pointsBody) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case '[':
		var pts []pointIn
		err := jsonv2.UnmarshalDecode(dec, &pts)
		*p = pts
		return err
	case '{':
		var wrapped struct {
			Points []pointIn `json:"points"`
		}
		err := jsonv2.UnmarshalDecode(dec, &wrapped)
		*p = wrapped.Points
		return err
	}
	_, _ = dec.ReadValue()
	return errors.New(`points: want [{id, vector | text, payload}] or {"points": [...]}`)
}

func (v *vectorIn) fromBase64(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("vector: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("vector: base64: %w", err)
	}
	if len(raw)%4 != 0 {
		return fmt.Errorf("vector: base64 holds %d bytes: want little-endian float32s, 4 bytes each", len(raw))
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	*v = out
	return nil
}
