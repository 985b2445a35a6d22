// Package provider holds what the LLM providers have in common: the answer
// shapes of /api/v2/llm (chat, streamed chunks, usage), the classification
// of upstream failures (status, timeout, unreachable, malformed), bounded
// retries and the redaction of credentials. The one client per provider
// that uses them is features/llm/upstream.
package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"
)

// Message is one turn of a conversation; Role is system, user or assistant.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Usage counts tokens.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Response is a complete chat answer. FinishReason is normalised to the
// OpenAI vocabulary: stop, length, content_filter, tool_calls (others pass
// through).
type Response struct {
	Model        string `json:"model"`
	Text         string `json:"text"`
	FinishReason string `json:"finish_reason"`
	Usage        Usage  `json:"usage"`
}

// Chunk is one piece of a streamed answer. The last chunk carries the
// finish reason and, when the upstream reports it, the usage.
type Chunk struct {
	Delta        string `json:"delta,omitempty"`
	FinishReason string `json:"finish_reason,omitempty"`
	Usage        *Usage `json:"usage,omitempty"`
}

// Kind classifies a failed upstream call.
type Kind string

// Kinds of failure; they double as the outcome label of the metrics.
const (
	KindStatus      Kind = "status"      // the upstream answered an HTTP error status
	KindTimeout     Kind = "timeout"     // no (complete) answer within the deadline
	KindUnreachable Kind = "unreachable" // could not connect
	KindMalformed   Kind = "malformed"   // the answer did not parse
	KindCanceled    Kind = "canceled"    // our client went away
	KindOther       Kind = "error"
)

// ErrTimeout is the cancellation cause of a call that ran out of time.
var ErrTimeout = errors.New("upstream call timed out")

// Error is a classified upstream failure.
type Error struct {
	Provider   string
	Kind       Kind
	Status     int // for KindStatus
	Message    string
	RetryAfter time.Duration // from the upstream's Retry-After, when known
	Err        error
}

func (e *Error) Error() string {
	switch e.Kind {
	case KindStatus:
		return fmt.Sprintf("%s answered %d: %s", e.Provider, e.Status, e.Message)
	case KindTimeout:
		return e.Provider + ": upstream call timed out"
	case KindUnreachable:
		return e.Provider + ": upstream unreachable: " + e.Message
	case KindMalformed:
		return e.Provider + ": malformed upstream answer: " + e.Message
	case KindCanceled:
		return e.Provider + ": call canceled"
	}
	return e.Provider + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Retriable reports whether another attempt may succeed: 429 and 5xx.
func (e *Error) Retriable() bool {
	return e.Kind == KindStatus && (e.Status == 429 || e.Status >= 500)
}

// Outcome is the metrics label of a call's result.
func Outcome(err error) string {
	if err == nil {
		return "ok"
	}
	var pe *Error
	if !errors.As(err, &pe) {
		return string(KindOther)
	}
	if pe.Kind == KindStatus {
		switch {
		case pe.Status == 429:
			return "status_429"
		case pe.Status >= 500:
			return "status_5xx"
		default:
			return "status_4xx"
		}
	}
	return string(pe.Kind)
}

// Classify turns a transport-level error of a call made with ctx into an
// *Error. Clients call it for errors they did not type themselves; an *Error
// passes through.
func Classify(ctx context.Context, provider string, err error) error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		return err
	}
	e := &Error{Provider: provider, Kind: KindOther, Message: err.Error(), Err: err}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.Is(context.Cause(ctx), ErrTimeout) || errors.Is(err, ErrTimeout):
		e.Kind = KindTimeout
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind = KindTimeout
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		e.Kind = KindCanceled
	case errors.As(err, &syn) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF):
		e.Kind = KindMalformed
	case errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial"):
		e.Kind = KindUnreachable
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			e.Kind = KindTimeout
		}
	}
	return e
}

// Retry is the retry policy of one call: at most MaxRetries more attempts
// after the first, on retriable errors only, waiting Backoff, 2*Backoff, ...
// (each with up to 50% jitter, or the upstream's Retry-After when longer,
// capped at MaxWait).
type Retry struct {
	MaxRetries int
	Backoff    time.Duration
	MaxWait    time.Duration
}

// Do runs attempt until it succeeds, fails for good, or the retries are
// spent; it returns the last error and how many attempts were made.
func (r Retry) Do(ctx context.Context, attempt func(ctx context.Context) error) (int, error) {
	wait := r.Backoff
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil {
			return n, nil
		}
		var pe *Error
		if n > r.MaxRetries || !errors.As(err, &pe) || !pe.Retriable() {
			return n, err
		}
		d := wait + time.Duration(rand.Int64N(int64(wait)/2+1))
		if pe.RetryAfter > d {
			d = pe.RetryAfter
		}
		if r.MaxWait > 0 && d > r.MaxWait {
			d = r.MaxWait
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return n, Classify(ctx, pe.Provider, ctx.Err())
		case <-t.C:
		}
		wait *= 2
	}
}

// ParseRetryAfter reads a Retry-After header value in seconds (HTTP dates
// are ignored); 0 when absent or unreadable.
func ParseRetryAfter(v string) time.Duration {
	var secs float64
	if _, err := fmt.Sscanf(v, "%g", &secs); err != nil || secs <= 0 || secs != secs {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}
