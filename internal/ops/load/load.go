// Package load drives a bounded HTTP load against one or more URLs: a
// burst phase (as fast as the workers go) and then a steady phase paced at
// a requests-per-second cap, and summarises counts, status classes and
// latency quantiles per URL. Every run is bounded in time and in requests.
package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure one run.
type Options struct {
	URLs        []string
	Duration    time.Duration // total: burst then steady
	Burst       time.Duration // length of the burst phase (part of Duration)
	Concurrency int           // workers
	RPS         int           // cap of the steady phase, requests per second over all workers
	MaxRequests int           // hard bound on requests over both phases
	Timeout     time.Duration // per request
	AllowRemote bool          // permit non-loopback targets
	Progress    io.Writer     // a line per second; nil for none
	// Rate, when set, paces the steady phase at exactly this many
	// requests per second over all workers on a fixed schedule (request k
	// is due at start + k/Rate; late ones go out at once to catch up),
	// instead of RPS's ticker, which drops ticks when the machine is busy.
	Rate int
	// Method, Body and Header shape every request (default GET, no body):
	// a POST API such as /v1/chat/completions can be driven too.
	Method string
	Body   []byte
	Header http.Header
}

// Limits every option must stay within.
const (
	MaxDuration    = 10 * time.Minute
	MaxConcurrency = 256
	MaxRequests    = 1_000_000
	MaxBodyBytes   = 1 << 20
)

