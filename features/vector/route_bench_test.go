package vector

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/grouptest"
	"github.com/advanced-backend/advanced-backend/internal/phase"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkUpsertRoute: the points route over loopback HTTP, one client,
// batches of 100 points of dimension 384 with a small payload, bodies
// encoded before the clock starts; vectors as JSON numbers and as base64
// float32s. points/s is the throughput; dir ":memory:" leaves fsync out,
// a data directory keeps it in.
func BenchmarkUpsertRoute(b *testing.B) {
	for _, durable := range []bool{false, true} {
		for _, form := range []string{"json", "base64"} {
			b.Run(fmt.Sprintf("durable=%v/%s", durable, form), func(b *testing.B) {
				dir := ":memory:"
				if durable {
					dir = b.TempDir()
				}
				env := map[string]string{"VECTOR_DATA_DIR": dir, "VECTOR_MEMORY_MAX_POINTS": "10000000", "VECTOR_MEMORY_MAX_BYTES": "68719476736"}
				h, _ := grouptest.Host(grouptest.Config(b, "vector", Settings(), env), "vector")
				f := &feature{}
				h.Phase, h.Metrics = phase.New(nil), prometheus.NewRegistry()
				base := grouptest.Mount(b, f, h) + "/api/v2/vector/collections/c"
				grouptest.Start(b, f)
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
				post("PUT", base, `{"size":384,"distance":"cosine"}`)
				r := rand.New(rand.NewPCG(9, 9))
				bodies := make([]string, 50)
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
