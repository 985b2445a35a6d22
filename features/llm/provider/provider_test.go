package provider

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRetryPolicy(t *testing.T) {
	status := func(code int) error { return &Error{Provider: "p", Kind: KindStatus, Status: code} }
	for _, tc := range []struct {
		name  string
		errs  []error
		max   int
		calls int
		ok    bool
	}{
		{"success first", []error{nil}, 2, 1, true},
		{"429 then ok", []error{status(429), nil}, 2, 2, true},
		{"5xx exhausts", []error{status(500), status(502), status(503), nil}, 2, 3, false},
		{"4xx not retried", []error{status(400), nil}, 2, 1, false},
		{"timeout not retried", []error{&Error{Kind: KindTimeout}, nil}, 2, 1, false},
		{"untyped not retried", []error{errors.New("x"), nil}, 2, 1, false},
		{"no retries", []error{status(429), nil}, 0, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			n, err := Retry{MaxRetries: tc.max, Backoff: time.Millisecond}.Do(context.Background(), func(context.Context) error {
				calls++
				return tc.errs[calls-1]
			})
			if n != tc.calls || calls != tc.calls || (err == nil) != tc.ok {
				t.Fatalf("n=%d calls=%d err=%v", n, calls, err)
			}
		})
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	done := make(chan error, 1)
	go func() {
		_, err := Retry{MaxRetries: 5, Backoff: time.Hour}.Do(ctx, func(context.Context) error {
			calls++
			return &Error{Provider: "p", Kind: KindStatus, Status: 503}
		})
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		var pe *Error
		if !errors.As(err, &pe) || pe.Kind != KindCanceled || calls != 1 {
			t.Fatalf("%v after %d calls", err, calls)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("retry wait ignored the context")
	}
}

func TestRetryAfterCapped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	calls := 0
	start := time.Now()
	_, err := Retry{MaxRetries: 1, Backoff: time.Millisecond, MaxWait: 20 * time.Millisecond}.Do(ctx, func(context.Context) error {
		calls++
		if calls == 1 {
			return &Error{Provider: "p", Kind: KindStatus, Status: 429, RetryAfter: time.Hour}
		}
		return nil
	})
	if err != nil || calls != 2 || time.Since(start) > 5*time.Second {
		t.Fatalf("err=%v calls=%d after %v", err, calls, time.Since(start))
	}
}

func TestClassifyAndOutcome(t *testing.T) {
	ctx, cancel := context.WithTimeoutCause(context.Background(), time.Nanosecond, ErrTimeout)
	defer cancel()
	<-ctx.Done()
	if Outcome(Classify(ctx, "p", ctx.Err())) != "timeout" {
		t.Fatal("deadline not a timeout")
	}
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if Outcome(Classify(cctx, "p", cctx.Err())) != "canceled" {
		t.Fatal("cancel not canceled")
	}
	for want, err := range map[string]error{
		"status_429": &Error{Kind: KindStatus, Status: 429},
		"status_5xx": &Error{Kind: KindStatus, Status: 503},
		"status_4xx": &Error{Kind: KindStatus, Status: 404},
		"ok":         nil,
	} {
		if got := Outcome(err); got != want {
			t.Errorf("%v: %s, want %s", err, got, want)
		}
	}
	if ParseRetryAfter("2") != 2*time.Second || ParseRetryAfter("soon") != 0 || ParseRetryAfter("") != 0 {
		t.Fatal("Retry-After parsing")
	}
}
