package durable

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
)

// Skipped is a stretch of a data file that salvage could not use: damaged
// bytes, or an intact record that did not apply (a change to a collection
// whose creation was lost, a repeated record).
type Skipped struct {
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Bytes  int64  `json:"bytes"`
	Reason string `json:"reason"`
}

// SalvageReport is what Salvage copied and what it skipped.
type SalvageReport struct {
	From, To        string
	Collections     int
	Points          int
	SnapshotRecords int    // snapshot records applied
	LogRecords      int    // log records applied
	LastRecord      uint64 // the lsn the new directory goes on from
	Skipped         []Skipped
	Notes           []string // assumptions made (a snapshot without its end record)
}

// SkippedBytes sums the bytes skipped.
func (r *SalvageReport) SkippedBytes() int64 {
	var n int64
	for _, s := range r.Skipped {
		n += s.Bytes
	}
	return n
}

// Salvage copies every readable record of the data directory from (a
// snapshot, log files) into a new directory to, which must be absent or
// empty, and reports each stretch it skipped. from is only read; its lock
// is taken (a running service keeps it) but not created. The new directory
// holds a snapshot of what was salvaged; start the service on it.
//
// Records are applied in order, as start-up would, but past damage: a
// damaged stretch is skipped up to the next intact record, and an intact
// record that cannot apply (its collection's creation was in a damaged
// stretch) is skipped too, so the result is every change that could be read,
// not necessarily a state the service ever had.
func Salvage(ctx context.Context, from, to string) (*SalvageReport, error) {
	src, err := filepath.Abs(from)
	if err != nil {
		return nil, err
	}
	dst, err := filepath.Abs(to)
	if err != nil {
		return nil, err
	}
	rep := &SalvageReport{From: src, To: dst}
	if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("salvage from %s: not a directory (%v)", src, err)
	}
	if ents, err := os.ReadDir(dst); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("salvage to %s: the directory is not empty: name a new one", dst)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("salvage to %s: %w", dst, err)
	}
	unlock, err := lockToRead(src)
	if err != nil {
		return nil, err
	}
	defer unlock()

	idx := memory.New(memory.Limits{}) // Apply takes no bounds: what was stored is kept
	idx.PauseLinking()                 // only the points are written: no graph is linked
	snapLSN, haveEnd, err := salvageSnapshot(ctx, filepath.Join(src, "snapshot"), idx, rep)
	if err != nil {
		return nil, err
	}
	logs, err := (&Store{dir: src}).logFiles()
	if err != nil {
		return nil, err
	}
	if !haveEnd && len(logs) > 0 {
		// compaction drops the log files the snapshot covers: the oldest
		// one left starts right after it
		snapLSN = logs[0] - 1
		rep.Notes = append(rep.Notes, fmt.Sprintf("the snapshot's end record was not read: taken to cover the log up to record %d (the oldest log file starts after it)", snapLSN))
	}
	last := snapLSN
	for _, first := range logs {
		if err := salvageLog(ctx, filepath.Join(src, walName(first)), first, snapLSN, &last, idx, rep); err != nil {
			return nil, err
		}
	}
	rep.LastRecord = last
	if err := writeSalvaged(ctx, dst, idx, last); err != nil {
		return nil, fmt.Errorf("salvage to %s: %w (remove it before trying again)", dst, err)
	}
	st := idx.Stats()
	rep.Collections, rep.Points = st.Collections, st.Points
	return rep, nil
}

// lockToRead takes the lock of dir if it has a lock file, without creating
// one or writing to it: a service that runs on dir holds it.
func lockToRead(dir string) (func(), error) {
	path := filepath.Join(dir, "LOCK")
	f, err := openFile(path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("salvage from %s: lock file: %w", dir, err)
	}
	if err := lockFile(f); err != nil {
		owner, _ := io.ReadAll(io.LimitReader(f, 64))
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("salvage from %s: in use: a process (pid %s) holds the lock %s; stop it first", dir, strings.TrimSpace(string(owner)), path)
		}
		return nil, fmt.Errorf("salvage from %s: lock %s: %w", dir, path, err)
	}
	return func() { f.Close() }, nil
}

