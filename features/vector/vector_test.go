package vector

// The HTTP tests run the group behind the real gin stack over loopback, once
// on the embedded index and once on Qdrant's gRPC protocol served by
// qdrantfake (an in-process server from the go-client's generated server
// interfaces; see its package comment for its limits). Redis tests use a
// real redis-server (internal/testkit/testredis).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
	"github.com/advanced-backend/advanced-backend/features/vector/store/qdrantstore/qdrantfake"
	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/phase"
	"github.com/advanced-backend/advanced-backend/internal/testkit/grouptest"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testllm"
	"github.com/advanced-backend/advanced-backend/internal/testkit/testredis"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

func init() { gin.SetMode(gin.ReleaseMode) }

type rig struct {
	base  string
	f     *feature
	svc   *groupapi.Services
	phase *phase.Log
}

func newRig(t *testing.T, env map[string]string) *rig {
	t.Helper()
	if _, set := env["VECTOR_DATA_DIR"]; !set {
		env = maps.Clone(env)
		if env == nil {
			env = map[string]string{}
		}
		env["VECTOR_DATA_DIR"] = t.TempDir()
	}
	cfg := grouptest.Config(t, "vector", Settings(), env)
	h, all := grouptest.Host(cfg, "vector")
	r := &rig{f: newFeature(cfg.Group("vector")), svc: all, phase: phase.New(nil)}
	admin := func(c *gin.Context) {
		if c.GetHeader("X-Test-Admin") != "yes" {
			apierr.Abort(c, http.StatusForbidden, "forbidden", "admin only")
		}
	}
	h.Phase = r.phase
	r.base = grouptest.Mount(t, r.f, h, grouptest.Admin(admin))
	grouptest.Start(t, r.f)
	return r
}

type answer struct {
	status int
	body   []byte
}

func (r *rig) do(t *testing.T, method, path, body string, hdr ...string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, r.base+"/api/v2/vector/collections"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, b}
}

func (a answer) want(t *testing.T, status int, contains string) {
	t.Helper()
	if a.status != status || !strings.Contains(string(a.body), contains) {
		t.Fatalf("got %d %s, want %d containing %q", a.status, a.body, status, contains)
	}
}

type hit struct {
	ID      any            `json:"id"`
	Score   float64        `json:"score"`
	Payload map[string]any `json:"payload"`
}

func hits(t *testing.T, a answer) []hit {
	t.Helper()
	var h []hit
	if a.status != 200 || json.Unmarshal(a.body, &h) != nil {
		t.Fatalf("search: %d %s", a.status, a.body)
	}
	return h
}

func backends(t *testing.T) map[string]map[string]string {
	fake := qdrantfake.Start(t, "k3y")
	return map[string]map[string]string{
		"embedded":    {"VECTOR_MEMORY_MAX_POINTS": "50"},
		"memory-only": {"VECTOR_MEMORY_MAX_POINTS": "50", "VECTOR_DATA_DIR": ":memory:"},
		"qdrant":      {"QDRANT_URL": "http://" + fake.Addr, "QDRANT_API_KEY": "k3y"},
	}
}

func waitReady(t *testing.T, f *feature) {
	t.Helper()
	waitfor.True(t, 10*time.Second, "the vector group to be ready", func() bool { return f.Status().Ready })
}

