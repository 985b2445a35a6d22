package durable

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
)

// The index each collection was created with lives in the file "indexes"
// (JSON: name -> spec, flat collections absent), beside the log: the log's
// record format predates index choices and stays as it is. A create that
// names an index rewrites the file (fsynced, renamed into place) before its
// log record is written, so a create that was acknowledged always finds
// its spec at reopen; an entry whose create never reached the log names a
// collection that does not exist, and is dropped at the next reopen or
// overwritten by the next create of that name. A drop leaves the entry:
// it is stale only until the name is created again, which rewrites it.
// Snapshots (and so backups) carry each collection's index in its create
// record too (codec.go): a reopen records what the snapshot says for the
// collections no later logged create or drop concerns (adoptIndexes).
const indexesFile = "indexes"

func (s *Store) readIndexes() (map[string]store.IndexSpec, error) {
	path := filepath.Join(s.dir, indexesFile)
	b, err := readFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]store.IndexSpec{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vector index list %s cannot be read: %w", path, err)
	}
	m := map[string]store.IndexSpec{}
	if err := json.Unmarshal(b, &m); err != nil {
		// written whole and renamed into place, like the snapshot
		return nil, fmt.Errorf("vector index list %s is damaged (%v): restore it from a backup, or delete it to reopen every collection as flat", path, err)
	}
	return m, nil
}

func (s *Store) writeIndexes(m map[string]store.IndexSpec) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return replaceFile(s.dir, indexesFile, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// noteIndex records the index of a create before its log record is
// written (appendLog calls it under s.mu).
func (s *Store) noteIndex(op *memory.Op) error {
	if op.Kind != memory.OpCreate {
		return nil
	}
	spec, err := op.Index.Normalize()
	if err != nil {
		return err
	}
	old, had := s.indexes[op.Collection]
	flat := spec.Type == store.IndexFlat
	if (flat && !had) || (had && old == spec) {
		return nil
	}
	next := make(map[string]store.IndexSpec, len(s.indexes)+1)
	for k, v := range s.indexes {
		next[k] = v
	}
	if flat {
		delete(next, op.Collection)
	} else {
		next[op.Collection] = spec
	}
	if err := s.writeIndexes(next); err != nil {
		return writeErr("record the index of collection "+op.Collection, err)
	}
	s.indexes = next
	return nil
}

// adoptIndexes records the index choices a snapshot carried (load) in the
// indexes file where it says otherwise: a backup restored into an empty
// directory brings its collections' choices this way. The snapshot's
// choice is that of the create it holds, which no logged create or drop
// superseded (load drops those), so it wins over the file's entry for the
// name, which can only be stale or that same choice.
func (s *Store) adoptIndexes(specs map[string]store.IndexSpec) error {
	var next map[string]store.IndexSpec
	for name, spec := range specs {
		spec, err := spec.Normalize()
		if err != nil {
			return fmt.Errorf("vector snapshot: the index of collection %s: %w", name, err)
		}
		if s.indexes[name] == spec {
			continue
		}
		if next == nil {
			next = maps.Clone(s.indexes)
		}
		next[name] = spec
	}
	if next == nil {
		return nil
	}
	if err := s.writeIndexes(next); err != nil {
		return fmt.Errorf("vector index list: record the indexes the snapshot carries: %w", err)
	}
	s.indexes = next
	return nil
}

// buildIndexes gives each loaded collection the index it was created with,
// building its graph; entries for collections that are gone are dropped.
func (s *Store) buildIndexes(ctx context.Context) error {
	names := make([]string, 0, len(s.indexes))
	for n := range s.indexes {
		names = append(names, n)
	}
	slices.Sort(names)
	stale := false
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("building the index of %s stopped: %w", n, err)
		}
		built, err := s.index.SetIndex(n, s.indexes[n])
		if built {
			s.loaded.Built = append(s.loaded.Built, n)
		}
		switch {
		case errors.Is(err, store.ErrCollectionNotFound):
			delete(s.indexes, n)
			stale = true
		case err != nil:
			return fmt.Errorf("vector index list: collection %s: %w", n, err)
		}
	}
	if stale {
		if err := s.writeIndexes(s.indexes); err != nil {
			return fmt.Errorf("vector index list: drop stale entries: %w", err)
		}
	}
	return nil
}

// The graphs of HNSW collections are saved in the file "graphs" (see
// memory.WriteGraphs) when the store closes and after each compaction,
// stamped with the last log record they include. A reopen attaches them
// when its replay reaches that record, then replays the rest of the log
// into them; a graph that is missing, damaged, or does not fit the points
// is rebuilt from the points instead. The file is derived data: losing it
// costs time, never points.
const graphsFile = "graphs"

// saveGraphs writes the graphs file (or removes it when no collection has
// a graph). It holds wmu, so the stamp is the last record the graphs
// include: writers wait meanwhile.
func (s *Store) saveGraphs() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	path := filepath.Join(s.dir, graphsFile)
	has := false
	for _, spec := range s.indexSpecs() {
		has = has || spec.Type == store.IndexHNSW
	}
	if !has {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	err := replaceFile(s.dir, graphsFile, func(f io.Writer) error {
		crc := crc32.New(crcTable)
		bw := bufio.NewWriterSize(io.MultiWriter(f, crc), 1<<20)
		err := s.index.WriteGraphs(bw, func() uint64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.lsn
		})
		if err == nil {
			err = bw.Flush()
		}
		if err == nil {
			_, err = f.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("save vector graphs: %w", err)
	}
	return nil
}

func (s *Store) indexSpecs() map[string]store.IndexSpec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.indexes)
}

// readGraphs loads the graphs file for the reopen (nil when there is none
// or it cannot be used, which warn is told).
func (s *Store) readGraphs(warn func(string)) *memory.Graphs {
	path := filepath.Join(s.dir, graphsFile)
	b, err := readFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var gs *memory.Graphs
	if err == nil {
		gs, err = memory.DecodeGraphs(b)
	}
	if err != nil {
		if warn != nil {
			warn(fmt.Sprintf("VECTOR: graph file %s not used (%v): graphs are rebuilt from the points", path, err))
		}
		return nil
	}
	return gs
}

// graphsAt attaches the saved graphs once the replay reaches their stamp
// (load calls it after the snapshot and after each log record).
func (s *Store) graphsAt() {
	if s.graphs == nil || s.lsn != s.graphs.Stamp {
		return
	}
	s.loaded.Graphs = s.index.AttachGraphs(s.graphs)
	s.graphs = nil
}
