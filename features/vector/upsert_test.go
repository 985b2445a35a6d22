package vector

import (
	"context"
	"sync"
	"testing"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

// recordingStore passes every call to the store it wraps and records how
// the points route wrote.
type recordingStore struct {
	store.Store
	mu       sync.Mutex
	plain    int
	payloads []string
}

func (r *recordingStore) Upsert(ctx context.Context, name string, pts []store.Point) error {
	r.mu.Lock()
	r.plain++
	r.mu.Unlock()
	return r.Store.Upsert(ctx, name, pts)
}

func (r *recordingStore) UpsertEncoded(ctx context.Context, name string, pts []store.Encoded) error {
	r.mu.Lock()
	for _, p := range pts {
		r.payloads = append(r.payloads, string(p.Payload))
	}
	r.mu.Unlock()
	return r.Store.(store.EncodedWriter).UpsertEncoded(ctx, name, pts)
}

// TestRouteHandsTheEncoding: on the embedded index (durable and memory
// only) the points route hands the store the payloads it checked and
// encoded, so they are encoded once; the store keeps them.
func TestRouteHandsTheEncoding(t *testing.T) {
	for name, env := range map[string]map[string]string{"embedded": nil, "memory-only": {"VECTOR_DATA_DIR": MemoryOnly}} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, env)
			waitReady(t, r.f)
			r.f.mu.Lock()
			if _, ok := r.f.store.(store.EncodedWriter); !ok {
				r.f.mu.Unlock()
				t.Fatalf("%T takes no encoded payloads", r.f.store)
			}
			rec := &recordingStore{Store: r.f.store}
			r.f.store = rec
			r.f.mu.Unlock()
			r.do(t, "PUT", "/e", `{"size":2,"distance":"dot"}`).want(t, 201, "created")
			r.do(t, "POST", "/e/points", `[{"id":1,"vector":[1,2],"payload":{"b":1,"a":"x"}},{"id":2,"vector":[2,1]}]`).want(t, 200, `"upserted":2`)
			rec.mu.Lock()
			plain, payloads := rec.plain, rec.payloads
			rec.mu.Unlock()
			if plain != 0 || len(payloads) != 2 || payloads[0] != `{"a":"x","b":1}` || payloads[1] != "" {
				t.Fatalf("plain upserts %d, encoded payloads %q", plain, payloads)
			}
			r.do(t, "GET", "/e/points/1", "").want(t, 200, `"payload":{"a":"x","b":1}`)
		})
	}
}
