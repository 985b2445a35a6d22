package durable

import (
	"context"
	"fmt"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
)

// The writes. Each is checked by the index (a plan), appended to the log and
// applied (commit) under wmu, and acknowledged after the fsync that covers
// its record, which runs after wmu is released (group commit).

// Create makes a flat collection.
func (s *Store) Create(ctx context.Context, name string, size int, d store.Distance) (bool, error) {
	return s.CreateIndexed(ctx, name, size, d, store.IndexSpec{})
}

// CreateIndexed makes a collection with the index spec chooses; created is
// false when an identical one exists.
func (s *Store) CreateIndexed(_ context.Context, name string, size int, d store.Distance, spec store.IndexSpec) (bool, error) {
	return s.write(func() (*memory.Change, error) { return s.index.PlanCreate(name, size, d, spec) })
}

func (s *Store) Delete(_ context.Context, name string) error {
	_, err := s.write(func() (*memory.Change, error) { return s.index.PlanDrop(name) })
	return err
}

// Upsert is all or nothing, as the index's: its payloads are encoded here
// within the index's bounds.
func (s *Store) Upsert(_ context.Context, name string, points []store.Point) error {
	b, err := s.index.Prepare(points)
	if err != nil {
		return err
	}
	_, err = s.write(func() (*memory.Change, error) { return s.index.PlanUpsert(name, b) })
	return err
}

// UpsertEncoded is Upsert for points whose payloads the caller encoded
// (store.EncodedWriter).
func (s *Store) UpsertEncoded(_ context.Context, name string, points []store.Encoded) error {
	b, err := s.index.PrepareEncoded(points)
	if err != nil {
		return err
	}
	_, err = s.write(func() (*memory.Change, error) { return s.index.PlanUpsert(name, b) })
	return err
}

// DeletePoints removes the points with these ids that are there and says
// how many; absent ids write nothing.
func (s *Store) DeletePoints(_ context.Context, name string, ids []store.ID) (int, error) {
	n := 0
	_, err := s.write(func() (*memory.Change, error) {
		ch, err := s.index.PlanDeletePoints(name, ids)
		if ch != nil {
			n = len(ch.Op.IDs)
		}
		return ch, err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// write runs one change: plan (nil: nothing to write), append, commit under
// wmu, then the fsync. written is false when the plan had nothing to write.
func (s *Store) write(plan func() (*memory.Change, error)) (written bool, err error) {
	lsn, err := func() (uint64, error) {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		ch, err := plan()
		if err != nil || ch == nil {
			return 0, err
		}
		lsn, err := s.appendLog(&ch.Op)
		if err != nil {
			return 0, err // the index is as it was
		}
		s.index.Commit(ch)
		return lsn, nil
	}()
	if err != nil || lsn == 0 {
		return false, err
	}
	return true, s.syncTo(lsn)
}

// appendLog appends op to the log as the next record and returns its lsn
// (the caller holds wmu). A failed append is cut back off the file, so the
// log holds whole records only and nothing is lost.
func (s *Store) appendLog(op *memory.Op) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken != nil {
		return 0, s.broken
	}
	if err := s.noteIndex(op); err != nil {
		return 0, err
	}
	s.buf = appendRecord(s.buf[:0], s.lsn+1, op)
	if _, err := s.f.Write(s.buf); err != nil {
		if terr := s.f.Truncate(s.size); terr != nil {
			s.broken = fmt.Errorf("%w: the vector log cannot be cut back after a failed write (%v); restart the service", store.ErrUnavailable, terr)
		}
		return 0, writeErr("append to the vector log", err)
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
	return lsn, nil
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

// writeErr classifies a failed write: no space is ErrFull (507), the rest
// ErrUnavailable.
func writeErr(what string, err error) error {
	if diskFull(err) {
		return fmt.Errorf("%w: disk full: %s: %v", store.ErrFull, what, err)
	}
	return fmt.Errorf("%w: %s: %v", store.ErrUnavailable, what, err)
}
