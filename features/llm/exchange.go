package llm

// The one path from both surfaces (/api/v2/llm in chat.go and embeddings.go,
// /v1 in gateway*.go) to the providers: each request, whichever surface it
// came through, is sent by the provider's upstream.Client, with the retries,
// per-attempt deadline and metrics of call, the shared cache of complete, and
// the stream set-up of relay. The surfaces only read and check their
// request, build the provider's request body, and write the answer in
// their format.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/advanced-backend/advanced-backend/features/llm/provider"
	"github.com/advanced-backend/advanced-backend/features/llm/upstream"
)

// cacheKeyVersion changes when a cached value's format changes under the
// same key, so old entries are not misread.
const cacheKeyVersion = "v1"

// chatCall is one chat request ready for its provider.
type chatCall struct {
	client *upstream.Client
	model  string // the upstream's model name (metrics)
	body   []byte // exactly what goes upstream
	// includeUsage relays a stream's usage chunk (the client asked for it)
	includeUsage bool
}

// call runs one upstream operation with retries, each attempt bounded by
// LLM_TIMEOUT and observed in the metrics.
func (f *feature) call(ctx context.Context, prov, model string, op func(ctx context.Context) error) (int, error) {
	n, err := f.retry.Do(ctx, func(ctx context.Context) error {
		actx, cancel := context.WithTimeoutCause(ctx, f.cfg.Timeout, provider.ErrTimeout)
		defer cancel()
		start := time.Now()
		err := provider.Classify(actx, prov, op(actx))
		f.metrics.observe(prov, model, err, time.Since(start))
		return err
	})
	if n > 1 {
		f.metrics.retries.WithLabelValues(prov).Add(float64(n - 1))
	}
	return n, err
}

// complete makes a non-streamed chat call and returns the answer in
// OpenAI's chat.completion format. With cacheOp set (deterministic
// requests) the answer is looked up in and stored to the shared cache under
// that operation's name, keyed by the provider, model and request body as
// sent. check is what the surface needs of an answer; it runs inside the
// attempt, so an answer it refuses counts as malformed and is not cached.
func (f *feature) complete(ctx context.Context, call chatCall, cacheOp string, check func([]byte) error) (answer []byte, cached bool, err error) {
	prov := call.client.Name()
	var key string
	if cacheOp != "" {
		key = chatCacheKey(cacheOp, prov, call.model, call.body)
		var hit json.RawMessage
		if f.cacheGet(ctx, cacheOp, key, &hit) {
			return hit, true, nil
		}
	}
	var ans upstream.Answer
	_, err = f.call(ctx, prov, call.model, func(ctx context.Context) error {
		var err error
		if ans, err = call.client.Complete(ctx, call.body); err == nil && check != nil {
			if err = check(ans.Body); err != nil {
				err = fromProvider(prov, err)
			}
		}
		return err
	})
	if err != nil {
		return nil, false, err
	}
	f.metrics.usage(prov, call.model, ans.Usage)
	if key != "" {
		f.cacheSet(ctx, cacheOp, key, json.RawMessage(ans.Body))
	}
	return ans.Body, false, nil
}

// fromProvider names prov in a check's *provider.Error.
func fromProvider(prov string, err error) error {
	var pe *provider.Error
	if errors.As(err, &pe) && pe.Provider == "" {
		pe.Provider = prov
	}
	return err
}

// streamSink writes a streamed answer the way one surface speaks.
type streamSink interface {
	// event writes one event (the last has Done set); false when the
	// client is gone. An error ends the stream as a failure.
	event(ev upstream.Event) (bool, error)
	// fail ends the answer with err: a plain error while nothing was
	// written, an error event after.
	fail(err error)
}

