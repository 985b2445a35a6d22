// Package waitfor is the tests' one way to wait for something that happens
// on its own time (a process answering, a probe reporting, a goroutine
// arriving): poll a condition with a bound, never sleep and hope. Tests
// only; call it from the test's goroutine (it ends the test with Fatal).
package waitfor

import (
	"testing"
	"time"
)

// first and most are the pauses between checks: short at first (most
// conditions turn true at once), growing to a cap so a slow machine is not
// hammered.
const (
	first = time.Millisecond
	most  = 50 * time.Millisecond
)

// True polls cond until it holds, or ends the test after within, saying
// what was awaited.
func True(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	Value(t, within, what, func() (struct{}, bool) { return struct{}{}, cond() })
}

// Value polls f until it reports ok and returns its value, or ends the test
// after within, saying what was awaited.
func Value[T any](t testing.TB, within time.Duration, what string, f func() (T, bool)) T {
	t.Helper()
	v, err := Poll(within, f)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return v
}

// TimeoutError says how long a condition was polled in vain.
type TimeoutError struct{ Within time.Duration }

func (e TimeoutError) Error() string { return "not within " + e.Within.String() }

// Poll polls f until it reports ok, for at most within; the error is a
// TimeoutError. For helpers that must not end the test themselves.
func Poll[T any](within time.Duration, f func() (T, bool)) (T, error) {
	deadline := time.Now().Add(within)
	pause := first
	for {
		v, ok := f()
		if ok {
			return v, nil
		}
		if time.Now().After(deadline) {
			var zero T
			return zero, TimeoutError{within}
		}
		time.Sleep(pause) // a poll interval, not a synchronisation
		pause = min(pause*2, most)
	}
}
