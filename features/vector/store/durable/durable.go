// Package durable keeps the embedded vector index (store/memory) on disk in
// a data directory: a write-ahead log that every change is appended to and
// fsynced before it is acknowledged (concurrent writers share one fsync:
// group commit), and a snapshot that the log is compacted into once it
// grows. Start-up loads the snapshot and replays the log. A lock file
// (flock) keeps a second process off the directory.
//
// Files in the directory:
//
//	LOCK                   held while a process has the directory open; holds its pid
//	snapshot               the state up to some log record (see codec.go)
//	wal-<first lsn, hex>   log files, replayed in order after the snapshot
//	*.corrupt-<offset>     a torn tail cut from the last log file at start-up
//	backups/               snapshots written by Backup
//	snapshot.tmp, indexes.tmp, graphs.tmp, backups/vector-*.snapshot.tmp
//	                       written, synced, then renamed into place; one left
//	                       by a crash is removed at start-up
//
// # Recovery rules
//
// What was acknowledged is never dropped silently. Every record is framed
// with its length and a CRC-32C, and log records carry consecutive
// sequence numbers (lsn). At start-up:
//
//   - A torn tail of the last log file is cut: an incomplete last record,
//     or garbage after the last whole record in which no intact record with
//     a later lsn can be found. A crash in the middle of an append leaves
//     exactly that, and nothing in it was acknowledged (the fsync that
//     acknowledges a record covers every byte before it). The cut bytes are
//     kept in wal-*.corrupt-<offset>, and a phase warning says so.
//     (On a file system that can persist a later unsynced append without an
//     earlier one, a crash in a group commit could leave an intact record
//     after garbage: that stops start-up as below, and salvage keeps every
//     intact record; none of them was acknowledged, since the fsync that
//     would have acknowledged one covers the garbage too.)
//   - Damage followed by an intact record is not a torn tail: the record
//     after it was acknowledged. checkTorn scans forward from the damage for
//     a position whose length fits the file, whose lsn is later than the
//     last good one (by at most 2^32), whose kind is a change, whose CRC matches and whose
//     body decodes; if there is one, start-up stops with a *DamageError
//     naming the file, the offset of the damage and of the intact record,
//     and leaves the data files as they are. The vector group makes that
//     exit status 2.
//   - Damage anywhere in the snapshot or in a log file before the last, a
//     gap or a repeat in the lsn sequence, and a record that does not apply
//     stop start-up the same way (file and offset): those files were
//     written whole and synced before anything depended on them, so damage
//     there is a damaged disk or a bad copy, never a crash.
//   - No symbolic link is followed: LOCK, the snapshot, log files, temp
//     files, set-aside tails and backups are opened with O_NOFOLLOW (on
//     Windows, after an Lstat), and a link or other non-regular file where
//     the store keeps a file, or a backups link, is refused by name (exit 2
//     at start-up). The data directory itself may be a link.
//   - Temporary files an interrupted compaction or backup left are removed
//     at start-up (the link itself, if one is a link), with a warning.
//
// Salvage (Salvage, the command `advanced-backend vector-salvage --from DIR
// --to NEWDIR`) is the way out of a refused start: it reads DIR without
// writing to it (it takes its lock, so the service must be stopped), applies
// every readable record in order, skipping each damaged stretch up to the
// next intact record and each intact record that cannot apply, and writes
// the result as a snapshot into NEWDIR (absent or empty). It reports every
// stretch skipped by file, offset and bytes. Start the service on NEWDIR;
// keep DIR until the result is checked.
package durable

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
)

// DefaultCompactBytes is the least size of the log before it is compacted
// into a snapshot (it is also compacted only once it outgrows the snapshot,
// so the rewriting costs O(1) per byte written).
const DefaultCompactBytes = 64 << 20

// ErrLocked: another process holds the directory.
var errLocked = errors.New("locked")

// Options configure Open.
type Options struct {
	Dir    string
	Limits memory.Limits
	// CompactBytes: see DefaultCompactBytes (0 means the default).
	CompactBytes int64
	// Warn receives what start-up recovered from (a damaged log tail).
	Warn func(msg string)
}

