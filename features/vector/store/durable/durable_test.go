package durable

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
	"github.com/advanced-backend/advanced-backend/internal/waitfor"
)

var ctx = context.Background()

var limits = memory.Limits{MaxPoints: 1 << 20, MaxCollections: 100, MaxBytes: 1 << 34, MaxPayloadBytes: 1 << 20, MaxPayloadDepth: 16}

func open(t testing.TB, dir string, o ...func(*Options)) (*Store, []string) {
	t.Helper()
	var warns []string
	opts := Options{Dir: dir, Limits: limits, Warn: func(m string) { warns = append(warns, m) }}
	for _, f := range o {
		f(&opts)
	}
	s, err := Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, warns
}

func pts(r *rand.Rand, from, n, dim int) []store.Point {
	out := make([]store.Point, n)
	for i := range out {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		out[i] = store.Point{ID: store.ID{Num: uint64(from + i)}, Vector: v, Payload: map[string]any{"i": float64(from + i), "tag": fmt.Sprint("t", (from+i)%3)}}
	}
	return out
}

// state is everything a store answers, for comparing before and after a
// restart.
func state(t testing.TB, s store.Store, names []string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, n := range names {
		info, err := s.Info(ctx, n)
		if errors.Is(err, store.ErrCollectionNotFound) {
			out[n] = "absent"
			continue
		}
		out[n+"/info"] = info
		for id := uint64(0); id < 400; id++ {
			p, err := s.Get(ctx, n, store.ID{Num: id})
			if err == nil {
				out[fmt.Sprintf("%s/%d", n, id)] = p
			}
		}
		q := make([]float32, info.Size)
		q[0] = 1
		hits, err := s.Search(ctx, n, q, 20, nil)
		if err != nil {
			t.Fatal(err)
		}
		out[n+"/search"] = hits
	}
	return out
}

// TestReopenKeepsEverything: every kind of change survives a restart, with
// and without compaction into snapshots in between.
func TestReopenKeepsEverything(t *testing.T) {
	for _, compact := range []int64{0, 20 << 10} {
		t.Run(fmt.Sprint("compact=", compact), func(t *testing.T) {
			dir := t.TempDir()
			s, _ := open(t, dir, func(o *Options) { o.CompactBytes = compact })
			r := rand.New(rand.NewPCG(3, 4))
			names := []string{"a", "b", "c"}
			s.Create(ctx, "a", 8, store.Cosine)
			s.Create(ctx, "b", 3, store.Euclid)
			s.Create(ctx, "c", 2, store.Dot)
			for i := 0; i < 30; i++ {
				if err := s.Upsert(ctx, "a", pts(r, r.IntN(300), 10, 8)); err != nil {
					t.Fatal(err)
				}
				if compact > 0 && i%7 == 0 {
					if err := s.Compact(); err != nil {
						t.Fatal(err)
					}
				}
			}
			s.Upsert(ctx, "b", pts(r, 0, 50, 3))
			s.DeletePoints(ctx, "a", []store.ID{{Num: 1}, {Num: 2}, {Num: 50}})
			s.Delete(ctx, "c")
			s.Create(ctx, "c", 5, store.Dot) // same name, other size: order matters on replay
			s.Upsert(ctx, "c", pts(r, 7, 3, 5))
			uu := store.Point{ID: store.ID{UUID: "0b7f8e2c-5a55-4d8e-9a59-7d1e8a3f6c01"}, Vector: []float32{1, 2, 3, 4, 5}}
			s.Upsert(ctx, "c", []store.Point{uu})
			want := state(t, s, names)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2, warns := open(t, dir)
			defer s2.Close()
			if len(warns) != 0 {
				t.Fatalf("clean restart warned: %v", warns)
			}
			if got := state(t, s2, names); !reflect.DeepEqual(got, want) {
				t.Fatalf("after restart the store answers otherwise")
			}
			if p, err := s2.Get(ctx, "c", uu.ID); err != nil || p.Vector[4] != 5 {
				t.Fatalf("uuid point: %v %v", p, err)
			}
			l := s2.Loaded()
			if l.Collections != 3 || l.Points != s2.Len() || (compact > 0) != l.Snapshot {
				t.Fatalf("loaded %+v", l)
			}
		})
	}
}

