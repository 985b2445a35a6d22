package vector

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/features/vector/store"

	"github.com/advanced-backend/advanced-backend/internal/phase"
	"github.com/advanced-backend/advanced-backend/internal/testkit/grouptest"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkUpsertRoute: the points route over loopback HTTP, one client,
// batches of 100 points of dimension 384 with a small payload, bodies
// encoded before the clock starts; vectors as JSON numbers and as base64
// float32s; into a flat and an hnsw collection (m 16, ef_construction
// 200: its points are linked in the background, up to
// VECTOR_HNSW_MAX_UNLINKED, 20,000 by default, acknowledged unlinked).
// points/s is the throughput; dir ":memory:" leaves fsync out, a data
// directory keeps it in. The ids repeat after 200 batches (20,000 points):
// later batches replace points.
func BenchmarkUpsertRoute(b *testing.B) {
	for _, index := range []string{"flat", "hnsw"} {
		for _, durable := range []bool{false, true} {
			for _, form := range []string{"json", "base64"} {
				b.Run(fmt.Sprintf("%s/durable=%v/%s", index, durable, form), func(b *testing.B) {
					dir := ":memory:"
					if durable {
						dir = b.TempDir()
					}
					_, base := benchFeature(b, dir)
					post := func(method, url, body string) {
						req, _ := http.NewRequest(method, url, strings.NewReader(body))
						req.Header.Set("Content-Type", "application/json")
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						out, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if resp.StatusCode/100 != 2 {
							b.Fatalf("%s: %d %s", url, resp.StatusCode, out)
						}
					}
					spec := ""
					if index == "hnsw" {
						spec = `,"index":{"type":"hnsw","m":16,"ef_construction":200}`
					}
					post("PUT", base, `{"size":384,"distance":"cosine"`+spec+`}`)
					r := rand.New(rand.NewPCG(9, 9))
					bodies := make([]string, 200)
					for i := range bodies {
						var sb bytes.Buffer
						sb.WriteByte('[')
						for j := 0; j < 100; j++ {
							v := make([]float32, 384)
							for k := range v {
								v[k] = float32(r.NormFloat64())
							}
							if j > 0 {
								sb.WriteByte(',')
							}
							vec := fmt.Sprint(v)
							vec = "[" + strings.ReplaceAll(vec[1:len(vec)-1], " ", ",") + "]"
							if form == "base64" {
								vec = `"` + b64(v) + `"`
							}
							fmt.Fprintf(&sb, `{"id":%d,"vector":%s,"payload":{"n":%d,"tag":"t%d"}}`, i*100+j, vec, j, j%3)
						}
						sb.WriteByte(']')
						bodies[i] = sb.String()
					}
					b.SetBytes(int64(len(bodies[0])))
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						post("POST", base+"/points", bodies[i%len(bodies)])
					}
					b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "points/s")
				})
			}
		}
	}
}

// BenchmarkSearchRoute: the search route over loopback HTTP, one client,
// top 10 with the query as base64, against a collection loaded through the
// store (not timed): 100,000 x 384, flat and hnsw (m 16, ef_construction
// 200, default ef, every point linked), clustered: 200 centres, N(0, 0.3)
// around them. p50-ms is the client's median round trip.
func BenchmarkSearchRoute(b *testing.B) {
	for _, tc := range []struct {
		index string
		n     int
	}{{"flat", 100_000}, {"hnsw", 100_000}} {
		b.Run(fmt.Sprintf("%s/n=%d", tc.index, tc.n), func(b *testing.B) {
			f, base := benchFeature(b, ":memory:")
			st := f.currentStore().(store.Indexed)
			if _, err := st.CreateIndexed(context.Background(), "c", 384, store.Cosine, store.IndexSpec{Type: tc.index}); err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(4, 4))
			centres := make([][]float32, 200)
			vec := func(c []float32) []float32 {
				v := make([]float32, 384)
				for k := range v {
					v[k] = float32(r.NormFloat64())
					if c != nil {
						v[k] = c[k] + 0.3*v[k]
					}
				}
				return v
			}
			for i := range centres {
				centres[i] = vec(nil)
			}
			for i := 0; i < tc.n; i += 1000 {
				pts := make([]store.Point, 1000)
				for j := range pts {
					pts[j] = store.Point{ID: store.ID{Num: uint64(i + j)}, Vector: vec(centres[r.IntN(len(centres))])}
				}
				if err := f.currentStore().Upsert(context.Background(), "c", pts); err != nil {
					b.Fatal(err)
				}
			}
			// the graph whole, as it is once the linker has caught up (while
			// up to VECTOR_HNSW_MAX_UNLINKED points wait, each search also
			// scans them exactly)
			if w, ok := f.currentStore().(interface {
				WaitLinked(context.Context, string) error
			}); ok {
				if err := w.WaitLinked(context.Background(), "c"); err != nil {
					b.Fatal(err)
				}
			}
			bodies := make([]string, 64)
			for i := range bodies {
				bodies[i] = `{"limit":10,"vector":"` + b64(vec(centres[r.IntN(len(centres))])) + `"}`
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				req, _ := http.NewRequest("POST", base+"/search", strings.NewReader(bodies[i%len(bodies)]))
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("search: %d", resp.StatusCode)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// benchFeature starts the vector group on a loopback server with its data
// in dir (":memory:" for none) and bounds that hold a benchmark's points,
// and returns it with the URL of its collection "c".
func benchFeature(b *testing.B, dir string) (*feature, string) {
	env := map[string]string{"VECTOR_DATA_DIR": dir, "VECTOR_MEMORY_MAX_POINTS": "10000000", "VECTOR_MEMORY_MAX_BYTES": "68719476736"}
	cfg := grouptest.Config(b, "vector", Settings(), env)
	h, _ := grouptest.Host(cfg, "vector")
	f := newFeature(cfg.Group("vector"))
	h.Phase, h.Metrics = phase.New(nil), grouptest.Metrics(prometheus.NewRegistry())
	base := grouptest.Mount(b, f, h) + "/api/v2/vector/collections/c"
	grouptest.Start(b, f)
	return f, base
}
