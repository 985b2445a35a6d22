package durable

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
)

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
// covers. Writers wait while the snapshot is written (it holds the write
// lock wmu and the index read-locked); readers do not.
func (s *Store) Compact() error {
	var first uint64
	var rotateErr error
	tmp := filepath.Join(s.dir, snapshotTmp)
	size, _, err := s.writeSnapshot(tmp, func() {
		// under wmu: no write is between the snapshot and the new log file
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
// returns its size and what it holds; begin runs first, under wmu and the
// index's read lock. Writers wait for it: the snapshot's end record names
// the log's last record, which must be the last one applied.
func (s *Store) writeSnapshot(path string, begin func()) (int64, memory.Stats, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
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
		err = s.index.Dump(1000, func(st memory.Stats) {
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
// service on that directory. It carries each collection's index choice;
// the graphs are built at that start.
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