func TestCollectionsPointsSearch(t *testing.T) {
	for name, env := range backends(t) {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, env)
			waitReady(t, r.f)
			if !strings.Contains(r.f.Status().Detail, map[string]string{"embedded": "embedded durable index at", "memory-only": "embedded in-memory index", "qdrant": "qdrant http://"}[name]) {
				t.Fatalf("detail does not name the backend: %s", r.f.Status().Detail)
			}
			r.do(t, "PUT", "/docs", `{"size":3,"distance":"cosine"}`).want(t, 201, `"created":true`)
			r.do(t, "PUT", "/docs", `{"size":3,"distance":"Cosine"}`).want(t, 200, `"created":false`)
			r.do(t, "PUT", "/docs", `{"size":4,"distance":"cosine"}`).want(t, 409, "collection_conflict")
			r.do(t, "PUT", "/d2", `{"size":0,"distance":"cosine"}`).want(t, 400, "size: want 1 to 65536")
			r.do(t, "PUT", "/d2", `{"size":70000,"distance":"cosine"}`).want(t, 400, "size")
			r.do(t, "PUT", "/d2", `{"size":3,"distance":"manhattan"}`).want(t, 400, "want cosine, dot or euclid")
			r.do(t, "PUT", "/bad.name", `{"size":3,"distance":"dot"}`).want(t, 400, "collection name")
			r.do(t, "PUT", "/d2", `{"size":3,"distance":"dot","x":1}`).want(t, 400, "unknown field")

			// both body forms
			r.do(t, "POST", "/docs/points", `[{"id":1,"vector":[1,0,0],"payload":{"name":"x","lang":"go"}},{"id":2,"vector":[0,1,0],"payload":{"name":"y"}}]`).
				want(t, 200, `"upserted":2`)
			r.do(t, "POST", "/docs/points", `{"points":[{"id":"6e8bc430-9c3a-11d9-9669-0800200c9a66","vector":[0,0,1]},{"id":"3","vector":[0.7,0.7,0],"payload":{"lang":"go"}}]}`).
				want(t, 200, `"upserted":2`)
			r.do(t, "GET", "/docs", "").want(t, 200, `"points":4`)

			h := hits(t, r.do(t, "POST", "/docs/search", `{"vector":[0.1,0.9,0],"limit":2}`))
			if len(h) != 2 || fmt.Sprint(h[0].ID) != "2" || fmt.Sprint(h[1].ID) != "3" || h[0].Payload["name"] != "y" {
				t.Fatalf("search %+v", h)
			}
			h = hits(t, r.do(t, "POST", "/docs/search", `{"vector":[0.1,0.9,0],"filter":{"lang":"go"}}`))
			if len(h) != 2 || fmt.Sprint(h[0].ID) != "3" {
				t.Fatalf("filtered search %+v", h)
			}
			h = hits(t, r.do(t, "POST", "/docs/search", `{"vector":[0,0,1]}`))
			if len(h) != 4 || h[0].ID != "6e8bc430-9c3a-11d9-9669-0800200c9a66" || h[3].Payload == nil {
				t.Fatalf("uuid hit %+v", h)
			}
			r.do(t, "GET", "/docs/points/1", "").want(t, 200, `"vector":[1,0,0]`)
			r.do(t, "GET", "/docs/points/6E8BC430-9C3A-11D9-9669-0800200C9A66", "").want(t, 200, `"id":"6e8bc430-9c3a-11d9-9669-0800200c9a66"`)
			r.do(t, "GET", "/docs/points/99", "").want(t, 404, "point_not_found")

			// bad input changes nothing
			for _, tc := range []struct{ body, want string }{
				{`[{"id":-1,"vector":[1,0,0]}]`, "points[0]: id -1: want an unsigned 64-bit integer or a UUID"},
				{`[{"id":1.5,"vector":[1,0,0]}]`, "id 1.5"},
				{`[{"id":"abc","vector":[1,0,0]}]`, `id \"abc\"`},
				{`[{"id":1,"vector":[1,0,0]},{"vector":[1,0,0]}]`, "points[1]: id is missing"},
				{`[{"id":1,"vector":[1,0]}]`, "points[0].vector: vector has 2 dimensions, collection wants 3"},
				{`[{"id":1,"vector":[0,0,0]}]`, "zero vector"},
				{`[{"id":1,"vector":[1,0,0],"text":"x"}]`, "not both"},
				{`[{"id":1}]`, "needs a vector or a text"},
				{`[{"id":1,"vector":[1,0,0],"extra":true}]`, "unknown field"},
				{`[]`, "points: want 1 to 1000, got 0"},
				{`{"points":[{"id":1,"vector":[1,0,0]}],"more":1}`, "unknown field"},
				{`"nope"`, "points: want"},
			} {
				r.do(t, "POST", "/docs/points", tc.body).want(t, 400, tc.want)
			}
			r.do(t, "GET", "/docs", "").want(t, 200, `"points":4`)
			many := "[" + strings.Repeat(`{"id":1,"vector":[1,0,0]},`, MaxUpsertPoints) + `{"id":1,"vector":[1,0,0]}]`
			r.do(t, "POST", "/docs/points", many).want(t, 400, "points: want 1 to 1000, got 1001")

			for _, tc := range []struct{ body, want string }{
				{`{"vector":[1,0],"limit":1}`, "query: vector has 2 dimensions, collection wants 3"},
				{`{"vector":[1,0,0],"limit":0}`, "limit: want 1 to 1000"},
				{`{"vector":[1,0,0],"limit":1001}`, "limit"},
				{`{"limit":1}`, "exactly one of vector and text"},
				{`{"vector":[1,0,0],"text":"x"}`, "exactly one"},
				{`{"vector":[1,0,0],"filter":{"n":1.5}}`, "integers"},
				{`{"vector":[1,0,0],"filter":{"n":[1]}}`, "string, integer or boolean"},
			} {
				r.do(t, "POST", "/docs/search", tc.body).want(t, 400, tc.want)
			}
			r.do(t, "GET", "/docs/points/-4", "").want(t, 400, "bad_id")
			r.do(t, "GET", "/docs/points/18446744073709551616", "").want(t, 400, "out of range")

			for _, m := range []struct{ method, path, body string }{
				{"POST", "/nope/points", `[{"id":1,"vector":[1,0,0]}]`},
				{"POST", "/nope/search", `{"vector":[1,0,0]}`},
				{"GET", "/nope/points/1", ""},
				{"GET", "/nope", ""},
			} {
				r.do(t, m.method, m.path, m.body).want(t, 404, "collection_not_found")
			}

			r.do(t, "DELETE", "/docs", "").want(t, 403, "admin only")
			r.do(t, "DELETE", "/docs", "", "X-Test-Admin", "yes").want(t, 200, `"deleted":"docs"`)
			r.do(t, "DELETE", "/docs", "", "X-Test-Admin", "yes").want(t, 404, "collection_not_found")
			r.do(t, "POST", "/docs/search", `{"vector":[1,0,0]}`).want(t, 404, "collection_not_found")
		})
	}
}