// Loaded is what Open found in the directory.
type Loaded struct {
	Collections int           `json:"collections"`
	Points      int           `json:"points"`
	Bytes       int64         `json:"bytes"`
	Snapshot    bool          `json:"snapshot"`
	LogRecords  int           `json:"log_records"`
	Took        time.Duration `json:"-"`
	TookMS      float64       `json:"took_ms"`
	// Recovered describes a damaged log tail cut at start-up ("" if none).
	Recovered string `json:"recovered,omitempty"`
	// Graphs lists the HNSW collections whose saved graph was used, Built
	// those whose graph was built from the points (indexes.go).
	Graphs []string `json:"graphs_loaded,omitempty"`
	Built  []string `json:"graphs_built,omitempty"`
}

// Store is the durable embedded index: a memory.Index whose changes go
// through the log first.
type Store struct {
	*memory.Index
	dir     string
	lock    *os.File
	compact int64
	loaded  Loaded

	// mu guards the open log file; Write takes it under the index's write
	// lock, so records are in apply order.
	mu       sync.Mutex
	f        *os.File
	fileLSN  uint64 // first lsn of the open log file
	size     int64  // bytes in the open log file
	lsn      uint64 // last lsn written
	broken   error  // set when the log can no longer be trusted
	snapSize int64
	retryAt  int64 // after a failed compaction: the log size to try again at
	buf      []byte
	indexes  map[string]store.IndexSpec // see indexes.go
	graphs   *memory.Graphs             // saved graphs, until the reopen attaches them

	// syncMu serialises fsyncs: a writer that finds its record already
	// synced by another's fsync returns at once (group commit).
	syncMu sync.Mutex
	synced uint64

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
	// compactErr is the last compaction failure ("" after a success).
	compactErr string
}