// relay answers a streamed chat call through sink. The upstream call is
// bound to the client's request context (client), so a client that goes away
// cancels it. LLM_TIMEOUT bounds the wait for the first event and every gap
// between events; LLM_STREAM_MAX_DURATION the whole answer. Opening the
// stream is retried like any call; each failed attempt and the stream as a
// whole are observed in the metrics.
func (f *feature) relay(client context.Context, call chatCall, sink streamSink) {
	ctx, cancelAll := context.WithTimeoutCause(client, f.cfg.StreamMaxDuration, provider.ErrTimeout)
	defer cancelAll()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(f.cfg.Timeout, func() { cancel(provider.ErrTimeout) })
	defer idle.Stop()

	prov := call.client.Name()
	start := time.Now()
	var s *upstream.Stream
	n, err := f.retry.Do(ctx, func(actx context.Context) error {
		t0 := time.Now()
		var err error
		s, err = call.client.Stream(actx, call.body, call.includeUsage)
		if err = provider.Classify(actx, prov, err); err != nil {
			f.metrics.observe(prov, call.model, err, time.Since(t0))
		}
		return err
	})
	if n > 1 {
		f.metrics.retries.WithLabelValues(prov).Add(float64(n - 1))
	}
	if err != nil {
		sink.fail(err)
		return
	}
	defer s.Close()
	finish := func(err error) { f.metrics.observe(prov, call.model, err, time.Since(start)) }
	for {
		ev, err := s.Next()
		idle.Reset(f.cfg.Timeout)
		if err == nil {
			if ev.Usage != nil {
				f.metrics.usage(prov, call.model, *ev.Usage)
			}
			var ok bool
			if ok, err = sink.event(ev); err == nil && !ok {
				cancel(context.Canceled)
				finish(&provider.Error{Provider: prov, Kind: provider.KindCanceled})
				return
			}
		}
		if err != nil {
			err = provider.Classify(ctx, prov, err)
			finish(err)
			var pe *provider.Error
			if errors.As(err, &pe) && pe.Kind == provider.KindCanceled {
				return // the client is gone; nobody to tell
			}
			sink.fail(err)
			return
		}
		if ev.Done {
			finish(nil)
			return
		}
	}
}

// chatCacheKey hashes what decides a deterministic answer: the provider,
// the upstream model and the request as sent upstream.
func chatCacheKey(op, prov, model string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(prov))
	h.Write([]byte{0})
	h.Write([]byte(model))
	h.Write([]byte{0})
	h.Write(body)
	return "llm:" + cacheKeyVersion + ":" + op + ":" + hex.EncodeToString(h.Sum(nil))
}

func embedCacheKey(model string, inputs []string) string {
	b, _ := json.Marshal(struct {
		M string   `json:"m"`
		I []string `json:"i"`
	}{model, inputs})
	sum := sha256.Sum256(b)
	return "llm:" + cacheKeyVersion + ":embed:" + hex.EncodeToString(sum[:])
}

// cacheGet looks key up in the shared cache, when there is one; any
// failure is a miss (the cache bounds its own calls).
func (f *feature) cacheGet(ctx context.Context, op, key string, v any) bool {
	rc, ok := f.cache()
	if !ok {
		return false
	}
	b, hit, err := rc.Get(ctx, key)
	switch {
	case err != nil:
		f.metrics.cache.WithLabelValues(op, "error").Inc()
		return false
	case !hit:
		f.metrics.cache.WithLabelValues(op, "miss").Inc()
		return false
	}
	if json.Unmarshal(b, v) != nil {
		f.metrics.cache.WithLabelValues(op, "error").Inc()
		return false
	}
	f.metrics.cache.WithLabelValues(op, "hit").Inc()
	return true
}

func (f *feature) cacheSet(ctx context.Context, op, key string, v any) {
	rc, ok := f.cache()
	if !ok {
		return
	}
	b, err := json.Marshal(v)
	if err == nil {
		err = rc.Set(ctx, key, b, f.cfg.CacheTTL)
	}
	if err != nil {
		f.metrics.cache.WithLabelValues(op, "error").Inc()
	}
}
