package durable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
)

// frames returns the offsets of the records of a log or snapshot file's
// bytes, and the end offset last (as the format is documented in codec.go).
func frames(b []byte) []int64 {
	var out []int64
	for off := int64(len(logMagic)); off+frameLen <= int64(len(b)); {
		out = append(out, off)
		off += frameLen + int64(binary.LittleEndian.Uint32(b[off:]))
	}
	return out
}

func damageFile(t *testing.T, path string, damage func(b []byte, recs []int64) []byte) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = damage(b, frames(b))
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDamageBeforeIntactRecords: damage in the last log file with intact
// records after it is not a torn tail: start-up refuses with a DamageError
// naming the file, the offset of the damage and of the next intact record,
// and leaves the log as it was (issue 20 item 1: it used to cut
// the log at the damage and start with the writes after it gone).
func TestDamageBeforeIntactRecords(t *testing.T) {
	for name, damage := range map[string]func(b []byte, recs []int64) []byte{
		"flipped body byte": func(b []byte, r []int64) []byte { b[r[2]+frameLen+12] ^= 0x10; return b },
		"flipped crc byte":  func(b []byte, r []int64) []byte { b[r[2]+5] ^= 1; return b },
		"length too long":   func(b []byte, r []int64) []byte { b[r[2]+1] ^= 0x04; return b }, // +1024: looks torn
		"length too short":  func(b []byte, r []int64) []byte { b[r[2]] -= 3; return b },
		"length past max":   func(b []byte, r []int64) []byte { b[r[2]+3] = 0xff; return b },
		"record zeroed":     func(b []byte, r []int64) []byte { clear(b[r[2]:r[3]]); return b },
		"bytes lost inside": func(b []byte, r []int64) []byte { return append(b[:r[2]+20:r[2]+20], b[r[2]+27:]...) },
		"garbage inserted": func(b []byte, r []int64) []byte {
			return append(b[:r[3]:r[3]], append([]byte{1, 2, 3}, b[r[3]:]...)...)
		},
		"second to last torn": func(b []byte, r []int64) []byte { b[r[9]+frameLen+3] ^= 0xff; return b },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeSome(t, dir, 10) // record 1 creates, 2..11 upsert points 0..9
			orig, _ := os.ReadFile(path)
			damaged := damageFile(t, path, damage)
			recs := frames(orig)
			_, err := Open(ctx, Options{Dir: dir, Limits: limits, Warn: func(m string) { t.Errorf("warned: %s", m) }})
			var de *DamageError
			if !errors.As(err, &de) {
				t.Fatalf("want a DamageError, got %v", err)
			}
			at := recs[2]
			if name == "garbage inserted" {
				at = recs[3]
			}
			if name == "second to last torn" {
				at = recs[9]
			}
			if de.File != path || de.Offset != at || de.Next <= at {
				t.Fatalf("damage %+v, want file %s offset %d", de, path, at)
			}
			msg := err.Error()
			for _, want := range []string{path, fmt.Sprintf("offset %d", at), "vector-salvage", "not a torn tail"} {
				if !strings.Contains(msg, want) {
					t.Fatalf("error does not say %q: %s", want, msg)
				}
			}
			// nothing was cut or set aside
			if b, _ := os.ReadFile(path); !bytes.Equal(b, damaged) {
				t.Fatal("the refused log file was changed")
			}
			if aside := mustGlob(t, path+".corrupt-*"); len(aside) != 0 {
				t.Fatalf("damaged tail set aside: %v", aside)
			}
		})
	}
}

// TestTornTailStillCut: garbage after the last record that contains no
// intact record, and a torn last record followed by a record that is intact
// but older (a repeated record, not a lost one), are cut as before.
func TestTornTailStillCut(t *testing.T) {
	dir := t.TempDir()
	path := writeSome(t, dir, 10)
	damageFile(t, path, func(b []byte, r []int64) []byte {
		torn := b[r[10] : len(b)-5]
		return append(append(b[:r[10]:r[10]], torn...), b[r[4]:r[5]]...)
	})
	s, warns := open(t, dir)
	defer s.Close()
	if s.Len() != 9 || len(warns) != 1 || !strings.Contains(warns[0], "recovered log") {
		t.Fatalf("%d points, warnings %v", s.Len(), warns)
	}
}

func pointsOf(t *testing.T, s store.Store, n int) map[uint64]store.Point {
	t.Helper()
	out := map[uint64]store.Point{}
	for id := uint64(0); id < uint64(n); id++ {
		if p, err := s.Get(ctx, "a", store.ID{Num: id}); err == nil {
			out[id] = p
		}
	}
	return out
}