// Validate checks the options and that every target is on loopback unless
// AllowRemote is set.
func (o *Options) Validate() error {
	if len(o.URLs) == 0 {
		return errors.New("no target URL")
	}
	if o.Duration <= 0 || o.Duration > MaxDuration {
		return fmt.Errorf("duration %s out of range (0, %s]", o.Duration, MaxDuration)
	}
	if o.Burst < 0 || o.Burst > o.Duration {
		return fmt.Errorf("burst %s out of range [0, duration]", o.Burst)
	}
	if o.Concurrency < 1 || o.Concurrency > MaxConcurrency {
		return fmt.Errorf("concurrency %d out of range [1, %d]", o.Concurrency, MaxConcurrency)
	}
	if o.Rate < 0 || o.Rate > 1_000_000 {
		return fmt.Errorf("rate %d out of range [0, 1000000]", o.Rate)
	}
	if o.RPS < 1 {
		return fmt.Errorf("rps %d must be at least 1", o.RPS)
	}
	if o.MaxRequests < 1 || o.MaxRequests > MaxRequests {
		return fmt.Errorf("max requests %d out of range [1, %d]", o.MaxRequests, MaxRequests)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Method == "" {
		o.Method = http.MethodGet
	}
	if len(o.Body) > MaxBodyBytes {
		return fmt.Errorf("body of %d bytes over the bound of %d", len(o.Body), MaxBodyBytes)
	}
	for _, u := range o.URLs {
		if err := CheckTarget(u, o.AllowRemote); err != nil {
			return err
		}
	}
	return nil
}

// CheckTarget accepts http(s) URLs whose host is a loopback IP or
// "localhost"; any other host needs allowRemote.
func CheckTarget(raw string, allowRemote bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("target %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("target %q: scheme must be http or https", raw)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("target %q has no host", raw)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("target %q is not on loopback; pass --allow-remote to load another host", raw)
}

// Run executes the burst and steady phases and returns the summary. It
// stops early when ctx ends (the summary covers what was sent).
func Run(ctx context.Context, o Options) (*Summary, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	client := &http.Client{
		Timeout: o.Timeout,
		Transport: &http.Transport{
			MaxIdleConns:        o.Concurrency * 2,
			MaxIdleConnsPerHost: o.Concurrency * 2,
			IdleConnTimeout:     30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	r := newRecorder(o.URLs, o.MaxRequests)
	r.method, r.body, r.header = o.Method, o.Body, o.Header
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()

	stopProgress := r.progress(ctx, o.Progress, start)
	defer stopProgress()

	var phases []Phase
	if o.Burst > 0 {
		phases = append(phases, r.phase(ctx, "burst", o.Burst, o.Concurrency, nil, client))
	}
	if rest := o.Duration - o.Burst; rest > 0 && ctx.Err() == nil {
		var pace <-chan time.Time
		if o.Rate > 0 {
			pace = fixedRate(ctx, o.Rate)
		} else {
			tick := time.NewTicker(time.Second / time.Duration(o.RPS))
			defer tick.Stop()
			pace = tick.C
		}
		phases = append(phases, r.phase(ctx, "steady", rest, o.Concurrency, pace, client))
	}
	return r.summary(o, start, phases), nil
}

// fixedRate hands out request slots on a fixed schedule until ctx ends:
// slot k is due at start + k/rate; a late slot goes out at once, so the
// achieved rate holds while the workers keep up.
func fixedRate(ctx context.Context, rate int) <-chan time.Time {
	ch := make(chan time.Time)
	interval := time.Second / time.Duration(rate)
	go func() {
		start := time.Now()
		t := time.NewTimer(0)
		defer t.Stop()
		for k := 0; ; k++ {
			due := start.Add(time.Duration(k) * interval)
			if d := time.Until(due); d > 0 {
				t.Reset(d)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
			select {
			case <-ctx.Done():
				return
			case ch <- due:
			}
		}
	}()
	return ch
}

// phase runs workers until d passes, ctx ends or the request budget is
// spent. With pace set, each request waits for a tick first.
func (r *recorder) phase(ctx context.Context, name string, d time.Duration, workers int, pace <-chan time.Time, client *http.Client) Phase {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	before := r.sent.Load()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if pace != nil {
					select {
					case <-ctx.Done():
						return
					case <-pace:
					}
				}
				if ctx.Err() != nil {
					return
				}
				i, ok := r.take()
				if !ok {
					return
				}
				r.do(ctx, client, i)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	n := r.sent.Load() - before
	return Phase{Name: name, Requests: n, Seconds: el.Seconds(), AchievedRPS: float64(n) / el.Seconds()}
}

// recorder hands out request slots and records outcomes per URL.
type recorder struct {
	method string
	body   []byte
	header http.Header
	urls   []string
	max    int64
	sent   atomic.Int64
	ok     atomic.Int64
	fail   atomic.Int64
	mu     sync.Mutex
	stats  []*urlStats
}

type urlStats struct {
	latencies map[string][]time.Duration // by status class: a 429's latency never mixes with a 200's
	classes   map[string]int
	codes     map[string]int
	errors    map[string]int
}

func newRecorder(urls []string, max int) *recorder {
	r := &recorder{urls: urls, max: int64(max)}
	for range urls {
		r.stats = append(r.stats, &urlStats{latencies: map[string][]time.Duration{}, classes: map[string]int{},
			codes: map[string]int{}, errors: map[string]int{}})
	}
	return r
}

// take reserves the next request; it returns the URL index, or false once
// the request budget is spent.
func (r *recorder) take() (int, bool) {
	n := r.sent.Add(1)
	if n > r.max {
		r.sent.Add(-1)
		return 0, false
	}
	return int((n - 1) % int64(len(r.urls))), true
}

func (r *recorder) do(ctx context.Context, client *http.Client, i int) {
	start := time.Now()
	class, code, errText := "", "", ""
	var body io.Reader
	if len(r.body) > 0 {
		body = bytes.NewReader(r.body)
	}
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, r.urls[i], body)
	if err == nil {
		for k, v := range r.header {
			req.Header[k] = v
		}
		var resp *http.Response
		resp, err = client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 16<<20))
			resp.Body.Close()
			class = fmt.Sprintf("%dxx", resp.StatusCode/100)
			code = strconv.Itoa(resp.StatusCode)
		}
	}
	el := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			// The phase ended while the request was in flight: not an outcome.
			r.sent.Add(-1)
			return
		}
		class, code, errText = "error", "error", shortErr(err)
	}
	if class == "2xx" || class == "3xx" {
		r.ok.Add(1)
	} else {
		r.fail.Add(1)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats[i]
	s.classes[class]++
	s.codes[code]++
	if errText != "" {
		s.errors[errText]++
	} else {
		s.latencies[class] = append(s.latencies[class], el)
	}
}

func shortErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// progress prints one line a second until stopped.
func (r *recorder) progress(ctx context.Context, w io.Writer, start time.Time) func() {
	if w == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var last int64
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				sent := r.sent.Load()
				fmt.Fprintf(w, "load: %5.1fs sent=%d ok=%d failed=%d rate=%d/s\n",
					time.Since(start).Seconds(), sent, r.ok.Load(), r.fail.Load(), sent-last)
				last = sent
			}
		}
	}()
	return func() { cancel(); <-done }
}

