package openaicompat

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// MaxEventBytes bounds one server-sent event of an upstream stream; a
// longer one is a malformed answer, not a reason to hold more memory.
const MaxEventBytes = 1 << 20

// Event is one server-sent event: its name (empty when the stream names
// none, as OpenAI's) and its data lines joined by "\n".
type Event struct {
	Name string
	Data []byte
}

// SSEReader reads server-sent events. The Event it returns is valid until
// the next call.
type SSEReader struct {
	sc   *bufio.Scanner
	data []byte
	name []byte
}

// NewSSEReader reads events from r.
func NewSSEReader(r io.Reader) *SSEReader {
	sc := bufio.NewScanner(r)
	// small to start (an open stream holds it), grown up to the bound
	sc.Buffer(make([]byte, 0, 1024), MaxEventBytes)
	return &SSEReader{sc: sc}
}

// Next returns the next event; io.EOF at a clean end of the stream (also
// after a last event without its blank line), io.ErrUnexpectedEOF never:
// the caller decides whether the events so far made a complete answer.
func (r *SSEReader) Next() (Event, error) {
	r.data, r.name = r.data[:0], r.name[:0]
	have := false
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			if have {
				return Event{Name: string(r.name), Data: r.data}, nil
			}
			continue
		}
		if line[0] == ':' {
			continue // comment (keep-alive)
		}
		field, value, _ := bytes.Cut(line, []byte{':'})
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		switch string(field) {
		case "data":
			if have {
				r.data = append(r.data, '\n')
			}
			r.data = append(r.data, value...)
			have = true
			if len(r.data) > MaxEventBytes {
				return Event{}, fmt.Errorf("server-sent event over %d bytes", MaxEventBytes)
			}
		case "event":
			r.name = append(r.name[:0], value...)
		}
	}
	if err := r.sc.Err(); err != nil {
		return Event{}, fmt.Errorf("read stream: %w", err)
	}
	if have {
		return Event{Name: string(r.name), Data: r.data}, nil
	}
	return Event{}, io.EOF
}