// writeSome makes a store with n acknowledged single-point upserts and
// closes it; it returns the path of its log file.
func writeSome(t *testing.T, dir string, n int) string {
	s, _ := open(t, dir)
	s.Create(ctx, "a", 4, store.Cosine)
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < n; i++ {
		if err := s.Upsert(ctx, "a", pts(r, i, 1, 4)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, walName(1))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCorruptTail: a torn or corrupt last record is cut back to the last
// complete write, with a warning and the tail kept aside; the store keeps
// working and a second restart is clean.
func TestCorruptTail(t *testing.T) {
	for name, damage := range map[string]func(b []byte) []byte{
		"torn record":      func(b []byte) []byte { return b[:len(b)-7] },
		"torn header":      func(b []byte) []byte { return b[:len(b)-recordLen(4)+3] },
		"flipped byte":     func(b []byte) []byte { b[len(b)-5] ^= 0x40; return b },
		"garbage appended": func(b []byte) []byte { return append(b, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9) },
		"zeros appended":   func(b []byte) []byte { return append(b, make([]byte, 4096)...) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeSome(t, dir, 10)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, damage(b), 0o640); err != nil {
				t.Fatal(err)
			}
			s, warns := open(t, dir)
			want := 9 // the damaged last record is lost, all before it kept
			if strings.Contains(name, "appended") {
				want = 10
			}
			if s.Len() != want {
				t.Fatalf("%d points after recovery, want %d", s.Len(), want)
			}
			if len(warns) != 1 || !strings.Contains(warns[0], "recovered log") || s.Loaded().Recovered == "" {
				t.Fatalf("warnings %v", warns)
			}
			if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 1 {
				t.Fatalf("damaged tail not kept aside: %v", aside)
			}
			if err := s.Upsert(ctx, "a", pts(rand.New(rand.NewPCG(9, 9)), 100, 1, 4)); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s2, warns := open(t, dir)
			defer s2.Close()
			if len(warns) != 0 || s2.Len() != want+1 {
				t.Fatalf("second restart: %d points, warnings %v", s2.Len(), warns)
			}
		})
	}
}

// recordLen is the framed size of one single-point upsert into "a" of dim.
func recordLen(dim int) int {
	return len(appendRecord(nil, 1, &memory.Op{Kind: memory.OpUpsert, Collection: "a", Points: []memory.Record{{
		ID: store.ID{Num: 1}, Vector: make([]float32, dim), Payload: []byte(`{"i":1,"tag":"t1"}`)}}}))
}

// TestDamageBeforeTheTail: damage that is not at the end of the last log
// (a snapshot, an older log file) refuses to load rather than lose
// acknowledged writes, naming the file.
func TestDamageBeforeTheTail(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	s.Create(ctx, "a", 4, store.Cosine)
	s.Upsert(ctx, "a", pts(rand.New(rand.NewPCG(1, 1)), 0, 5, 4))
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	snap := filepath.Join(dir, "snapshot")
	b, _ := os.ReadFile(snap)
	b[len(snapMagic)+20] ^= 1
	os.WriteFile(snap, b, 0o640)
	_, err := Open(ctx, Options{Dir: dir, Limits: limits})
	if err == nil || !strings.Contains(err.Error(), snap) || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged snapshot: %v", err)
	}
}

// TestLock: a second open of a held directory fails naming the lock file
// and the holder; after Close it opens.
func TestLock(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	_, err := Open(ctx, Options{Dir: dir, Limits: limits})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "LOCK")) || !strings.Contains(err.Error(), fmt.Sprint("pid ", os.Getpid())) {
		t.Fatalf("second open: %v", err)
	}
	s.Close()
	s2, _ := open(t, dir)
	s2.Close()
}

