package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckTarget(t *testing.T) {
	for _, tc := range []struct {
		url    string
		remote bool
		ok     bool
	}{
		{"http://127.0.0.1:8070/health", false, true},
		{"http://127.3.4.5/", false, true},
		{"http://[::1]:8070/", false, true},
		{"http://localhost:8070/", false, true},
		{"http://10.0.0.1/", false, false},
		{"http://192.168.1.10:8070/", false, false},
		{"http://example.com/", false, false},
		{"http://example.com/", true, true},
		{"ftp://127.0.0.1/", false, false},
		{"http:///nohost", false, false},
		{"::bad", false, false},
	} {
		err := CheckTarget(tc.url, tc.remote)
		if (err == nil) != tc.ok {
			t.Errorf("CheckTarget(%q, %v) = %v, want ok=%v", tc.url, tc.remote, err, tc.ok)
		}
	}
}

func TestValidateBounds(t *testing.T) {
	good := Options{URLs: []string{"http://127.0.0.1:1/"}, Duration: time.Second, Burst: 0, Concurrency: 1, RPS: 1, MaxRequests: 1}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Options){
		"no urls":          func(o *Options) { o.URLs = nil },
		"zero duration":    func(o *Options) { o.Duration = 0 },
		"long duration":    func(o *Options) { o.Duration = MaxDuration + time.Second },
		"burst > duration": func(o *Options) { o.Burst = 2 * time.Second },
		"no workers":       func(o *Options) { o.Concurrency = 0 },
		"many workers":     func(o *Options) { o.Concurrency = MaxConcurrency + 1 },
		"zero rps":         func(o *Options) { o.RPS = 0 },
		"no requests":      func(o *Options) { o.MaxRequests = 0 },
		"huge requests":    func(o *Options) { o.MaxRequests = MaxRequests + 1 },
		"remote":           func(o *Options) { o.URLs = []string{"http://203.0.113.9/"} },
	} {
		o := good
		mut(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestQuantilesNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- { // 1..100 ms, unsorted
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	q := QuantilesOf(d)
	want := Quantiles{Min: 1, P50: 50, P90: 90, P95: 95, P99: 99, Max: 100, Mean: 50.5}
	if q != want {
		t.Errorf("QuantilesOf(1..100ms) = %+v, want %+v", q, want)
	}
	if (QuantilesOf(nil) != Quantiles{}) {
		t.Error("empty input")
	}
	one := QuantilesOf([]time.Duration{3 * time.Millisecond})
	if one.P50 != 3 || one.P99 != 3 || one.Min != 3 || one.Max != 3 {
		t.Errorf("one sample: %+v", one)
	}
}

func TestRecorderBudget(t *testing.T) {
	r := newRecorder([]string{"a", "b", "c"}, 5)
	var got []int
	for {
		i, ok := r.take()
		if !ok {
			break
		}
		got = append(got, i)
	}
	if len(got) != 5 || got[0] != 0 || got[1] != 1 || got[2] != 2 || got[3] != 0 {
		t.Errorf("slots %v, want 5 round-robin", got)
	}
	if r.sent.Load() != 5 {
		t.Errorf("sent %d after the budget", r.sent.Load())
	}
}

// TestRunAgainstLoopbackServer drives an in-process HTTP server on
// loopback (a plain net/http server: the load engine is generic) and checks
// the bounds and the accounting: every request the server saw is counted
// once, the budget holds, the steady phase keeps to its cap.
func TestRunAgainstLoopbackServer(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	var progress strings.Builder
	sum, err := Run(context.Background(), Options{
		URLs:     []string{srv.URL + "/up", srv.URL + "/down"},
		Duration: 1500 * time.Millisecond, Burst: 200 * time.Millisecond,
		Concurrency: 4, RPS: 20, MaxRequests: 1_000_000, Progress: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Total.Requests == 0 {
		t.Fatal("no requests")
	}
	if len(sum.Phases) != 2 {
		t.Fatalf("phases %+v", sum.Phases)
	}
	// 1.3 s at 20/s: at most 26 ticks (+1 for the first).
	if steady := sum.Phases[1]; steady.Requests > 27 {
		t.Errorf("steady phase sent %d requests at a 20/s cap", steady.Requests)
	}
	up, down := sum.URLs[0], sum.URLs[1]
	if up.SuccessRate != 1 || up.StatusClass["2xx"] != up.Requests || down.SuccessRate != 0 || down.StatusClass["5xx"] != down.Requests {
		t.Errorf("per-URL outcome: %+v / %+v", up, down)
	}
	// Round robin; requests cut off at a phase end (at most one per
	// worker) are not counted.
	if up.Requests+down.Requests != sum.Total.Requests || up.Requests-down.Requests > 4 || down.Requests-up.Requests > 4 {
		t.Errorf("round robin: %d and %d of %d", up.Requests, down.Requests, sum.Total.Requests)
	}
	if !strings.Contains(progress.String(), "load:") {
		t.Errorf("no progress lines: %q", progress.String())
	}

	// The request budget ends the run early and is never exceeded.
	start := time.Now()
	sum, err = Run(context.Background(), Options{URLs: []string{srv.URL + "/up"}, Duration: 5 * time.Second,
		Burst: 4 * time.Second, Concurrency: 4, RPS: 20, MaxRequests: 50})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Total.Requests != 50 || time.Since(start) > 4*time.Second {
		t.Errorf("budget 50: %d requests in %s", sum.Total.Requests, time.Since(start))
	}
	srv.Close() // waits for in-flight handlers
	if int64(sum.Total.Requests) > served.Load() {
		t.Errorf("counted more requests than the server saw")
	}
}

// Method, body and headers reach the server on every request (POST APIs
// such as /v1/chat/completions), and an oversized body is refused.
func TestRunWithMethodBodyHeader(t *testing.T) {
	var good, bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 64)
		n, _ := r.Body.Read(b)
		if r.Method == "POST" && string(b[:n]) == `{"x":1}` && r.Header.Get("Authorization") == "Bearer k" {
			good.Add(1)
			return
		}
		bad.Add(1)
		w.WriteHeader(400)
	}))
	defer srv.Close()
	o := Options{URLs: []string{srv.URL}, Duration: 5 * time.Second, Burst: 5 * time.Second, Concurrency: 2, RPS: 1, MaxRequests: 6,
		Method: "POST", Body: []byte(`{"x":1}`), Header: http.Header{"Authorization": {"Bearer k"}}}
	sum, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Total.Requests != 6 || good.Load() != 6 || bad.Load() != 0 {
		t.Fatalf("requests %d, good %d, bad %d", sum.Total.Requests, good.Load(), bad.Load())
	}
	o.Body = make([]byte, MaxBodyBytes+1)
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "bound") {
		t.Fatalf("oversized body: %v", err)
	}
}

// fixedRate keeps its schedule: slots fall due every 1/rate, and slots that
// fell due while nobody took them are handed out at once (catch-up), which
// a ticker would have dropped.
func TestFixedRateCatchesUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := fixedRate(ctx, 1000)
	first := <-ch
	// wait until at least 50 more slots are due, without taking any
	for time.Since(first) < 60*time.Millisecond {
		time.Sleep(5 * time.Millisecond)
	}
	prev := first
	for i := 1; i <= 50; i++ {
		due := <-ch
		if got := due.Sub(prev); got != time.Millisecond {
			t.Fatalf("slot %d: %v after the previous one, want 1ms", i, got)
		}
		if due.After(time.Now()) {
			t.Fatalf("slot %d handed out before it was due", i)
		}
		prev = due
	}
}