// salvageFile reads the records of one file past damage: a damaged stretch
// is reported and reading goes on at the next record that plausible admits
// (see nextRecord); fn applies a record and reports it when it cannot.
func salvageFile(ctx context.Context, path, magic string, rep *SalvageReport,
	plausible func(lsn uint64, kind byte) bool,
	fn func(off, n int64, lsn uint64, op *memory.Op)) error {
	f, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("salvage: %s cannot be read: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("salvage: %s: %w", path, err)
	}
	size := st.Size()
	head := make([]byte, len(magic))
	if n, _ := f.ReadAt(head, 0); n < len(magic) || string(head) != magic {
		rep.Skipped = append(rep.Skipped, Skipped{path, 0, min(size, int64(len(magic))), fmt.Sprintf("bad file header %q", head[:n])})
	}
	off := int64(len(magic))
	for off < size {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("salvage stopped: %w", err)
		}
		br := bufio.NewReaderSize(io.NewSectionReader(f, off, size-off), 1<<20)
		_, rerr := readFrames(br, off, nil, func(at, n int64, lsn uint64, op *memory.Op) error {
			fn(at, n, lsn, op)
			return ctx.Err()
		})
		var te *tailError
		if rerr == nil {
			return nil
		}
		if !errors.As(rerr, &te) {
			return fmt.Errorf("salvage: %s: %w", path, rerr)
		}
		next, _, found, err := nextRecord(f, te.offset+1, size, plausible)
		if err != nil {
			return fmt.Errorf("salvage: %s: %w", path, err)
		}
		if !found {
			next = size
		}
		rep.Skipped = append(rep.Skipped, Skipped{path, te.offset, next - te.offset, te.reason})
		off = next
	}
	return nil
}

// salvageSnapshot applies what can be read of the snapshot at path (if there
// is one) and returns the lsn its end record names, and whether it was read
// (true without a snapshot).
func salvageSnapshot(ctx context.Context, path string, idx *memory.Index, rep *SalvageReport) (uint64, bool, error) {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return 0, true, nil // none: the log starts at record 1
	}
	var snapLSN uint64
	ended := false
	err := salvageFile(ctx, path, snapMagic, rep, func(lsn uint64, kind byte) bool {
		return kind == kindEnd || (lsn == 0 && kind >= byte(memory.OpCreate) && kind <= byte(memory.OpDelete))
	}, func(off, n int64, lsn uint64, op *memory.Op) {
		switch {
		case op == nil && !ended:
			snapLSN, ended = lsn, true
		case op == nil || ended:
			rep.Skipped = append(rep.Skipped, Skipped{path, off, n, "a record after the end record"})
		default:
			if err := idx.Apply(op); err != nil {
				rep.Skipped = append(rep.Skipped, Skipped{path, off, n, "does not apply: " + err.Error()})
				return
			}
			rep.SnapshotRecords++
		}
	})
	return snapLSN, ended, err
}

// salvageLog applies the readable records of one log file after snapLSN
// and after *last, advancing *last.
func salvageLog(ctx context.Context, path string, first, snapLSN uint64, last *uint64, idx *memory.Index, rep *SalvageReport) error {
	seen := max(*last, first-1) // the last lsn read, for the plausibility of the next
	return salvageFile(ctx, path, logMagic, rep, func(lsn uint64, kind byte) bool {
		return logRecordAfter(seen)(lsn, kind)
	}, func(off, n int64, lsn uint64, op *memory.Op) {
		switch {
		case lsn <= snapLSN:
			seen = max(seen, lsn) // in the snapshot already
		case op == nil || lsn <= *last:
			rep.Skipped = append(rep.Skipped, Skipped{path, off, n, fmt.Sprintf("record %d is out of order (after record %d)", lsn, *last)})
		default:
			seen = lsn
			if err := idx.Apply(op); err != nil {
				rep.Skipped = append(rep.Skipped, Skipped{path, off, n, fmt.Sprintf("record %d does not apply: %v", lsn, err)})
				return
			}
			*last = lsn
			rep.LogRecords++
		}
	})
}

// writeSalvaged makes dir a data directory holding idx as its snapshot at
// lsn last, through the store's own snapshot code.
func writeSalvaged(ctx context.Context, dir string, idx *memory.Index, last uint64) error {
	s, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		return err
	}
	if err := idx.Dump(1000, func(memory.Stats) {}, s.index.Apply); err != nil {
		s.Close()
		return err
	}
	s.mu.Lock()
	s.lsn = last
	s.mu.Unlock()
	err = s.Compact()
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}
