package durable

import (
	"errors"
	"fmt"
	"os"

	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
)

// SalvageHint is what a refusal to load tells the operator to do.
const SalvageHint = "copy what is readable into a new directory with `advanced-backend vector-salvage --from DIR --to NEWDIR` and start on that one (README: Durable store recovery)"

// DamageError is a data file that is damaged where a crash cannot have
// damaged it: a snapshot, a log file other than the last, or the last log
// file with intact records after the damage. Start-up stops on it (exit 2):
// loading past it would drop acknowledged writes.
type DamageError struct {
	File   string // absolute path
	Offset int64  // where the damage starts
	Reason string
	// Next is the offset of the first intact record after the damage in the
	// last log file (NextRecord its lsn); -1 when not looked for.
	Next       int64
	NextRecord uint64
}

func (e *DamageError) Error() string {
	msg := fmt.Sprintf("vector data file %s is damaged at offset %d (%s)", e.File, e.Offset, e.Reason)
	if e.Next >= 0 {
		msg += fmt.Sprintf(", and an intact record (record %d) follows at offset %d: this is not a torn tail, and cutting it would drop acknowledged writes", e.NextRecord, e.Next)
	}
	return msg + "; " + SalvageHint
}

// checkTorn tells a torn tail of the last log file from damage in its
// middle. A crash can only leave the end of the last append incomplete (or
// garbage where an unsynced append was going, which fsync had not covered,
// so nothing after it was acknowledged): then no intact record with a later
// lsn follows the damage. If one does, the damage is not a crash's, and the
// records after it were acknowledged: the caller must not cut them. last is
// the lsn of the last record read before the damage (the file's first lsn
// minus one when there is none).
func checkTorn(path string, te *tailError, last uint64) error {
	f, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("vector log %s: look past the damage at offset %d: %w", path, te.offset, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("vector log %s: %w", path, err)
	}
	at, lsn, found, err := nextRecord(f, te.offset+1, st.Size(), logRecordAfter(last))
	if err != nil {
		return fmt.Errorf("vector log %s: look past the damage at offset %d: %w", path, te.offset, err)
	}
	if found {
		return &DamageError{File: path, Offset: te.offset, Reason: te.reason, Next: at, NextRecord: lsn}
	}
	return nil
}

// logRecordAfter is nextRecord's test for a log record that may follow
// record last: a later lsn, but not by more than maxLost (whole records can
// be missing, not just damaged in place, so the bytes in between bound
// nothing), and a change's kind. Random bytes pass it about once in 2^38
// tries, so a long damaged stretch costs about one read of it, not a
// checksum at every offset.
func logRecordAfter(last uint64) func(uint64, byte) bool {
	return func(lsn uint64, kind byte) bool {
		return lsn > last && lsn-last <= maxLost && kind >= byte(memory.OpCreate) && kind <= byte(memory.OpDelete)
	}
}

// maxLost bounds how many records the damage may have swallowed for an
// intact record after it to count (see logRecordAfter).
const maxLost = 1 << 32

// damaged turns a *tailError in a file where no crash can tear a record
// into a *DamageError; other errors pass.
func damaged(path string, err error) error {
	var te *tailError
	if errors.As(err, &te) {
		return &DamageError{File: path, Offset: te.offset, Reason: te.reason, Next: -1}
	}
	return err
}
