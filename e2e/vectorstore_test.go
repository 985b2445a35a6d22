package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The durable embedded vector index, tested on real prodapi binaries.

const crashDim = 16

// waitVectorReady waits (bounded) until the vector group reports ready.
func waitVectorReady(t *testing.T, p *proc) {
	t.Helper()
	poll(t, 20*time.Second, "vector group ready", func() (bool, string) {
		_, ready, detail := groupState(t, p, "vector")
		return ready, detail
	})
}

// pointState is what a client knows of one point: its vector and payload,
// or that it was deleted.
type pointState struct {
	vec     []float32
	payload map[string]any
	deleted bool
}

// writer streams changes into one collection over its own id range and
// keeps what the service acknowledged, and the one change in flight.
type writer struct {
	base    string
	r       *rand.Rand
	lo, hi  uint64
	acked   map[uint64]pointState
	pending map[uint64]pointState // the request in flight when the stream ended
	n       int
}

func (w *writer) send(ctx context.Context, method, path string, body any) (int, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, method, w.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// run sends batches of upserts (new ids and replacements) and single
// deletes until the service stops answering.
func (w *writer) run(ctx context.Context) error {
	for ctx.Err() == nil {
		change := map[uint64]pointState{}
		var code int
		var err error
		if w.r.IntN(8) == 0 && len(w.acked) > 0 {
			id := w.lo + uint64(w.r.IntN(int(w.hi-w.lo)))
			change[id] = pointState{deleted: true}
			w.pending = change
			code, err = w.send(ctx, "DELETE", fmt.Sprintf("/api/v2/vector/collections/crash/points/%d", id), nil)
		} else {
			var pts []map[string]any
			for i := 0; i < 10; i++ {
				id := w.lo + uint64(w.r.IntN(int(w.hi-w.lo)))
				v := make([]float32, crashDim)
				for j := range v {
					v[j] = float32(w.r.NormFloat64())
				}
				payload := map[string]any{"writer": float64(w.lo), "seq": float64(w.n), "note": strings.Repeat("x", w.r.IntN(40))}
				change[id] = pointState{vec: v, payload: payload} // the last write of an id in a batch wins
				pts = append(pts, map[string]any{"id": id, "vector": v, "payload": payload})
			}
			w.pending = change
			code, err = w.send(ctx, "POST", "/api/v2/vector/collections/crash/points", map[string]any{"points": pts})
		}
		if err != nil {
			return nil // the service went away: the change stays pending
		}
		if code != 200 {
			return fmt.Errorf("change %d answered %d", w.n, code)
		}
		for id, st := range change {
			w.acked[id] = st
		}
		w.pending = nil
		w.n++
	}
	return nil
}

// colWriter creates and drops collections tmp-0, tmp-1, ... (a create, then
// every other time a drop) and keeps which exist as acknowledged.
type colWriter struct {
	base    string
	acked   map[int]bool // collection k exists
	pending map[int]bool // the change in flight when the stream ended
	next    int
}

func (cw *colWriter) run(ctx context.Context) error {
	w := &writer{base: cw.base}
	for ctx.Err() == nil {
		k, exists := cw.next/2, cw.next%2 == 1
		method, body, want := "PUT", map[string]any{"size": 2, "distance": "dot"}, 201
		if exists { // drop what the previous step created
			method, body, want = "DELETE", nil, 200
		}
		cw.pending = map[int]bool{k: !exists}
		code, err := w.send(ctx, method, fmt.Sprintf("/api/v2/vector/collections/tmp-%d", k), body)
		if err != nil {
			return nil
		}
		if code != want {
			return fmt.Errorf("%s tmp-%d answered %d", method, k, code)
		}
		cw.acked[k] = !exists
		cw.pending = nil
		cw.next++
	}
	return nil
}

// verify checks that each collection is as acknowledged (or as the change
// in flight left it), then takes what it found as acknowledged.
func (cw *colWriter) verify(t *testing.T, p *proc) {
	t.Helper()
	for k := 0; k <= cw.next/2; k++ {
		acked, wasAcked := cw.acked[k]
		pend, wasPending := cw.pending[k]
		code := p.get(t, "GET", fmt.Sprintf("/api/v2/vector/collections/tmp-%d", k), nil)
		exists := code == 200
		if code != 200 && code != 404 {
			t.Fatalf("collection tmp-%d: %d", k, code)
		}
		if !(wasAcked && exists == acked) && !(wasPending && exists == pend) && !(!wasAcked && !exists) {
			t.Fatalf("collection tmp-%d exists=%t after restart; acknowledged %t (%t), in flight %t (%t)", k, exists, acked, wasAcked, pend, wasPending)
		}
		if wasPending {
			cw.acked[k] = exists
			if exists == pend {
				cw.next++ // the change in flight was applied: go on from the next step
			}
		}
	}
	cw.pending = nil
}

type searchHit struct {
	ID      uint64         `json:"id"`
	Score   float32        `json:"score"`
	Payload map[string]any `json:"payload"`
}

// verify reads every point the writers touched back from the service: each
// must be in its acknowledged state, or, for the change that was in flight,
// in that state instead. It returns the state found (for the search check).
func verify(t *testing.T, p *proc, ws []*writer) map[uint64]pointState {
	t.Helper()
	found := map[uint64]pointState{}
	for _, w := range ws {
		asPending, asAcked := 0, 0 // points of the change in flight: all or none applied
		for id := w.lo; id < w.hi; id++ {
			acked, wasAcked := w.acked[id]
			pend, wasPending := w.pending[id]
			if !wasAcked && !wasPending {
				continue
			}
			var got struct {
				Vector  []float32      `json:"vector"`
				Payload map[string]any `json:"payload"`
			}
			code := p.get(t, "GET", fmt.Sprintf("/api/v2/vector/collections/crash/points/%d", id), &got)
			st := pointState{vec: got.Vector, payload: got.Payload, deleted: code == 404}
			if code != 200 && code != 404 {
				t.Fatalf("point %d: %d", id, code)
			}
			same := func(want pointState) bool {
				if want.deleted || st.deleted {
					return want.deleted == st.deleted
				}
				return slices.Equal(want.vec, st.vec) && fmt.Sprint(want.payload) == fmt.Sprint(st.payload)
			}
			if wasPending && same(pend) {
				asPending++
			} else if wasPending {
				asAcked++
			}
			switch {
			case wasAcked && same(acked):
			case wasPending && same(pend):
			case !wasAcked && st.deleted: // never acknowledged, not applied
			default:
				t.Fatalf("point %d after restart: %+v; acknowledged %+v (%t), in flight %+v (%t)", id, st, acked, wasAcked, pend, wasPending)
			}
			if !st.deleted {
				found[id] = st
			}
		}
		if asPending > 0 && asAcked > 0 {
			t.Fatalf("the change in flight was half applied: %d of its points in the new state, %d in the old", asPending, asAcked)
		}
	}
	return found
}

// checkSearch compares the service's top 10 with an exact cosine search
// over the state read back.
func checkSearch(t *testing.T, p *proc, state map[uint64]pointState, r *rand.Rand, hnsw bool) {
	t.Helper()
	if hnsw {
		// the graph answers for every point: its own vector finds it first
		for id, st := range state {
			body, _ := json.Marshal(map[string]any{"vector": st.vec, "limit": 1})
			code, out := p.sendJSON(t, "POST", "/api/v2/vector/collections/crash/search", string(body))
			var hits []searchHit
			if code != 200 || json.Unmarshal([]byte(out), &hits) != nil || len(hits) != 1 || hits[0].ID != id {
				t.Fatalf("the graph does not find point %d at its vector: %d %s", id, code, out)
			}
		}
	}
	for qi := 0; qi < 5; qi++ {
		q := make([]float32, crashDim)
		for j := range q {
			q[j] = float32(r.NormFloat64())
		}
		type sc struct {
			id uint64
			s  float64
		}
		var all []sc
		for id, st := range state {
			var d, nq, nv float64
			for j := range q {
				d += float64(q[j]) * float64(st.vec[j])
				nq += float64(q[j]) * float64(q[j])
				nv += float64(st.vec[j]) * float64(st.vec[j])
			}
			all = append(all, sc{id, d / math.Sqrt(nq) / math.Sqrt(nv)})
		}
		slices.SortFunc(all, func(a, b sc) int {
			if a.s != b.s {
				if a.s > b.s {
					return -1
				}
				return 1
			}
			return int(a.id) - int(b.id)
		})
		// exact: the graph's answer may differ from the exact top 10
		body, _ := json.Marshal(map[string]any{"vector": q, "limit": 10, "exact": hnsw})
		code, out := p.sendJSON(t, "POST", "/api/v2/vector/collections/crash/search", string(body))
		var hits []searchHit
		if code != 200 || json.Unmarshal([]byte(out), &hits) != nil {
			t.Fatalf("search: %d %s", code, out)
		}
		for i := range min(10, len(all)) {
			if i >= len(hits) || hits[i].ID != all[i].id || math.Abs(float64(hits[i].Score)-all[i].s) > 1e-5 {
				t.Fatalf("search hit %d: %+v, want id %d score %v", i, hits, all[i].id, all[i].s)
			}
		}
	}
}

// TestVectorCrashSafety kills a prodapi service with SIGKILL at random
// moments during a stream of writes (upserts, point deletes, collection
// creates and drops; once it stops it gracefully instead), and
// checks after each restart that every acknowledged write is there, that
// no batch is half applied, and that searches answer over exactly that
// state.
func TestVectorCrashSafety(t *testing.T) { crashSafety(t, "") }

// TestVectorCrashSafetyHNSW is TestVectorCrashSafety with the collection
// under an HNSW graph: after each restart the graph (saved at a graceful
// stop or compaction and replayed into, or rebuilt) also finds every
// acknowledged point at its own vector.
func TestVectorCrashSafetyHNSW(t *testing.T) {
	crashSafety(t, `,"index":{"type":"hnsw","m":8,"ef_construction":64}`)
}

func crashSafety(t *testing.T, index string) {
	bin := buildVariant(t, "prodapi")
	dir := t.TempDir()
	env := []string{"VECTOR_DATA_DIR=" + dir, "RATE_LIMIT_RPS=0"}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 16))
	ws := []*writer{}
	for i := 0; i < 3; i++ {
		ws = append(ws, &writer{r: rand.New(rand.NewPCG(uint64(i), r.Uint64())), lo: uint64(i) * 1000, hi: uint64(i)*1000 + 150, acked: map[uint64]pointState{}})
	}
	cw := &colWriter{acked: map[int]bool{}}
	const rounds = 5
	for round := 0; round <= rounds; round++ {
		p := startBinary(t, bin, env...)
		waitVectorReady(t, p)
		if round == 0 {
			if code, out := p.sendJSON(t, "PUT", "/api/v2/vector/collections/crash", `{"size":16,"distance":"cosine"`+index+`}`); code != 201 {
				t.Fatalf("create: %d %s", code, out)
			}
		} else {
			state := verify(t, p, ws)
			cw.verify(t, p)
			checkSearch(t, p, state, r, index != "")
			var caps capsReport
			p.get(t, "GET", "/ml-capabilities", &caps)
			t.Logf("round %d: %d points verified; %s", round, len(state), caps.Groups["vector"].Detail)
			for _, w := range ws { // what was found is now what is acknowledged
				for id := range w.pending {
					if st, ok := state[id]; ok {
						w.acked[id] = st
					} else {
						w.acked[id] = pointState{deleted: true}
					}
				}
				w.pending = nil
			}
		}
		if round == rounds {
			p.Stop(t)
			break
		}
		base := p.Base
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		errs := make(chan error, len(ws)+1)
		cw.base = base
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- cw.run(ctx)
		}()
		for _, w := range ws {
			w.base = base
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- w.run(ctx)
			}()
		}
		// let the stream run for a random while, then end the process
		time.Sleep(time.Duration(50+r.IntN(400)) * time.Millisecond)
		if round == 2 {
			p.Stop(t) // a graceful stop keeps everything too
		} else {
			p.kill()
		}
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		total := 0
		for _, w := range ws {
			total += w.n
		}
		t.Logf("round %d: %d changes to points and %d to collections acknowledged so far", round, total, cw.next)
	}
}