func TestDistancesOverHTTP(t *testing.T) {
	for name, env := range backends(t) {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, env)
			for d, want := range map[string]string{"cosine": "1", "dot": "4", "euclid": "1"} {
				r.do(t, "PUT", "/"+d, `{"size":2,"distance":"`+d+`"}`).want(t, 201, "created")
				r.do(t, "POST", "/"+d+"/points", `[{"id":1,"vector":[1,0]},{"id":2,"vector":[0,3]},{"id":4,"vector":[4,0]}]`).want(t, 200, "upserted")
				h := hits(t, r.do(t, "POST", "/"+d+"/search", `{"vector":[1,0.1],"limit":3}`))
				if fmt.Sprint(h[0].ID) != want {
					t.Errorf("%s: nearest %v, want %s (%+v)", d, h[0].ID, want, h)
				}
				if d == "euclid" && !(h[0].Score < h[1].Score) {
					t.Errorf("euclid scores are distances, ascending: %+v", h)
				}
			}
		})
	}
}

func TestEmbeddedIndexBound(t *testing.T) {
	r := newRig(t, map[string]string{"VECTOR_MEMORY_MAX_POINTS": "3", "VECTOR_MEMORY_MAX_COLLECTIONS": "1"})
	r.do(t, "PUT", "/a", `{"size":1,"distance":"dot"}`).want(t, 201, "created")
	r.do(t, "PUT", "/b", `{"size":1,"distance":"dot"}`).want(t, 507, "VECTOR_MEMORY_MAX_COLLECTIONS")
	r.do(t, "POST", "/a/points", `[{"id":1,"vector":[1]},{"id":2,"vector":[1]}]`).want(t, 200, "upserted")
	r.do(t, "POST", "/a/points", `[{"id":3,"vector":[1]},{"id":4,"vector":[1]}]`).want(t, 507, "VECTOR_MEMORY_MAX_POINTS")
	r.do(t, "GET", "/a", "").want(t, 200, `"points":2`)
	r.do(t, "POST", "/a/points", `[{"id":2,"vector":[5]},{"id":3,"vector":[1]}]`).want(t, 200, "upserted")
}

