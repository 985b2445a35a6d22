// Package durable keeps the embedded vector index (store/memory) on disk in
// a data directory: a write-ahead log that every change is appended to and
// fsynced before it is acknowledged (concurrent writers share one fsync:
// group commit), and a snapshot that the log is compacted into once it
// grows. Start-up loads the snapshot and replays the log. A lock file
// (flock) keeps a second process off the directory.
//
// The Store wraps the index: each write is checked by the index (a plan),
// appended to the log and applied (committed) under the store's write
// lock, then fsynced (write.go). The index knows nothing of the log.
//
// Files of the package: durable.go opening and the reads; write.go the
// write path and the log's appends and fsyncs; load.go start-up (snapshot,
// replay, torn tails); snapshot.go compaction and backups; codec.go the
// record format; recover.go and salvage.go damage and the way out of it;
// indexes.go the index choices and saved graphs; files.go file handling.
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
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// Store is the durable embedded index: it wraps a memory.Index and puts
// every change through the log before it is applied.
type Store struct {
	index   *memory.Index
	dir     string
	lock    *os.File
	compact int64
	loaded  Loaded

	// wmu serialises the writes (plan, append, commit: records are in apply
	// order and the log's last record is the index's state whenever wmu is
	// free) and what must see the two agree: snapshots and saved graphs.
	wmu sync.Mutex

	// mu guards the open log file.
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
	s := &Store{index: memory.New(o.Limits), dir: dir, lock: lf, compact: o.CompactBytes,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if s.compact <= 0 {
		s.compact = DefaultCompactBytes
	}
	// what the reopen replays into graphs is linked in the background once
	// it is done (memory's linker.go), not in turns with the replay
	s.index.PauseLinking()
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
	s.index.ResumeLinking()
	s.loaded.Took = time.Since(began)
	s.loaded.TookMS = float64(s.loaded.Took.Microseconds()) / 1000
	st := s.Stats()
	s.loaded.Collections, s.loaded.Points, s.loaded.Bytes = st.Collections, st.Points, st.Bytes
	go s.compactor()
	return s, nil
}

// Dir is the absolute data directory.
func (s *Store) Dir() string { return s.dir }

// Loaded reports what start-up found.
func (s *Store) Loaded() Loaded { return s.loaded }

// Backend names the backend.
func (s *Store) Backend() string { return "embedded durable index at " + s.dir }

// The reads go to the index.

// Stats returns what the index holds, without waiting for a lock.
func (s *Store) Stats() memory.Stats { return s.index.Stats() }

// Len returns the number of points held.
func (s *Store) Len() int { return s.index.Len() }

func (s *Store) Info(ctx context.Context, name string) (store.Info, error) {
	return s.index.Info(ctx, name)
}

func (s *Store) Get(ctx context.Context, name string, id store.ID) (store.Point, error) {
	return s.index.Get(ctx, name, id)
}

func (s *Store) Search(ctx context.Context, name string, q []float32, limit int, f store.Filter) ([]store.Hit, error) {
	return s.index.Search(ctx, name, q, limit, f)
}

func (s *Store) SearchWith(ctx context.Context, name string, q []float32, limit int, f store.Filter, p store.SearchParams) ([]store.Hit, error) {
	return s.index.SearchWith(ctx, name, q, limit, f, p)
}

// WaitLinked returns once every point of collection name is linked into
// its graph (memory.Index.WaitLinked), or when ctx ends.
func (s *Store) WaitLinked(ctx context.Context, name string) error {
	return s.index.WaitLinked(ctx, name)
}

// Ping always succeeds, as the index's: a log that cannot be written is
// reported by LogState and by the writes' errors.
func (s *Store) Ping(ctx context.Context) error { return s.index.Ping(ctx) }

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

// Close stops the compactor and the index's linker, saves the graphs,
// syncs and closes the log, and releases the lock.
func (s *Store) Close() error {
	close(s.stop)
	<-s.done
	// points still unlinked are recorded so in the graph file, and linked
	// after the next start
	_ = s.index.Close()
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

var (
	_ store.Store         = (*Store)(nil)
	_ store.Indexed       = (*Store)(nil)
	_ store.EncodedWriter = (*Store)(nil)
)