// Summary is load_test_summary.json.
type Summary struct {
	StartedAt   time.Time   `json:"started_at"`
	Seconds     float64     `json:"seconds"`
	Concurrency int         `json:"concurrency"`
	RPSCap      int         `json:"rps_cap"`
	Rate        int         `json:"rate,omitempty"` // fixed rate of the steady phase, when set
	MaxRequests int         `json:"max_requests"`
	Phases      []Phase     `json:"phases"`
	Total       Counts      `json:"total"`
	URLs        []URLReport `json:"urls"`
}

// Phase is one phase's request count and rate.
type Phase struct {
	Name        string  `json:"name"`
	Requests    int64   `json:"requests"`
	Seconds     float64 `json:"seconds"`
	AchievedRPS float64 `json:"achieved_rps"`
}

// Counts are request outcomes; success means a 2xx or 3xx answer.
type Counts struct {
	Requests     int            `json:"requests"`
	Succeeded    int            `json:"succeeded"`
	SuccessRate  float64        `json:"success_rate"`
	StatusClass  map[string]int `json:"status_classes"`
	StatusCodes  map[string]int `json:"status_codes"` // "200", "429", ..., "error" (no answer)
	ErrorSamples map[string]int `json:"errors,omitempty"`
}

// URLReport is one target's outcome.
type URLReport struct {
	URL string `json:"url"`
	Counts
	// LatencyMS covers the successful answers (2xx, 3xx) only: a refusal
	// such as a 429 is fast and would flatter the percentiles.
	LatencyMS Quantiles `json:"latency_ms"`
	// LatencyByClass has the percentiles of each status class apart.
	LatencyByClass map[string]Quantiles `json:"latency_ms_by_class"`
}

// Quantiles of the latency of answered requests, in milliseconds.
type Quantiles struct {
	Min  float64 `json:"min"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func (r *recorder) summary(o Options, start time.Time, phases []Phase) *Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &Summary{StartedAt: start.UTC(), Seconds: time.Since(start).Seconds(), Concurrency: o.Concurrency,
		RPSCap: o.RPS, Rate: o.Rate, MaxRequests: o.MaxRequests, Phases: phases,
		Total: Counts{StatusClass: map[string]int{}, StatusCodes: map[string]int{}}}
	for i, u := range r.urls {
		st := r.stats[i]
		c := Counts{StatusClass: st.classes, StatusCodes: st.codes}
		for code, n := range st.codes {
			s.Total.StatusCodes[code] += n
		}
		if len(st.errors) > 0 {
			c.ErrorSamples = st.errors
		}
		for class, n := range st.classes {
			c.Requests += n
			s.Total.StatusClass[class] += n
			if class == "2xx" || class == "3xx" {
				c.Succeeded += n
			}
		}
		c.SuccessRate = rate(c.Succeeded, c.Requests)
		s.Total.Requests += c.Requests
		s.Total.Succeeded += c.Succeeded
		byClass := map[string]Quantiles{}
		for class, d := range st.latencies {
			byClass[class] = QuantilesOf(d)
		}
		ok := append(append([]time.Duration{}, st.latencies["2xx"]...), st.latencies["3xx"]...)
		s.URLs = append(s.URLs, URLReport{URL: u, Counts: c, LatencyMS: QuantilesOf(ok), LatencyByClass: byClass})
	}
	s.Total.SuccessRate = rate(s.Total.Succeeded, s.Total.Requests)
	return s
}

func rate(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// QuantilesOf computes exact nearest-rank quantiles of the samples.
func QuantilesOf(d []time.Duration) Quantiles {
	if len(d) == 0 {
		return Quantiles{}
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	ms := func(x time.Duration) float64 { return float64(x) / float64(time.Millisecond) }
	rank := func(q float64) float64 {
		i := int(q*float64(len(s))+0.999999999) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(s) {
			i = len(s) - 1
		}
		return ms(s[i])
	}
	var sum time.Duration
	for _, x := range s {
		sum += x
	}
	return Quantiles{Min: ms(s[0]), P50: rank(0.5), P90: rank(0.9), P95: rank(0.95), P99: rank(0.99),
		Max: ms(s[len(s)-1]), Mean: ms(sum / time.Duration(len(s)))}
}
