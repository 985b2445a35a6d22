package vector

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func b64(v []float32) string {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// TestBase64Vectors: a vector given as base64 float32s is stored and
// searched exactly as the same vector in JSON numbers, on every backend;
// malformed forms are 400s that change nothing.
func TestBase64Vectors(t *testing.T) {
	for name, env := range backends(t) {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, env)
			waitReady(t, r.f)
			r.do(t, "PUT", "/b", `{"size":3,"distance":"cosine"}`).want(t, 201, "created")
			v := []float32{0.1, -2.5e-3, 3.4028235e38 / 1e30}
			r.do(t, "POST", "/b/points", `[{"id":1,"vector":"`+b64(v)+`"},{"id":2,"vector":[1,0,0]}]`).want(t, 200, `"upserted":2`)
			a := r.do(t, "GET", "/b/points/1", "")
			var p struct{ Vector []float32 }
			if json.Unmarshal(a.body, &p) != nil || fmt.Sprint(p.Vector) != fmt.Sprint(v) {
				t.Fatalf("stored %s, want %v", a.body, v)
			}
			h := hits(t, r.do(t, "POST", "/b/search", `{"vector":"`+b64(v)+`","limit":1}`))
			if len(h) != 1 || fmt.Sprint(h[0].ID) != "1" || math.Abs(h[0].Score-1) > 1e-6 {
				t.Fatalf("search by base64: %+v", h)
			}
			for _, bad := range []struct{ body, want string }{
				{`[{"id":3,"vector":"AAAA=="}]`, "base64"},
				{`[{"id":3,"vector":"AAAAAAA="}]`, "4 bytes each"},
				{`[{"id":3,"vector":"` + b64([]float32{1, 2}) + `"}]`, "dimensions"},
				{`[{"id":3,"vector":[1,"2",3]}]`, "want a number"},
				{`[{"id":3,"vector":[1,2,1e39]}]`, "float32"},
				{`[{"id":3,"vector":{"a":1}}]`, "array of numbers or a base64"},
				{`[{"id":3,"vector":"` + b64([]float32{1, float32(math.NaN()), 1}) + `"}]`, "finite"},
			} {
				a := r.do(t, "POST", "/b/points", bad.body)
				if a.status != 400 || !strings.Contains(string(a.body), bad.want) {
					t.Fatalf("%s: %d %s, want 400 with %q", bad.body, a.status, a.body, bad.want)
				}
			}
			r.do(t, "GET", "/b", "").want(t, 200, `"points":2`)
			// arrays with spaces, exponents and an empty array still parse
			r.do(t, "POST", "/b/points", `[{"id":4,"vector":[ 1e-3 , -2E+1,0.5 ]}]`).want(t, 200, `"upserted":1`)
			r.do(t, "GET", "/b/points/4", "").want(t, 200, `"vector":[0.001,-20,0.5]`)
			r.do(t, "POST", "/b/points", `[{"id":5,"vector":[]}]`).want(t, 400, "dimensions")
		})
	}
}

// TestHNSWOverHTTP: a collection created with an HNSW index reports it,
// answers searches with ef and exact, and refuses bad index options and
// bad ef; Qdrant refuses index options (it builds its own).
func TestHNSWOverHTTP(t *testing.T) {
	for name, env := range backends(t) {
		t.Run(name, func(t *testing.T) {
			env["VECTOR_MEMORY_MAX_POINTS"] = "5000"
			r := newRig(t, env)
			waitReady(t, r.f)
			if name == "qdrant" {
				r.do(t, "PUT", "/h", `{"size":8,"distance":"dot","index":{"type":"hnsw"}}`).want(t, 400, "builds its own")
				r.do(t, "PUT", "/h", `{"size":8,"distance":"dot"}`).want(t, 201, "created")
				r.do(t, "POST", "/h/search", `{"vector":[1,0,0,0,0,0,0,0],"ef":10}`).want(t, 400, "embedded store")
				return
			}
			r.do(t, "PUT", "/h", `{"size":8,"distance":"euclid","index":{"type":"hnsw","m":8,"ef_construction":40}}`).
				want(t, 201, `"index":{"type":"hnsw","m":8,"ef_construction":40}`)
			r.do(t, "PUT", "/h", `{"size":8,"distance":"euclid"}`).want(t, 409, "collection_conflict")
			r.do(t, "GET", "/h", "").want(t, 200, `"index":{"type":"hnsw","m":8,"ef_construction":40}`)
			r.do(t, "PUT", "/f", `{"size":8,"distance":"euclid"}`).want(t, 201, `"index":{"type":"flat"}`)
			for _, bad := range []string{`{"type":"ivf"}`, `{"type":"hnsw","m":1}`, `{"type":"hnsw","ef_construction":100000}`, `{"type":"flat","m":4}`} {
				r.do(t, "PUT", "/x", `{"size":8,"distance":"dot","index":`+bad+`}`).want(t, 400, "index")
			}
			rng := rand.New(rand.NewPCG(1, 2))
			var vecs [][]float32
			for b := 0; b < 6; b++ {
				var pts []string
				for i := 0; i < 100; i++ {
					v := make([]float32, 8)
					for j := range v {
						v[j] = float32(rng.NormFloat64())
					}
					vecs = append(vecs, v)
					pts = append(pts, fmt.Sprintf(`{"id":%d,"vector":"%s","payload":{"b":%d}}`, b*100+i, b64(v), b))
				}
				body := "[" + strings.Join(pts, ",") + "]"
				r.do(t, "POST", "/h/points", body).want(t, 200, `"upserted":100`)
				r.do(t, "POST", "/f/points", body).want(t, 200, `"upserted":100`)
			}
			// Qdrant's indexed_vectors_count: the points linked so far
			// (the rest wait for the background linker), absent for flat
			r.do(t, "GET", "/h", "").want(t, 200, `"indexed_vectors_count":`)
			if a := r.do(t, "GET", "/f", ""); strings.Contains(string(a.body), "indexed_vectors_count") {
				t.Fatalf("flat collection: %s", a.body)
			}
			for k := 0; k < 20; k++ {
				q := `{"vector":"` + b64(vecs[k*7]) + `","limit":5,"ef":50}`
				h := hits(t, r.do(t, "POST", "/h/search", q))
				if len(h) != 5 || fmt.Sprint(h[0].ID) != fmt.Sprint(k*7) {
					t.Fatalf("hnsw search for point %d: %+v", k*7, h)
				}
				// exact and filtered answers equal the flat collection's
				for _, extra := range []string{`"exact":true`, `"filter":{"b":3}`} {
					q := `{"vector":"` + b64(vecs[k]) + `","limit":5,` + extra + `}`
					got, want := r.do(t, "POST", "/h/search", q), r.do(t, "POST", "/f/search", q)
					if string(got.body) != string(want.body) {
						t.Fatalf("%s: %s\nflat: %s", extra, got.body, want.body)
					}
				}
			}
			r.do(t, "POST", "/h/search", `{"vector":[1,0,0,0,0,0,0,0],"ef":0}`).want(t, 400, "ef: want 1 to")
			r.do(t, "POST", "/h/search", `{"vector":[1,0,0,0,0,0,0,0],"ef":5000}`).want(t, 400, "ef: want 1 to")
		})
	}
}