// embedder is a groupapi.Embedder for the vector side of text inputs; the
// real llm embedder meets vector in the e2e test of the full variant.
type embedder struct {
	ready bool
	dim   int
	err   error
	calls int
}

func (e *embedder) Ready() bool { return e.ready }
func (e *embedder) Embed(_ context.Context, in []string, _ string) ([][]float32, error) {
	e.calls++
	if e.err != nil {
		return nil, e.err
	}
	out := make([][]float32, len(in))
	for i, s := range in {
		out[i] = testllm.Vector(s, e.dim)
	}
	return out, nil
}

func TestTextInputs(t *testing.T) {
	r := newRig(t, nil)
	r.do(t, "PUT", "/t", `{"size":8,"distance":"cosine"}`).want(t, 201, "created")
	up := `[{"id":1,"text":"aaaa"},{"id":2,"text":"zzzz"},{"id":3,"vector":[1,1,1,1,1,1,1,1]}]`
	// no embedder at all: the llm group is not linked
	r.do(t, "POST", "/t/points", up).want(t, 400, "text needs remote embeddings, and no embedder is provided")
	r.do(t, "POST", "/t/search", `{"text":"aaaa"}`).want(t, 400, "send a vector instead")

	e := &embedder{dim: 8}
	r.svc.Embedder.Provide(e)
	r.do(t, "POST", "/t/points", up).want(t, 400, "embedding provider is not ready")
	if e.calls != 0 {
		t.Fatal("an embedder that is not ready was called")
	}
	e.ready = true
	r.do(t, "POST", "/t/points", up).want(t, 200, `"embedded":2`)
	if e.calls != 1 {
		t.Fatalf("texts embedded in %d calls, want one batch", e.calls)
	}
	h := hits(t, r.do(t, "POST", "/t/search", `{"text":"zzz","limit":1}`))
	if fmt.Sprint(h[0].ID) != "2" {
		t.Fatalf("text search %+v", h)
	}
	r.do(t, "POST", "/t/points", `[{"id":5,"text":""}]`).want(t, 400, "must not be empty")
	e.dim = 4
	r.do(t, "POST", "/t/points", `[{"id":5,"text":"abc"}]`).want(t, 400, "its embedding does not fit collection t")
	r.do(t, "POST", "/t/search", `{"text":"abc"}`).want(t, 400, "dimension")
	e.err = errors.New("upstream said no")
	r.do(t, "POST", "/t/search", `{"text":"abc"}`).want(t, 502, "remote embeddings failed: upstream said no")
	r.do(t, "GET", "/t", "").want(t, 200, `"points":3`)
	if !strings.Contains(r.f.Status().Detail, "text embeddings: ready") {
		t.Fatalf("detail %s", r.f.Status().Detail)
	}
}

func TestQdrantDownAndBack(t *testing.T) {
	fake := qdrantfake.Start(t, "")
	r := newRig(t, map[string]string{"QDRANT_URL": fake.Addr})
	waitReady(t, r.f)
	r.do(t, "PUT", "/c", `{"size":1,"distance":"dot"}`).want(t, 201, "created")
	fake.SetDown(true)
	r.do(t, "POST", "/c/search", `{"vector":[1]}`).want(t, 503, "store_unavailable")
	r.f.probeStoreOnce(context.Background())
	// Degraded, not broken: /ready stays 200 unless READY_REQUIRE=vector.
	if st := r.f.Status(); st.Ready || !st.Degraded || !strings.Contains(st.Detail, "unavailable") {
		t.Fatalf("status while down %+v", st)
	}
	fake.SetDown(false)
	r.f.probeStoreOnce(context.Background())
	waitReady(t, r.f)
	r.do(t, "POST", "/c/search", `{"vector":[1]}`).want(t, 200, "[]")
}

