package waitfor

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestPollReturnsOnceTrue(t *testing.T) {
	var n atomic.Int32
	v, err := Poll(5*time.Second, func() (int32, bool) { c := n.Add(1); return c, c == 3 })
	if err != nil || v != 3 {
		t.Fatalf("%d %v", v, err)
	}
}

func TestPollGivesUp(t *testing.T) {
	_, err := Poll(20*time.Millisecond, func() (int, bool) { return 0, false })
	var te TimeoutError
	if !errors.As(err, &te) || te.Within != 20*time.Millisecond {
		t.Fatalf("%v", err)
	}
}

// recorder is a testing.TB that records Fatalf instead of ending the test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
}

func TestTrueFailsTheTestAfterTheBound(t *testing.T) {
	r := &recorder{TB: t}
	True(r, 10*time.Millisecond, "never", func() bool { return false })
	if r.failed == "" {
		t.Fatal("a condition that never holds did not fail the test")
	}
	r = &recorder{TB: t}
	True(r, time.Second, "at once", func() bool { return true })
	if r.failed != "" {
		t.Fatal("a condition that holds failed the test")
	}
}