// TestSalvage: salvage copies every readable record of a refused directory
// into a new one, reports the damaged stretch by file, offset and bytes,
// leaves the source as it was, and the service starts on the copy with
// every intact write.
func TestSalvage(t *testing.T) {
	dir := t.TempDir()
	path := writeSome(t, dir, 10)
	s, _ := open(t, dir)
	want := pointsOf(t, s, 10)
	s.Close()
	delete(want, 1) // record 3 upserts point 1
	recs := frames(damageFile(t, path, func(b []byte, r []int64) []byte { b[r[2]+frameLen+12] ^= 0x10; return b }))
	before, _ := os.ReadFile(path)

	to := filepath.Join(t.TempDir(), "salvaged")
	rep, err := Salvage(ctx, dir, to)
	if err != nil {
		t.Fatal(err)
	}
	wantSkip := []Skipped{{File: path, Offset: recs[2], Bytes: recs[3] - recs[2], Reason: "corrupt: checksum mismatch"}}
	if !reflect.DeepEqual(rep.Skipped, wantSkip) || rep.LogRecords != 10 || rep.Points != 9 || rep.LastRecord != 11 {
		t.Fatalf("report %+v, want skipped %+v", rep, wantSkip)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatal("salvage changed its source")
	}
	s2, warns := open(t, to)
	if got := pointsOf(t, s2, 10); !reflect.DeepEqual(got, want) || len(warns) != 0 {
		t.Fatalf("salvaged points %v, want %v (warnings %v)", got, want, warns)
	}
	// it goes on from the last record: a write and a restart keep it all
	if err := s2.Upsert(ctx, "a", pts(rand.New(rand.NewPCG(1, 1)), 1, 1, 4)); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	s3, _ := open(t, to)
	defer s3.Close()
	if s3.Len() != 10 || s3.LogState().LastRecord != 12 {
		t.Fatalf("after a write on the salvaged directory: %d points, record %d", s3.Len(), s3.LogState().LastRecord)
	}

	if _, err := Salvage(ctx, dir, to); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("salvage into a used directory: %v", err)
	}
	// a directory in use is refused
	held, _ := open(t, t.TempDir())
	defer held.Close()
	if _, err := Salvage(ctx, held.Dir(), filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("salvage of a held directory: %v", err)
	}
}

// TestSalvageSnapshot: a damaged snapshot (refused at start-up) salvages
// every record but the damaged one, then the log after it.
func TestSalvageSnapshot(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir)
	s.Create(ctx, "a", 4, store.Cosine)
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 3; i++ { // three batches; Dump writes 1000 points a record
		s.Upsert(ctx, "a", pts(r, i*1000, 1000, 4))
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	s.Upsert(ctx, "a", pts(r, 5000, 1, 4))
	s.Close()
	snap := filepath.Join(dir, "snapshot")
	recs := frames(damageFile(t, snap, func(b []byte, r []int64) []byte { b[r[2]+100] ^= 1; return b }))
	if _, err := Open(ctx, Options{Dir: dir, Limits: limits}); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%s is damaged at offset %d", snap, recs[2])) {
		t.Fatalf("damaged snapshot: %v", err)
	}
	to := filepath.Join(t.TempDir(), "new")
	rep, err := Salvage(ctx, dir, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0].File != snap || rep.Skipped[0].Offset != recs[2] || rep.Points != 2001 || rep.LogRecords != 1 {
		t.Fatalf("report %+v", rep)
	}
	s2, _ := open(t, to)
	defer s2.Close()
	if s2.Len() != 2001 {
		t.Fatalf("%d points", s2.Len())
	}
}

// TestLinksRefused: the store follows no symbolic link in its directory
// (issue 20 item 5: a LOCK linked to another file had that file truncated
// and a pid written into it). Each is refused by name, and the file it
// points to is left alone.
func TestLinksRefused(t *testing.T) {
	for _, name := range []string{"LOCK", "snapshot", walName(1), walName(1) + ".corrupt-8", "backups", indexesFile} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if name == walName(1)+".corrupt-8" { // a torn tail would be set aside there
				writeSome(t, dir, 0)
				f, _ := os.OpenFile(filepath.Join(dir, walName(1)), os.O_WRONLY|os.O_APPEND, 0)
				f.Truncate(8)
				f.Write([]byte{1, 2, 3})
				f.Close()
			}
			target := filepath.Join(t.TempDir(), "precious")
			os.WriteFile(target, []byte("keep me\n"), 0o640)
			if name == "backups" {
				target = t.TempDir()
				os.WriteFile(filepath.Join(target, "vector-1.snapshot.tmp"), []byte("keep me\n"), 0o640)
			}
			link := filepath.Join(dir, name)
			if err := os.Symlink(target, link); err != nil {
				t.Skip("no symlinks here:", err)
			}
			_, err := Open(ctx, Options{Dir: dir, Limits: limits})
			if !errors.Is(err, errNotRegular) || !strings.Contains(err.Error(), link+" is a symbolic link") {
				t.Fatalf("want a refusal naming %s, got %v", link, err)
			}
			check := target
			if name == "backups" {
				check = filepath.Join(target, "vector-1.snapshot.tmp")
			}
			if b, _ := os.ReadFile(check); string(b) != "keep me\n" {
				t.Fatalf("the link's target was changed: %q", b)
			}
		})
	}
}