func phaseHas(l *phase.Log, s string) bool {
	for _, ev := range l.Last(phase.Capacity) {
		if strings.Contains(ev.Msg, s) {
			return true
		}
	}
	return false
}

func TestRedisServicesFallbackAndRecovery(t *testing.T) {
	rs := testredis.Start(t)
	env := map[string]string{"REDIS_URL": rs.URL, "REDIS_RETRY_INTERVAL": "50ms", "REDIS_TIMEOUT": "500ms", "RATE_LIMIT_RPS": "0.01", "RATE_LIMIT_BURST": "3"}
	a, b := newRig(t, env), newRig(t, env)
	waitReady(t, a.f)
	if !strings.Contains(a.f.Status().Detail, "shared cache and rate limits") {
		t.Fatalf("detail %s", a.f.Status().Detail)
	}
	la, ok1 := a.svc.Limiter.Get()
	lb, ok2 := b.svc.Limiter.Get()
	ca, ok3 := a.svc.Cache.Get()
	cb, _ := b.svc.Cache.Get()
	if !ok1 || !ok2 || !ok3 {
		t.Fatal("limiter or cache not provided with REDIS_URL")
	}
	ctx := context.Background()
	allowed := 0
	for i := 0; i < 6; i++ {
		l := la
		if i%2 == 1 {
			l = lb
		}
		d, err := l.Allow(ctx, "user:1")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 3 {
		t.Fatalf("two instances allowed %d, want the shared burst of 3", allowed)
	}
	if err := ca.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, hit, err := cb.Get(ctx, "k"); !hit || err != nil || string(v) != "v" {
		t.Fatalf("cache across instances: %q %v %v", v, hit, err)
	}

	rs.Kill()
	if _, err := la.Allow(ctx, "user:1"); err == nil {
		t.Fatal("limiter answered with Redis dead")
	}
	if _, _, err := ca.Get(ctx, "k"); err == nil {
		t.Fatal("cache answered with Redis dead")
	}
	waitfor.True(t, 10*time.Second, "the fallback with Redis dead", func() bool {
		return !a.f.Status().Ready && phaseHas(a.phase, "REDIS: unreachable")
	})
	if st := a.f.Status(); !st.Degraded || !strings.Contains(st.Detail, "cache bypassed, local rate limits") {
		t.Fatalf("status with Redis dead: %+v (want degraded: the group serves with local limits)", st)
	}
	rs.Restart()
	waitReady(t, a.f)
	if st := a.f.Status(); st.Degraded {
		t.Fatalf("still degraded after Redis came back: %+v", st)
	}
	waitfor.True(t, 10*time.Second, "the recovery phase event", func() bool { return phaseHas(a.phase, "REDIS: reachable again") })
	if d, err := la.Allow(ctx, "user:1"); err != nil || !d.Allowed {
		t.Fatalf("after recovery (fresh Redis): %+v %v", d, err)
	}
}

func TestNoRedisNoSharedServices(t *testing.T) {
	r := newRig(t, nil)
	if _, ok := r.svc.Limiter.Get(); ok {
		t.Fatal("limiter provided without REDIS_URL")
	}
	if _, ok := r.svc.Cache.Get(); ok {
		t.Fatal("cache provided without REDIS_URL")
	}
	st := r.f.Status()
	if !st.Ready || !strings.Contains(st.Detail, "REDIS_URL not set") {
		t.Fatalf("%+v", st)
	}
}

// TestPayloadAndByteBounds: one point's payload is bounded in JSON bytes
// (413) and depth (400) on every backend; the embedded index also bounds
// the bytes it holds (507), reported in the capability info. A rejected
// request changes nothing.
func TestPayloadAndByteBounds(t *testing.T) {
	for name, env := range backends(t) {
		t.Run(name, func(t *testing.T) {
			env = maps.Clone(env)
			env["VECTOR_MAX_PAYLOAD_BYTES"], env["VECTOR_MAX_PAYLOAD_DEPTH"] = "1000", "3"
			if name != "qdrant" {
				env["VECTOR_MEMORY_MAX_BYTES"] = "3000"
			}
			r := newRig(t, env)
			waitReady(t, r.f)
			r.do(t, "PUT", "/p", `{"size":2,"distance":"dot"}`).want(t, 201, "created")
			// the case: many empty objects, cheap as JSON, costly as Go maps
			empties := `{"e":[` + strings.Repeat(`{},`, 400) + `{}]}`
			r.do(t, "POST", "/p/points", `[{"id":1,"vector":[1,2]},{"id":2,"vector":[1,2],"payload":`+empties+`}]`).
				want(t, 413, "VECTOR_MAX_PAYLOAD_BYTES")
			r.do(t, "POST", "/p/points", `[{"id":1,"vector":[1,2],"payload":{"a":{"b":[[1]]}}}]`).want(t, 400, "VECTOR_MAX_PAYLOAD_DEPTH")
			r.do(t, "GET", "/p", "").want(t, 200, `"points":0`)
			r.do(t, "POST", "/p/points", `[{"id":1,"vector":[1,2],"payload":{"a":{"b":[1]}}}]`).want(t, 200, "upserted")
			if name == "qdrant" { // Qdrant does not say whether the point was there
				r.do(t, "DELETE", "/p/points/1", "").want(t, 200, `"deleted":null`)
				r.do(t, "GET", "/p/points/1", "").want(t, 404, "point_not_found")
				return
			}
			big := `{"s":"` + strings.Repeat("x", 900) + `"}`
			r.do(t, "POST", "/p/points", `[{"id":2,"vector":[1,2],"payload":`+big+`}]`).want(t, 200, "upserted")
			r.do(t, "POST", "/p/points", `[{"id":3,"vector":[1,2],"payload":`+big+`}]`).want(t, 507, "VECTOR_MEMORY_MAX_BYTES")
			r.do(t, "GET", "/p", "").want(t, 200, `"points":2`)
			info := r.f.Status().Info.(map[string]any)["store"].(map[string]any)
			held := info["held"].(memory.Stats)
			if held.Points != 2 || held.Bytes < 900 || held.Bytes > 3000 || info["bounds"].(map[string]any)["max_bytes"] != int64(3000) {
				t.Fatalf("store info %+v", info)
			}
			// deleting a point frees its bytes
			r.do(t, "DELETE", "/p/points/2", "").want(t, 200, `"deleted":1`)
			r.do(t, "DELETE", "/p/points/2", "").want(t, 200, `"deleted":0`)
			r.do(t, "GET", "/p/points/2", "").want(t, 404, "point_not_found")
			r.do(t, "POST", "/p/points", `[{"id":3,"vector":[1,2],"payload":`+big+`}]`).want(t, 200, "upserted")
		})
	}
}

// TestBackupRoute: admins only; the durable index writes a snapshot file,
// other backends answer 409 saying why.
func TestBackupRoute(t *testing.T) {
	for name, env := range backends(t) {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, env)
			waitReady(t, r.f)
			post := func(admin string) answer {
				req, _ := http.NewRequest("POST", r.base+"/api/v2/vector/backup", nil)
				req.Header.Set("X-Test-Admin", admin)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return answer{resp.StatusCode, b}
			}
			post("no").want(t, 403, "admin only")
			if name != "embedded" {
				post("yes").want(t, 409, "backup_unavailable")
				return
			}
			r.do(t, "PUT", "/b", `{"size":1,"distance":"dot"}`).want(t, 201, "created")
			r.do(t, "POST", "/b/points", `[{"id":1,"vector":[1]}]`).want(t, 200, "upserted")
			a := post("yes")
			a.want(t, 200, `"points":1`)
			var info struct{ Path string }
			json.Unmarshal(a.body, &info)
			if st, err := os.Stat(info.Path); err != nil || st.Size() == 0 {
				t.Fatalf("backup file %s: %v", info.Path, err)
			}
		})
	}
}