// TestUnusableDir: a path that cannot be a directory is a clear error.
func TestUnusableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o640)
	if _, err := Open(ctx, Options{Dir: filepath.Join(file, "sub"), Limits: limits}); err == nil || !strings.Contains(err.Error(), "cannot be created") {
		t.Fatalf("dir under a file: %v", err)
	}
}

// TestAtomicBatch: a batch in the log is one record: a crash that tears it
// loses the whole batch, never half of it.
func TestAtomicBatch(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	s.Create(ctx, "a", 4, store.Cosine)
	r := rand.New(rand.NewPCG(2, 2))
	s.Upsert(ctx, "a", pts(r, 0, 10, 4))
	s.Upsert(ctx, "a", pts(r, 10, 100, 4))
	s.Close()
	path := filepath.Join(dir, walName(1))
	b, _ := os.ReadFile(path)
	for _, cut := range []int{1, 100, 1000} {
		os.WriteFile(path, b[:len(b)-cut], 0o640)
		s, _ := open(t, dir)
		if s.Len() != 10 {
			t.Fatalf("cut %d: %d points, want 10 (all of the first batch, none of the torn one)", cut, s.Len())
		}
		s.Close()
		os.WriteFile(path, b, 0o640)
		for _, f := range mustGlob(t, path+".corrupt-*") {
			os.Remove(f)
		}
	}
}

func mustGlob(t *testing.T, p string) []string {
	m, err := filepath.Glob(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBackupRestore: a backup taken while writers run is a consistent
// snapshot; a service started on a directory holding it answers the same.
func TestBackupRestore(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	defer s.Close()
	s.Create(ctx, "a", 4, store.Cosine)
	r := rand.New(rand.NewPCG(8, 8))
	s.Upsert(ctx, "a", pts(r, 0, 100, 4))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a writer that keeps the store busy during the backup
		defer wg.Done()
		r := rand.New(rand.NewPCG(1, 9))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.Upsert(ctx, "a", pts(r, 100+i%200, 1, 4)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	info, err := s.Backup()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if info.Points < 100 || !strings.HasPrefix(info.Path, filepath.Join(dir, "backups")) {
		t.Fatalf("backup %+v", info)
	}
	restored := t.TempDir()
	b, _ := os.ReadFile(info.Path)
	os.WriteFile(filepath.Join(restored, "snapshot"), b, 0o640)
	s2, _ := open(t, restored)
	defer s2.Close()
	if s2.Len() != info.Points || s2.Loaded().Collections != 1 {
		t.Fatalf("restored %d points, backup said %d", s2.Len(), info.Points)
	}
}

// TestDiskFull fills a small tmpfs: the write that does not fit is a 507
// (store.ErrFull) that leaves the log whole, every acknowledged point stays
// and a restart loads them all without recovering anything.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	s, _ := open(t, dir)
	s.Create(ctx, "a", 1024, store.Dot)
	r := rand.New(rand.NewPCG(4, 4))
	acked := 0
	var err error
	for i := 0; i < 1000; i++ {
		if err = s.Upsert(ctx, "a", pts(r, acked, 10, 1024)); err != nil {
			break
		}
		acked += 10
	}
	if !errors.Is(err, store.ErrFull) || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("after %d points: %v", acked, err)
	}
	if s.Len() != acked {
		t.Fatalf("the failed write changed the index: %d points, %d acknowledged", s.Len(), acked)
	}
	s.Close()
	s2, warns := open(t, dir)
	defer s2.Close()
	if s2.Len() != acked || len(warns) != 0 {
		t.Fatalf("restart: %d points of %d acknowledged, warnings %v", s2.Len(), acked, warns)
	}
}

// TestCompactsWhileServing: past the size bound the log is compacted into
// a snapshot in the background, older log files go, and a restart loads the
// same state from the snapshot and the newer log.
func TestCompactsWhileServing(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, func(o *Options) { o.CompactBytes = 16 << 10 })
	s.Create(ctx, "a", 8, store.Dot)
	r := rand.New(rand.NewPCG(6, 6))
	for i := 0; i < 40; i++ {
		if err := s.Upsert(ctx, "a", pts(r, (i*7)%300, 10, 8)); err != nil {
			t.Fatal(err)
		}
	}
	waitfor.True(t, 10*time.Second, "a background snapshot", func() bool { return s.LogState().SnapshotBytes > 0 })
	s.Upsert(ctx, "a", pts(r, 500, 5, 8))
	want := state(t, s, []string{"a"})
	s.Close()
	if logs := mustGlob(t, filepath.Join(dir, "wal-*")); len(logs) > 2 {
		t.Fatalf("compacted log files not dropped: %v", logs)
	}
	s2, _ := open(t, dir)
	defer s2.Close()
	if !s2.Loaded().Snapshot || !reflect.DeepEqual(state(t, s2, []string{"a"}), want) {
		t.Fatalf("after compaction and restart: loaded %+v", s2.Loaded())
	}
}

