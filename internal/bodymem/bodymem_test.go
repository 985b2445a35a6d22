package bodymem

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
)

// TestBudgetReservesWhatIsRead: a body reserves the bytes it has read (not
// more, whatever it declared), fails with ErrExhausted past the bound and
// stays failed, and gives everything back on Release.
func TestBudgetReservesWhatIsRead(t *testing.T) {
	b := New(100)
	r1 := b.Wrap(io.NopCloser(strings.NewReader(strings.Repeat("a", 60))))
	buf := make([]byte, 10)
	if n, err := r1.Read(buf); n != 10 || err != nil || b.InUse() != 10 || r1.Held() != 10 {
		t.Fatalf("first read: %d %v, in use %d", n, err, b.InUse())
	}
	if _, err := io.ReadAll(r1); err != nil || b.InUse() != 60 {
		t.Fatalf("read all: %v, in use %d", err, b.InUse())
	}
	r2 := b.Wrap(io.NopCloser(strings.NewReader(strings.Repeat("b", 60))))
	got, err := io.ReadAll(r2)
	if !errors.Is(err, ErrExhausted) || int64(len(got))+60 > 100 || b.Refused() != 1 {
		t.Fatalf("past the bound: read %d, %v, refused %d", len(got), err, b.Refused())
	}
	if n, err := r2.Read(buf); n != 0 || !errors.Is(err, ErrExhausted) {
		t.Fatalf("after exhaustion: %d %v", n, err)
	}
	r1.Release()
	r1.Release() // twice is harmless
	r2.Release()
	if b.InUse() != 0 {
		t.Fatalf("in use after release: %d", b.InUse())
	}
	// with room again, a new body reads
	r3 := b.Wrap(io.NopCloser(strings.NewReader(strings.Repeat("c", 100))))
	if got, err := io.ReadAll(r3); err != nil || len(got) != 100 {
		t.Fatalf("full budget: %d %v", len(got), err)
	}
	r3.Release()
}

// TestStreamedBodyHoldsItsLastRead: a body marked as streamed holds one read
// at a time, so a stream larger than the budget passes.
func TestStreamedBodyHoldsItsLastRead(t *testing.T) {
	b := New(64)
	r := b.Wrap(io.NopCloser(strings.NewReader(strings.Repeat("s", 10000))))
	Stream(r)
	buf := make([]byte, 32)
	total := 0
	for {
		n, err := r.Read(buf)
		total += n
		if b.InUse() > 32 {
			t.Fatalf("streamed body holds %d", b.InUse())
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	r.Release()
	if total != 10000 || b.InUse() != 0 {
		t.Fatalf("read %d, in use %d", total, b.InUse())
	}
}

// TestBudgetConcurrent: reservations from many goroutines never pass the
// bound and all come back.
func TestBudgetConcurrent(t *testing.T) {
	b := New(1000)
	var wg sync.WaitGroup
	var over sync.Once
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.Wrap(io.NopCloser(bytes.NewReader(make([]byte, 100))))
			buf := make([]byte, 7)
			for {
				_, err := r.Read(buf)
				if b.InUse() > b.Max() {
					over.Do(func() { t.Errorf("in use %d over %d", b.InUse(), b.Max()) })
				}
				if err != nil {
					break
				}
			}
			r.Release()
		}()
	}
	wg.Wait()
	if b.InUse() != 0 {
		t.Fatalf("in use after all released: %d", b.InUse())
	}
}

// TestReadAfterReleaseHoldsNothing: a read that comes after the handler is
// done (a goroutine it left behind) reserves nothing.
func TestReadAfterReleaseHoldsNothing(t *testing.T) {
	b := New(100)
	r := b.Wrap(io.NopCloser(strings.NewReader(strings.Repeat("a", 50))))
	buf := make([]byte, 10)
	_, _ = r.Read(buf)
	r.Release()
	if n, err := r.Read(buf); n != 10 || err != nil || b.InUse() != 0 {
		t.Fatalf("read after release: %d %v, in use %d", n, err, b.InUse())
	}
	var wg sync.WaitGroup
	r2 := b.Wrap(io.NopCloser(strings.NewReader(strings.Repeat("a", 5000))))
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(io.Discard, io.LimitReader(r2, 5000))
	}()
	r2.Release()
	wg.Wait()
	if b.InUse() != 0 {
		t.Fatalf("in use after concurrent read and release: %d", b.InUse())
	}
}
