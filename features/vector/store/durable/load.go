package durable

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
)

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
	// the index choices the snapshot carries (a backup restored into an
	// empty directory has no indexes file), until a logged create or drop
	// of the name supersedes them
	snapSpecs := map[string]store.IndexSpec{}
	// the snapshot's collections are made without an index (their points
	// then get no int8 codes one by one): the flat ones are given theirs
	// once the snapshot is read, the codes made on every core, the HNSW
	// ones when their graph is attached or built
	var flats []string
	snapPath := filepath.Join(s.dir, "snapshot")
	if f, err := openFile(snapPath, os.O_RDONLY, 0); err == nil {
		counts := snapshotCounts(snapPath)
		var snapBytes int64
		if st, err := f.Stat(); err == nil {
			snapBytes = st.Size()
		}
		ended := false
		end, rerr := readRecords(f, snapMagic, s.index.Spare, func(lsn uint64, op *memory.Op) error {
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
			if op.Kind == memory.OpCreate {
				if op.Index.Type != "" {
					// the graph is attached from the graphs file or built
					// once the points are in (buildIndexes)
					snapSpecs[op.Collection] = op.Index
				} else if s.indexes[op.Collection].Type != store.IndexHNSW {
					flats = append(flats, op.Collection)
				}
				op.Index, op.Deferred = store.IndexSpec{}, true
			}
			if err := s.index.Apply(op); err != nil {
				return err
			}
			if op.Kind == memory.OpCreate && op.Size > 0 {
				// the header pass checked nothing: a count the file's own
				// size cannot hold (4 bytes a dimension at least) is damage
				// the full read reports; reserve no more than could be there
				s.index.Reserve(op.Collection, int(min(int64(counts[op.Collection]), snapBytes/int64(4*op.Size))))
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
		for _, name := range flats {
			if _, err := s.index.SetIndex(name, store.IndexSpec{}); err != nil {
				return fmt.Errorf("vector snapshot %s: collection %s: %w", snapPath, name, err)
			}
		}
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
		end, rerr := readRecords(f, logMagic, s.index.Spare, func(lsn uint64, op *memory.Op) error {
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
			if op.Kind == memory.OpCreate || op.Kind == memory.OpDrop {
				delete(snapSpecs, op.Collection)
			}
			if err := s.index.Apply(op); err != nil {
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
	if err := s.adoptIndexes(snapSpecs); err != nil {
		return err
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
