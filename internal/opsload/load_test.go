package opsload

import (
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