// Open locks dir (creating it), loads what it holds and returns the store,
// which from then on logs every change. Errors name the directory and what
// is wrong with it. Loading stops when ctx ends (the group's start bound).
func Open(ctx context.Context, o Options) (*Store, error) {
	began := time.Now()
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("vector data directory %q: %w", o.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("vector data directory %s cannot be created: %w", dir, err)
	}
	lockPath := filepath.Join(dir, "LOCK")
	lf, err := openFile(lockPath, os.O_RDWR|os.O_CREATE, 0o640)
	if errors.Is(err, errNotRegular) {
		return nil, fmt.Errorf("vector data directory %s: lock file refused: %w", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("vector data directory %s is not writable: lock file: %w", dir, err)
	}
	if err := lockFile(lf); err != nil {
		owner, _ := os.ReadFile(lockPath)
		lf.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("vector data directory %s is in use: another process (pid %s) holds the lock %s",
				dir, strings.TrimSpace(string(owner)), lockPath)
		}
		return nil, fmt.Errorf("lock %s: %w", lockPath, err)
	}
	if err := lf.Truncate(0); err == nil {
		_, _ = lf.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	s := &Store{Index: memory.New(o.Limits), dir: dir, lock: lf, compact: o.CompactBytes,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if s.compact <= 0 {
		s.compact = DefaultCompactBytes
	}
	if s.indexes, err = s.readIndexes(); err != nil {
		lf.Close()
		return nil, err
	}
	s.graphs = s.readGraphs(o.Warn)
	if err := s.load(ctx, o.Warn); err != nil {
		lf.Close()
		return nil, err
	}
	if err := s.buildIndexes(ctx); err != nil {
		s.f.Close()
		lf.Close()
		return nil, err
	}
	s.loaded.Took = time.Since(began)
	s.loaded.TookMS = float64(s.loaded.Took.Microseconds()) / 1000
	st := s.Stats()
	s.loaded.Collections, s.loaded.Points, s.loaded.Bytes = st.Collections, st.Points, st.Bytes
	s.SetJournal(s)
	go s.compactor()
	return s, nil
}

// Dir is the absolute data directory.
func (s *Store) Dir() string { return s.dir }

// Loaded reports what start-up found.
func (s *Store) Loaded() Loaded { return s.loaded }

// Backend names the backend.
func (s *Store) Backend() string { return "embedded durable index at " + s.dir }

func walName(first uint64) string { return fmt.Sprintf("wal-%016x", first) }

// logFiles lists the log files by first lsn.
func (s *Store) logFiles() ([]uint64, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("vector data directory %s cannot be read: %w", s.dir, err)
	}
	var out []uint64
	for _, e := range ents {
		name := e.Name()
		if rest, ok := strings.CutPrefix(name, "wal-"); ok && len(rest) == 16 {
			if n, err := strconv.ParseUint(rest, 16, 64); err == nil {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func (s *Store) load(ctx context.Context, warn func(string)) error {
	removed, err := removeTemps(s.dir)
	if err != nil {
		return err
	}
	if len(removed) > 0 && warn != nil {
		warn(fmt.Sprintf("VECTOR: removed %d unfinished files of an interrupted snapshot, index save or backup in %s: %s",
			len(removed), s.dir, strings.Join(removed, ", ")))
	}
	files, err := s.logFiles()
	if err != nil {
		return err
	}
	var snapLSN uint64
	snapPath := filepath.Join(s.dir, "snapshot")
	if f, err := openFile(snapPath, os.O_RDONLY, 0); err == nil {
		counts := snapshotCounts(snapPath)
		ended := false
		end, rerr := readRecords(f, snapMagic, func(lsn uint64, op *memory.Op) error {
			if ended {
				return errors.New("records after the end record")
			}
			if op == nil {
				snapLSN, ended = lsn, true
				return nil
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("loading stopped: %w", err)
			}
			if err := s.Apply(op); err != nil {
				return err
			}
			if op.Kind == memory.OpCreate {
				s.Reserve(op.Collection, counts[op.Collection])
			}
			return nil
		})
		if st, err := f.Stat(); err == nil {
			s.snapSize = st.Size()
		}
		f.Close()
		if rerr == nil && !ended {
			rerr = fmt.Errorf("no end record: the file ends at offset %d", end)
		}
		var te *tailError
		if errors.As(rerr, &te) {
			return damaged(snapPath, rerr)
		}
		if rerr != nil && ctx.Err() != nil {
			return fmt.Errorf("vector snapshot %s: %w", snapPath, rerr)
		}
		if rerr != nil {
			// written whole and renamed into place: damage here is not a
			// crash but a damaged disk or a bad copy, and skipping it would
			// lose acknowledged writes
			return fmt.Errorf("vector snapshot %s is damaged (%w): restore a backup into an empty directory, or %s", snapPath, rerr, SalvageHint)
		}
		s.loaded.Snapshot = true
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("vector snapshot %s cannot be read: %w", snapPath, err)
	}
	s.lsn = snapLSN
	s.graphsAt()
	for i, first := range files {
		path := filepath.Join(s.dir, walName(first))
		f, err := openFile(path, os.O_RDONLY, 0)
		if err != nil {
			return fmt.Errorf("vector log %s cannot be read: %w", path, err)
		}
		lastRead := first - 1 // the lsn before a damaged record
		end, rerr := readRecords(f, logMagic, func(lsn uint64, op *memory.Op) error {
			lastRead = lsn
			if lsn <= snapLSN {
				return nil // already in the snapshot
			}
			if lsn != s.lsn+1 || op == nil {
				return fmt.Errorf("record %d follows record %d: a log file is missing", lsn, s.lsn)
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("loading stopped after record %d: %w", s.lsn, err)
			}
			if err := s.Apply(op); err != nil {
				return fmt.Errorf("record %d: %w", lsn, err)
			}
			s.lsn = lsn
			s.graphsAt()
			s.loaded.LogRecords++
			return nil
		})
		f.Close()
		var te *tailError
		switch {
		case rerr == nil:
		case errors.As(rerr, &te) && i == len(files)-1:
			// only a torn tail may be cut: intact records after the damage
			// were acknowledged
			if err := checkTorn(path, te, lastRead); err != nil {
				return err
			}
			msg, err := s.cutTail(path, end, te)
			if err != nil {
				return err
			}
			s.loaded.Recovered = msg
			if warn != nil {
				warn(msg)
			}
		case errors.As(rerr, &te):
			return damaged(path, rerr) // a log file before the last is never torn
		case ctx.Err() != nil:
			return fmt.Errorf("vector log %s: %w", path, rerr)
		default:
			return fmt.Errorf("vector log %s: %w; %s", path, rerr, SalvageHint)
		}
	}
	last := s.lsn + 1
	if len(files) > 0 {
		last = files[len(files)-1]
	}
	return s.openLog(last)
}

// cutTail keeps the damaged tail of a log file aside and truncates the file
// to its last complete record.
func (s *Store) cutTail(path string, end int64, te *tailError) (string, error) {
	f, err := openFile(path, os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("vector log %s: recover tail: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("vector log %s: %w", path, err)
	}
	aside := ""
	if st.Size() > end {
		aside = fmt.Sprintf("%s.corrupt-%d", path, end)
		tail, err := io.ReadAll(io.NewSectionReader(f, end, st.Size()-end))
		if err == nil {
			err = writeNewFile(aside, tail)
		}
		if err != nil {
			return "", fmt.Errorf("vector log %s: keep damaged tail aside: %w", path, err)
		}
	}
	if end < int64(len(logMagic)) {
		end = 0 // torn at creation: rewritten with its header below
	}
	if err := f.Truncate(end); err != nil {
		return "", fmt.Errorf("vector log %s: cut damaged tail: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("vector log %s: %w", path, err)
	}
	msg := fmt.Sprintf("VECTOR: recovered log %s to its last complete write (record %d): %s; %d bytes cut",
		filepath.Base(path), s.lsn, te.reason, st.Size()-end)
	if aside != "" {
		msg += " and kept in " + filepath.Base(aside)
	}
	return msg, nil
}

// openLog opens (or creates) the log file starting at first for appending.
func (s *Store) openLog(first uint64) error {
	path := filepath.Join(s.dir, walName(first))
	f, err := openFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("vector log %s cannot be opened for writing: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("vector log %s: %w", path, err)
	}
	size := st.Size()
	if size == 0 {
		if _, err := f.Write([]byte(logMagic)); err != nil {
			f.Close()
			return fmt.Errorf("vector log %s: write header: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("vector log %s: %w", path, err)
		}
		if err := syncDir(s.dir); err != nil {
			f.Close()
			return fmt.Errorf("vector data directory %s: sync: %w", s.dir, err)
		}
		size = int64(len(logMagic))
	}
	s.f, s.fileLSN, s.size, s.synced = f, first, size, s.lsn
	return nil
}

// writeErr classifies a failed write: no space is ErrFull (507), the rest
// ErrUnavailable.
func writeErr(what string, err error) error {
	if diskFull(err) {
		return fmt.Errorf("%w: disk full: %s: %v", store.ErrFull, what, err)
	}
	return fmt.Errorf("%w: %s: %v", store.ErrUnavailable, what, err)
}

// Write appends op to the log (memory.Journal). A failed append is cut back
// off the file, so the log holds whole records only and nothing is lost.
func (s *Store) Write(op *memory.Op) (func() error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken != nil {
		return nil, s.broken
	}
	if err := s.noteIndex(op); err != nil {
		return nil, err
	}
	s.buf = appendRecord(s.buf[:0], s.lsn+1, op)
	if _, err := s.f.Write(s.buf); err != nil {
		if terr := s.f.Truncate(s.size); terr != nil {
			s.broken = fmt.Errorf("%w: the vector log cannot be cut back after a failed write (%v); restart the service", store.ErrUnavailable, terr)
		}
		return nil, writeErr("append to the vector log", err)
	}
	if cap(s.buf) > 4<<20 {
		s.buf = nil // do not keep a large batch's buffer
	}
	s.size += int64(len(s.buf))
	s.lsn++
	lsn := s.lsn
	if s.size >= max(s.compact, s.snapSize, s.retryAt) {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return func() error { return s.syncTo(lsn) }, nil
}

// syncTo returns once record lsn is on disk; one fsync covers every record
// written before it started.
func (s *Store) syncTo(lsn uint64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.synced >= lsn {
		return nil
	}
	s.mu.Lock()
	f, upto, broken := s.f, s.lsn, s.broken
	s.mu.Unlock()
	if broken != nil {
		return broken
	}
	if err := f.Sync(); err != nil {
		// after a failed fsync the kernel may have dropped the dirty pages:
		// no later write can be promised durable (PostgreSQL's lesson)
		err = writeErr("sync the vector log; restart the service to recover from the log", err)
		s.mu.Lock()
		s.broken = err
		s.mu.Unlock()
		return err
	}
	s.synced = upto
	return nil
}

func (s *Store) compactor() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
			err := s.Compact()
			if err == nil {
				err = s.saveGraphs() // so that a reopen after a crash replays less
			}
			if err != nil {
				// say so, and do not retry on every write (a full disk
				// would make each one wait for a doomed snapshot)
				s.mu.Lock()
				s.compactErr = err.Error()
				s.retryAt = s.size + s.compact
				s.mu.Unlock()
			}
		}
	}
}

// Compact writes a snapshot of the index and drops the log files it
// covers. Writers wait while the snapshot is written (it holds the
// index read-locked), and so do readers that arrive behind a waiting writer.
func (s *Store) Compact() error {
	var first uint64
	var rotateErr error
	tmp := filepath.Join(s.dir, snapshotTmp)
	size, _, err := s.writeSnapshot(tmp, func() {
		// under the index's read lock: no write is between the snapshot
		// and the new log file
		first, rotateErr = s.rotate()
	})
	if err == nil {
		err = rotateErr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "snapshot")); err != nil {
		return fmt.Errorf("install vector snapshot: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("vector data directory %s: sync: %w", s.dir, err)
	}
	files, err := s.logFiles()
	if err != nil {
		return err
	}
	for _, f := range files {
		if f < first {
			if err := os.Remove(filepath.Join(s.dir, walName(f))); err != nil {
				return fmt.Errorf("drop compacted vector log: %w", err)
			}
		}
	}
	s.mu.Lock()
	s.snapSize, s.compactErr, s.retryAt = size, "", 0
	s.mu.Unlock()
	return syncDir(s.dir)
}

// rotate syncs the open log file and starts a new one at the next lsn.
func (s *Store) rotate() (uint64, error) {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken != nil {
		return 0, s.broken
	}
	old := s.f
	if err := old.Sync(); err != nil {
		return 0, writeErr("sync the vector log", err)
	}
	if err := s.openLog(s.lsn + 1); err != nil {
		s.f = old
		return 0, err
	}
	old.Close()
	return s.lsn + 1, nil
}

// writeSnapshot writes the index as a snapshot file at path (fsynced) and
// returns its size and what it holds; begin runs under the index's read
// lock first.
func (s *Store) writeSnapshot(path string, begin func()) (int64, memory.Stats, error) {
	var stats memory.Stats
	f, err := openFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return 0, stats, writeErr("create vector snapshot", err)
	}
	defer f.Close()
	cw := &countingWriter{w: f}
	bw := bufio.NewWriterSize(cw, 1<<20)
	var lsn uint64
	var buf []byte
	_, err = bw.Write([]byte(snapMagic))
	if err == nil {
		err = s.Dump(1000, func(st memory.Stats) {
			stats = st
			s.mu.Lock()
			lsn = s.lsn
			s.mu.Unlock()
			if begin != nil {
				begin()
			}
		}, func(op *memory.Op) error {
			buf = appendRecord(buf[:0], 0, op)
			_, err := bw.Write(buf)
			return err
		})
	}
	if err == nil {
		_, err = bw.Write(appendRecord(buf[:0], lsn, nil))
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return 0, stats, writeErr("write vector snapshot "+path, err)
	}
	return cw.n, stats, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// BackupInfo describes a snapshot written by Backup.
type BackupInfo struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
	memory.Stats
}

// Backup writes a consistent snapshot of the index to dir/backups (while
// serving: writers wait for it, as for Compact) and returns where. To
// restore it, copy it as "snapshot" into an empty directory and start the
// service on that directory.
func (s *Store) Backup() (BackupInfo, error) {
	bdir, err := backupsDir(s.dir)
	if err != nil {
		return BackupInfo{}, writeErr("vector backups", err)
	}
	if err := os.MkdirAll(bdir, 0o750); err != nil {
		return BackupInfo{}, writeErr("create "+bdir, err)
	}
	name := "vector-" + time.Now().UTC().Format("20060102T150405.000000000Z") + ".snapshot"
	path := filepath.Join(bdir, name)
	size, stats, err := s.writeSnapshot(path+".tmp", nil) // backupTmp: removed at start-up if left
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	if err == nil {
		err = syncDir(bdir)
	}
	if err != nil {
		os.Remove(path + ".tmp")
		return BackupInfo{}, err
	}
	return BackupInfo{Path: path, Bytes: size, Stats: stats}, nil
}

// LogState is the log's state for the capability report.
type LogState struct {
	LogBytes      int64  `json:"log_bytes"`
	SnapshotBytes int64  `json:"snapshot_bytes"`
	LastRecord    uint64 `json:"last_record"`
	Broken        string `json:"broken,omitempty"`
	CompactError  string `json:"compact_error,omitempty"`
}

// LogState reports the log's state.
func (s *Store) LogState() LogState {
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := LogState{LogBytes: s.size, SnapshotBytes: s.snapSize, LastRecord: s.lsn, CompactError: s.compactErr}
	if s.broken != nil {
		ls.Broken = s.broken.Error()
	}
	return ls
}

// Close stops the compactor, syncs and closes the log, and releases the
// lock.
func (s *Store) Close() error {
	close(s.stop)
	<-s.done
	// a failure costs the next start a rebuild, never points
	_ = s.saveGraphs()
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.broken = fmt.Errorf("%w: the vector store is closed", store.ErrUnavailable)
	if cerr := s.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

var _ store.Store = (*Store)(nil)