// TestLoadStopsWithItsContext: a load that runs out of time stops, says so,
// and leaves the directory unlocked and whole for the next start.
func TestLoadStopsWithItsContext(t *testing.T) {
	dir := t.TempDir()
	writeSome(t, dir, 20)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Open(cctx, Options{Dir: dir, Limits: limits}); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "loading stopped") {
		t.Fatalf("cancelled load: %v", err)
	}
	s, warns := open(t, dir)
	defer s.Close()
	if s.Len() != 20 || len(warns) != 0 {
		t.Fatalf("after a stopped load: %d points, warnings %v", s.Len(), warns)
	}
}

// TestWritersDuringSnapshots: writers run while compactions, backups and
// graph saves run; every snapshot names the last record it includes, so a
// restart from the last snapshot and the log answers exactly as the store
// did before it closed, and each backup holds what the store held when it
// was taken.
func TestWritersDuringSnapshots(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, func(o *Options) { o.CompactBytes = 32 << 10 })
	s.Create(ctx, "a", 8, store.Dot)
	s.CreateIndexed(ctx, "h", 8, store.Cosine, store.IndexSpec{Type: store.IndexHNSW, M: 8, EfConstruction: 16})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for i := range 60 {
				name := []string{"a", "h"}[i%2]
				// batches of 5 at multiples of 5: a backup holds whole ones
				if err := s.Upsert(ctx, name, pts(r, 5*((w*60+i)%80), 5, 8)); err != nil {
					errs <- err
					return
				}
				if i%10 == 9 {
					if _, err := s.DeletePoints(ctx, name, []store.ID{{Num: uint64(5 * (i % 80))}}); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	var backups []BackupInfo
	for range 5 {
		if err := s.Compact(); err != nil {
			t.Fatal(err)
		}
		if err := s.saveGraphs(); err != nil {
			t.Fatal(err)
		}
		b, err := s.Backup()
		if err != nil {
			t.Fatal(err)
		}
		backups = append(backups, b)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	names := []string{"a", "h"}
	want := state(t, s, names)
	s.Close()
	s2, _ := open(t, dir)
	if got := state(t, s2, names); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a restart the store answers otherwise (loaded %+v)", s2.Loaded())
	}
	s2.Close()
	for _, b := range backups {
		rdir := t.TempDir()
		data, err := os.ReadFile(b.Path)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(rdir, "snapshot"), data, 0o640)
		s3, _ := open(t, rdir)
		// points and collections: the bytes differ, a backup restored
		// without the indexes file holding h as flat (no graph to count)
		if got := s3.Stats(); got.Points != b.Points || got.Collections != b.Collections {
			t.Fatalf("backup %s holds %+v, it was taken of %+v", b.Path, got, b.Stats)
		}
		s3.Close()
	}
}