// TestVectorDataDirRefusals: a second process on a held directory, and a
// directory that cannot be made, end start-up with exit 2 and a clear error.
func TestVectorDataDirRefusals(t *testing.T) {
	bin := buildVariant(t, "prodapi")
	dir := t.TempDir()
	first := startBinary(t, bin, "VECTOR_DATA_DIR="+dir)
	waitVectorReady(t, first)
	file := filepath.Join(t.TempDir(), "plain-file")
	os.WriteFile(file, nil, 0o640)
	for _, tc := range []struct{ dir, want string }{
		{dir, "is in use: another process (pid " + fmt.Sprint(first.cmd.Process.Pid) + ") holds the lock " + filepath.Join(dir, "LOCK")},
		{filepath.Join(file, "vector"), "cannot be created"},
	} {
		cmd := exec.Command(bin, "serve")
		cmd.Env = []string{fmt.Sprintf("ADDR=127.0.0.1:%d", freePort(t)), "VECTOR_DATA_DIR=" + tc.dir}
		cmd.WaitDelay = 5 * time.Second
		timer := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
		out, err := cmd.CombinedOutput()
		timer.Stop()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
			t.Fatalf("VECTOR_DATA_DIR=%s: want exit 2 saying %q, got %v\n%s", tc.dir, tc.want, err, out)
		}
	}
	// the first process was not disturbed
	if code, out := first.sendJSON(t, "PUT", "/api/v2/vector/collections/still", `{"size":2,"distance":"dot"}`); code != 201 {
		t.Fatalf("first process: %d %s", code, out)
	}
}

