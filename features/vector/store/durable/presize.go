package durable

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"

	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
)

// snapshotCounts reads only the record headers of a snapshot and returns
// how many points each collection's upserts carry, so that the load can
// size each collection once instead of growing it point by point. It
// checks nothing: the load that follows reads and verifies every record,
// and a count from a damaged file only mis-sizes (the load then fails).
func snapshotCounts(path string) map[string]int {
	f, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	if _, err := br.Discard(len(snapMagic)); err != nil {
		return nil
	}
	counts := map[string]int{}
	// frame (8) | lsn (8) | kind (1) | name length (2) | name | count (4)
	var head [frameLen + 8 + 1 + 2]byte
	for {
		if _, err := io.ReadFull(br, head[:]); err != nil {
			return counts
		}
		size := int(binary.LittleEndian.Uint32(head[:4]))
		kind := memory.Kind(head[frameLen+8])
		rest := size - (len(head) - frameLen)
		if size > maxBody || rest < 0 {
			return counts
		}
		if kind == memory.OpUpsert {
			nameLen := int(binary.LittleEndian.Uint16(head[frameLen+9:]))
			buf := make([]byte, nameLen+4)
			if nameLen+4 > rest {
				return counts
			}
			if _, err := io.ReadFull(br, buf); err != nil {
				return counts
			}
			counts[string(buf[:nameLen])] += int(binary.LittleEndian.Uint32(buf[nameLen:]))
			rest -= len(buf)
		}
		if _, err := br.Discard(rest); err != nil {
			return counts
		}
	}
}