// TestTempFilesRemoved: start-up removes what an interrupted compaction or
// backup leaves (issue 20 item 8: a SIGKILL during POST
// /api/v2/vector/backup left backups/*.snapshot.tmp forever), says so, and
// touches nothing else; a temp file that is a link is unlinked, its target
// kept.
func TestTempFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	writeSome(t, dir, 3)
	bdir := filepath.Join(dir, "backups")
	os.MkdirAll(bdir, 0o750)
	target := filepath.Join(t.TempDir(), "precious")
	os.WriteFile(target, []byte("keep me\n"), 0o640)
	temps := []string{filepath.Join(dir, "snapshot.tmp"), filepath.Join(dir, "indexes.tmp"), filepath.Join(dir, "graphs.tmp"), filepath.Join(bdir, "vector-20261202T075500.000000000Z.snapshot.tmp")}
	for _, p := range temps {
		os.WriteFile(p, make([]byte, 1000), 0o640)
	}
	linked := filepath.Join(bdir, "vector-20261202T075501.000000000Z.snapshot.tmp")
	if err := os.Symlink(target, linked); err != nil {
		t.Skip("no symlinks here:", err)
	}
	kept := []string{filepath.Join(bdir, "vector-20261202T075459.000000000Z.snapshot"), filepath.Join(bdir, "notes.tmp"), filepath.Join(dir, "other.tmp")}
	for _, p := range kept {
		os.WriteFile(p, []byte("x"), 0o640)
	}
	s, warns := open(t, dir)
	defer s.Close()
	for _, p := range append(temps, linked) {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left: %v", p, err)
		}
	}
	for _, p := range append(kept, target) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "removed 5 unfinished files") || !strings.Contains(warns[0], "1000 bytes") || s.Len() != 3 {
		t.Fatalf("%d points, warnings %v", s.Len(), warns)
	}
	// a backup still works, and leaves no temp file
	info, err := s.Backup()
	if err != nil {
		t.Fatal(err)
	}
	if left := mustGlob(t, filepath.Join(bdir, "*.tmp")); len(left) != 1 || left[0] != kept[1] {
		t.Fatalf("temp files after a backup: %v (backup %s)", left, info.Path)
	}
}

// TestScanBound: an intact record after the damage counts when its lsn is
// later than the last good one by at most maxLost; one further off (or
// earlier) is taken for garbage, and the tail is cut as torn.
func TestScanBound(t *testing.T) {
	up := &memory.Op{Kind: memory.OpUpsert, Collection: "a", Points: []memory.Record{{ID: store.ID{Num: 99}, Vector: []float32{1, 2, 3, 4}}}}
	for _, tc := range []struct {
		lsn     uint64
		refused bool
	}{{11 + maxLost, true}, {12 + maxLost, false}, {11, false}, {13, true}} {
		dir := t.TempDir()
		path := writeSome(t, dir, 10) // records 1..11
		damageFile(t, path, func(b []byte, r []int64) []byte {
			return appendRecord(append(b, 0x40, 0, 0, 0, 1, 2), tc.lsn, up) // a torn header, then a record
		})
		s, err := Open(ctx, Options{Dir: dir, Limits: limits})
		var de *DamageError
		if refused := errors.As(err, &de); refused != tc.refused || (err != nil && !refused) {
			t.Fatalf("record %d after the damage: %v, want refused %t", tc.lsn, err, tc.refused)
		}
		if s != nil {
			if s.Len() != 10 {
				t.Fatalf("record %d after the damage: cut to %d points", tc.lsn, s.Len())
			}
			s.Close()
		}
	}
}

// BenchmarkScanGarbage: the cost of looking for an intact record through a
// stretch of random bytes (a damaged tail with nothing after it), per MiB.
func BenchmarkScanGarbage(b *testing.B) {
	garbage := make([]byte, 64<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i+8 <= len(garbage); i += 8 {
		binary.LittleEndian.PutUint64(garbage[i:], r.Uint64())
	}
	b.SetBytes(int64(len(garbage)))
	for b.Loop() {
		if _, _, found, err := nextRecord(bytes.NewReader(garbage), 0, int64(len(garbage)), logRecordAfter(1000)); found || err != nil {
			b.Fatal(found, err)
		}
	}
}