// TestVectorCorruptTailAndBackup: a damaged log tail is cut back with a
// phase warning (the service starts and keeps the complete writes); a
// backup taken through the admin route restores by starting on it.
func TestVectorCorruptTailAndBackup(t *testing.T) {
	bin := buildVariant(t, "prodapi")
	dir := t.TempDir()
	p := startBinary(t, bin, "VECTOR_DATA_DIR="+dir)
	waitVectorReady(t, p)
	p.sendJSON(t, "PUT", "/api/v2/vector/collections/c", `{"size":2,"distance":"dot"}`)
	for i := 0; i < 5; i++ {
		if code, out := p.sendJSON(t, "POST", "/api/v2/vector/collections/c/points", fmt.Sprintf(`[{"id":%d,"vector":[1,%d],"payload":{"i":%d}}]`, i, i, i)); code != 200 {
			t.Fatal(code, out)
		}
	}
	var backup struct {
		Path   string `json:"path"`
		Points int    `json:"points"`
	}
	if code, out := p.sendJSON(t, "POST", "/api/v2/vector/backup", ``); code != 200 || json.Unmarshal([]byte(out), &backup) != nil || backup.Points != 5 {
		t.Fatalf("backup: %d %s", code, out)
	}
	p.kill()
	logs, _ := filepath.Glob(filepath.Join(dir, "wal-*"))
	if len(logs) != 1 {
		t.Fatalf("log files %v", logs)
	}
	f, _ := os.OpenFile(logs[0], os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{0x30, 0, 0, 0, 0xff, 0xff}) // a record header torn by a crash
	f.Close()

	p = startBinary(t, bin, "VECTOR_DATA_DIR="+dir)
	waitVectorReady(t, p)
	var hb struct {
		Events []struct{ Msg string } `json:"events"`
	}
	p.get(t, "GET", "/startup/heartbeat?n=200", &hb)
	warned := false
	for _, e := range hb.Events {
		warned = warned || strings.Contains(e.Msg, "recovered log")
	}
	if !warned {
		t.Fatalf("no phase warning about the recovered tail: %+v", hb.Events)
	}
	var info struct {
		Points uint64 `json:"points"`
	}
	if p.get(t, "GET", "/api/v2/vector/collections/c", &info); info.Points != 5 {
		t.Fatalf("after recovery: %d points", info.Points)
	}
	var caps map[string]any
	p.get(t, "GET", "/ml-capabilities", &caps)
	st := caps["groups"].(map[string]any)["vector"].(map[string]any)["info"].(map[string]any)["store"].(map[string]any)
	if st["data_dir"] != dir || st["durable"] != true || st["loaded"].(map[string]any)["points"].(float64) != 5 ||
		st["held"].(map[string]any)["bytes"].(float64) <= 0 || st["bounds"].(map[string]any)["max_bytes"].(float64) <= 0 {
		t.Fatalf("capabilities store info: %v", st)
	}
	p.Stop(t)

	// restore: a fresh directory holding the backup as its snapshot
	restored := t.TempDir()
	b, err := os.ReadFile(backup.Path)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(restored, "snapshot"), b, 0o640)
	p = startBinary(t, bin, "VECTOR_DATA_DIR="+restored)
	waitVectorReady(t, p)
	var pt struct {
		Payload map[string]any `json:"payload"`
	}
	if code := p.get(t, "GET", "/api/v2/vector/collections/c/points/4", &pt); code != 200 || pt.Payload["i"] != float64(4) {
		t.Fatalf("restored point: %d %v", code, pt)
	}
}
