package e2e

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/features/vector/store/durable"
	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

var restartN = flag.Int("restart.n", 100_000, "BenchmarkVectorRestart: points in the data directory")

// BenchmarkVectorRestart: the time from starting the prodapi binary to
// its first answered search, on a data directory of 100,000 clustered
// points of dimension 384 (1,000 centres with N(0,1) components, points at
// N(0, 0.3) around them, fixed seed), one collection, flat or hnsw (m 16,
// ef_construction 200). The directory is written in this process through
// the durable store, untimed, and compacted: a snapshot, and for hnsw the
// graph file its close saves, as a graceful stop does. Each iteration
// starts the binary, posts a search (top 10, the query as base64) until
// one answers 200, and stops the binary with SIGTERM (which saves the
// graph again). "killed" is hnsw after a crash: before each iteration the
// binary takes 1,000 more points over HTTP and is killed with SIGKILL, so
// the start replays them into the saved graph.
//
//	go test -run '^$' -bench VectorRestart -benchtime 3x -timeout 0 ./e2e
//
// first-search-ms is the median over the iterations, max-ms the slowest;
// the poll between attempts grows to 50 ms (internal/waitfor), which bounds
// the resolution.
func BenchmarkVectorRestart(b *testing.B) {
	n, dim := *restartN, 384
	bin := buildVariant(b, "prodapi")
	r := rand.New(rand.NewPCG(2026, 23))
	centres := make([][]float32, n/100)
	for i := range centres {
		centres[i] = normalVec(r, nil, dim)
	}
	around := func() []float32 { return normalVec(r, centres[r.IntN(len(centres))], dim) }
	// the directories are written once (a benchmark function runs more
	// than once); hnsw-killed starts from a copy of hnsw's
	hnsw := store.IndexSpec{Type: store.IndexHNSW, M: 16, EfConstruction: 200}
	dirs := map[string]string{"flat": b.TempDir(), "hnsw": b.TempDir(), "hnsw-killed": b.TempDir()}
	writeDir(b, dirs["flat"], store.IndexSpec{Type: store.IndexFlat}, n, around)
	writeDir(b, dirs["hnsw"], hnsw, n, around)
	copyDir(b, dirs["hnsw"], dirs["hnsw-killed"])
	query := `{"limit":10,"vector":"` + b64Vec(around()) + `"}`
	next := n
	for _, tc := range []struct {
		name   string
		killed bool
	}{{"flat", false}, {"hnsw", false}, {"hnsw-killed", true}} {
		b.Run(fmt.Sprintf("%s/n=%d", tc.name, n), func(b *testing.B) {
			dir := dirs[tc.name]
			env := []string{"VECTOR_DATA_DIR=" + dir, "VECTOR_MEMORY_MAX_POINTS=1000000", "VECTOR_MEMORY_MAX_BYTES=17179869184", "RATE_LIMIT_RPS=0"}
			firstSearch := func(p *proc) {
				if _, err := waitfor.Poll(5*time.Minute, func() (struct{}, bool) {
					code, _ := post(b, p.Base+"/api/v2/vector/collections/c/search", query)
					return struct{}{}, code == 200
				}); err != nil {
					b.Fatalf("no search answered: %v\n%s", err, p.Logs())
				}
			}
			var took []time.Duration
			var detail string
			b.ResetTimer()
			for range b.N {
				if tc.killed {
					b.StopTimer()
					p := startBinary(b, bin, env...)
					firstSearch(p)
					for i := 0; i < 10; i++ {
						var sb strings.Builder
						sb.WriteByte('[')
						for j := range 100 {
							if j > 0 {
								sb.WriteByte(',')
							}
							fmt.Fprintf(&sb, `{"id":%d,"vector":"%s"}`, next, b64Vec(around()))
							next++
						}
						sb.WriteByte(']')
						if code, out := post(b, p.Base+"/api/v2/vector/collections/c/points", sb.String()); code != 200 {
							b.Fatalf("upsert: %d %s", code, out)
						}
					}
					p.kill()
					b.StartTimer()
				}
				start := time.Now()
				p := startBinary(b, bin, env...)
				firstSearch(p)
				took = append(took, time.Since(start))
				b.StopTimer()
				var caps capsReport
				p.get(b, "GET", "/ml-capabilities", &caps)
				info, _ := json.Marshal(caps.Groups["vector"].Info)
				detail = string(info)
				if _, loaded, ok := strings.Cut(detail, `"loaded":`); ok {
					detail, _, _ = strings.Cut(loaded, "}")
				}
				if err := p.Stop(b); err != nil {
					b.Fatalf("stop: %v", err)
				}
				b.StartTimer()
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "first-search-ms")
			b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
			b.Logf("%s: %v; last start: %s", tc.name, took, detail)
		})
	}
}

// writeDir makes dir a data directory holding collection "c" with n
// points from vec, through the durable store, compacted.
func writeDir(b *testing.B, dir string, spec store.IndexSpec, n int, vec func() []float32) {
	b.Helper()
	ctx := context.Background()
	s, err := durable.Open(ctx, durable.Options{Dir: dir, Limits: memory.Limits{MaxPoints: 1 << 30, MaxCollections: 4, MaxBytes: 1 << 40, MaxPayloadBytes: 1 << 16, MaxPayloadDepth: 8}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.CreateIndexed(ctx, "c", len(vec()), store.Cosine, spec); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i += 1000 {
		pts := make([]store.Point, 1000)
		for j := range pts {
			pts[j] = store.Point{ID: store.ID{Num: uint64(i + j)}, Vector: vec()}
		}
		if err := s.Upsert(ctx, "c", pts); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Compact(); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
}

// copyDir copies the files of data directory from into to (no
// subdirectories: a data directory without backups).
func copyDir(b *testing.B, from, to string) {
	b.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() || e.Name() == "LOCK" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(to, e.Name()), data, 0o640)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// normalVec is N(0,1) components, or around c at N(0, 0.3).
func normalVec(r *rand.Rand, c []float32, dim int) []float32 {
	v := make([]float32, dim)
	for k := range v {
		v[k] = float32(r.NormFloat64())
		if c != nil {
			v[k] = c[k] + 0.3*v[k]
		}
	}
	return v
}

// b64Vec is the base64 form of a vector (little-endian float32s).
func b64Vec(v []float32) string {
	raw := make([]byte, 0, 4*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// post sends a JSON body and returns the status (0 when nothing answered)
// and the body.
func post(b *testing.B, url, body string) (int, string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}
