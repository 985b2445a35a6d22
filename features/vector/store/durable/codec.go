package durable

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
)

// File layout. A log file and a snapshot file both start with an 8-byte
// magic and hold framed records:
//
//	u32 body length | u32 CRC-32C of the body | body
//	body: u64 lsn | u8 kind | fields of the kind (little endian)
//
// A snapshot's records have lsn 0 and it ends with an end record whose lsn
// is the last log record the snapshot includes.
//
// A create is u32 size | u16 length, distance. In a snapshot, the create of
// a collection with an index other than flat goes on with u8 1 (hnsw) |
// u32 m | u32 ef_construction, so that a backup carries the index choice;
// log records never do (the file "indexes" keeps it, indexes.go), so that
// a log stays readable by the versions before. A version before this one
// refuses such a snapshot as damaged rather than lose the choice.
const (
	logMagic  = "AVLOG\x00\x01\n"
	snapMagic = "AVSNP\x00\x01\n"
	frameLen  = 8
	minBody   = 9 // u64 lsn, u8 kind
	// maxBody bounds one record: a batch of 1000 points of 65536
	// dimensions (256 MiB) with room for payloads.
	maxBody = 1 << 30
	kindEnd = 0xFF
	// indexHNSW tags the index spec of a snapshot's create
	indexHNSW = 1
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func appendID(b []byte, id store.ID) []byte {
	if id.UUID != "" {
		b = append(b, 1)
		return appendString(b, id.UUID)
	}
	b = append(b, 0)
	return binary.LittleEndian.AppendUint64(b, id.Num)
}

// appendRecord appends the framed record of op (kindEnd when op is nil).
func appendRecord(b []byte, lsn uint64, op *memory.Op) []byte {
	start := len(b)
	b = append(b, make([]byte, frameLen)...)
	b = binary.LittleEndian.AppendUint64(b, lsn)
	if op == nil {
		b = append(b, kindEnd)
	} else {
		b = append(b, byte(op.Kind))
		b = appendString(b, op.Collection)
		switch op.Kind {
		case memory.OpCreate:
			b = binary.LittleEndian.AppendUint32(b, uint32(op.Size))
			b = appendString(b, string(op.Distance))
			if lsn == 0 && op.Index.Type == store.IndexHNSW {
				b = append(b, indexHNSW)
				b = binary.LittleEndian.AppendUint32(b, uint32(op.Index.M))
				b = binary.LittleEndian.AppendUint32(b, uint32(op.Index.EfConstruction))
			}
		case memory.OpUpsert:
			b = binary.LittleEndian.AppendUint32(b, uint32(len(op.Points)))
			for _, p := range op.Points {
				b = appendID(b, p.ID)
				b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Vector)))
				for _, x := range p.Vector {
					b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
				}
				b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Payload)))
				b = append(b, p.Payload...)
			}
		case memory.OpDelete:
			b = binary.LittleEndian.AppendUint32(b, uint32(len(op.IDs)))
			for _, id := range op.IDs {
				b = appendID(b, id)
			}
		}
	}
	body := b[start+frameLen:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(body, crcTable))
	return b
}

// decoder reads the fields of one body; the first short read sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil || n > len(d.b) {
		d.err = errors.New("record body ends early")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() byte {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if v := d.take(8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) str() string {
	n := 0
	if v := d.take(2); v != nil {
		n = int(binary.LittleEndian.Uint16(v))
	}
	return string(d.take(n))
}

func (d *decoder) id() store.ID {
	if d.u8() == 1 {
		return store.ID{UUID: d.str()}
	}
	return store.ID{Num: d.u64()}
}

// vectorSpace hands the decoder of an upsert of collection the room its
// vectors are decoded into, past skip vectors it has decoded (see
// memory.Index.Spare); nil or too short, the decoder allocates.
type vectorSpace func(collection string, skip int) []float32

// decodeBody returns the record's lsn and its change (nil for kindEnd).
// An upsert's vectors are decoded into space's room while it lasts (space
// may be nil).
func decodeBody(body []byte, space vectorSpace) (uint64, *memory.Op, error) {
	d := &decoder{b: body}
	lsn := d.u64()
	kind := d.u8()
	if d.err != nil {
		return 0, nil, d.err
	}
	if kind == kindEnd {
		return lsn, nil, nil
	}
	op := &memory.Op{Kind: memory.Kind(kind), Collection: d.str()}
	switch op.Kind {
	case memory.OpCreate:
		op.Size = int(d.u32())
		op.Distance = store.Distance(d.str())
		if len(d.b) > 0 && d.err == nil {
			if t := d.u8(); t != indexHNSW {
				return 0, nil, fmt.Errorf("create of %s: unknown index type %d", op.Collection, t)
			}
			op.Index = store.IndexSpec{Type: store.IndexHNSW, M: int(d.u32()), EfConstruction: int(d.u32())}
		}
	case memory.OpDrop:
	case memory.OpUpsert:
		n := int(d.u32())
		if n > len(d.b) {
			return 0, nil, fmt.Errorf("upsert of %d points in %d bytes", n, len(d.b))
		}
		op.Points = make([]memory.Record, n)
		var slab []float32     // the record's vectors in place, or in one allocation
		spaced := space != nil // space's room not yet run out
		for i := range op.Points {
			p := &op.Points[i]
			p.ID = d.id()
			dim := int(d.u32())
			raw := d.take(4 * dim)
			if d.err != nil {
				break
			}
			if len(slab) < dim && spaced {
				// the room of the index's next block, where the next
				// vector goes if all before it were new points
				if slab = space(op.Collection, i); len(slab) < dim {
					spaced = false
				}
			}
			if len(slab) < dim {
				slab = make([]float32, max(dim, min(n-i, len(d.b)/4/max(dim, 1)+1)*dim))
			}
			p.Vector, slab = slab[:dim:dim], slab[dim:]
			for j := range p.Vector {
				p.Vector[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
			}
			if pl := d.take(int(d.u32())); len(pl) > 0 {
				p.Payload = append([]byte(nil), pl...)
			}
		}
	case memory.OpDelete:
		n := int(d.u32())
		if n > len(d.b) {
			return 0, nil, fmt.Errorf("delete of %d ids in %d bytes", n, len(d.b))
		}
		op.IDs = make([]store.ID, n)
		for i := range op.IDs {
			op.IDs[i] = d.id()
		}
	default:
		return 0, nil, fmt.Errorf("unknown record kind %d", kind)
	}
	if d.err != nil {
		return 0, nil, d.err
	}
	if len(d.b) != 0 {
		return 0, nil, fmt.Errorf("%d bytes left over after a record", len(d.b))
	}
	return lsn, op, nil
}

// tailError is a record that cannot be read: torn (the file ends inside
// it) or corrupt (its checksum or contents are wrong). Everything from
// offset on is the damaged tail.
type tailError struct {
	offset int64
	reason string
}

func (e *tailError) Error() string {
	return fmt.Sprintf("unreadable record at offset %d: %s", e.offset, e.reason)
}

// readRecords checks the magic and calls fn for each record in order. It
// returns the end offset of the last good record; a damaged record ends the
// reading with a *tailError, an error from fn ends it with that error
// (naming the record's offset).
func readRecords(r io.Reader, magic string, space vectorSpace, fn func(lsn uint64, op *memory.Op) error) (int64, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	head := make([]byte, len(magic))
	if n, err := io.ReadFull(br, head); err != nil {
		if n == 0 && err == io.EOF {
			return 0, &tailError{0, "empty file"}
		}
		return 0, &tailError{0, "file ends inside its header"}
	}
	if string(head) != magic {
		return 0, fmt.Errorf("not a vector store file (bad magic %q at offset 0)", head)
	}
	return readFrames(br, int64(len(magic)), space, func(off, _ int64, lsn uint64, op *memory.Op) error {
		if err := fn(lsn, op); err != nil {
			return fmt.Errorf("record at offset %d: %w", off, err)
		}
		return nil
	})
}

// readFrames reads the records of br, which starts at offset off of its
// file, calling fn with each one's offset and framed length; the rest is as
// readRecords.
func readFrames(br *bufio.Reader, off int64, space vectorSpace, fn func(off, n int64, lsn uint64, op *memory.Op) error) (int64, error) {
	var frame [frameLen]byte
	var body []byte
	for {
		n, err := io.ReadFull(br, frame[:])
		if err == io.EOF {
			return off, nil
		}
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				return off, &tailError{off, fmt.Sprintf("torn: the file ends %d bytes into a record header", n)}
			}
			return off, err
		}
		size := binary.LittleEndian.Uint32(frame[:4])
		if size > maxBody || size < minBody {
			return off, &tailError{off, fmt.Sprintf("corrupt: record length %d", size)}
		}
		if cap(body) < int(size) {
			body = make([]byte, size)
		}
		body = body[:size]
		if n, err := io.ReadFull(br, body); err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				return off, &tailError{off, fmt.Sprintf("torn: the file ends %d of %d bytes into a record", n, size)}
			}
			return off, err
		}
		if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(frame[4:]) {
			return off, &tailError{off, "corrupt: checksum mismatch"}
		}
		lsn, op, err := decodeBody(body, space)
		if err != nil {
			return off, &tailError{off, "corrupt: " + err.Error()}
		}
		if err := fn(off, frameLen+int64(size), lsn, op); err != nil {
			return off, err
		}
		off += frameLen + int64(size)
	}
}

// scanWindow is how much of a file nextRecord reads at a time.
const scanWindow = 1 << 20

// nextRecord looks for an intact record in r between from and end: a
// position whose frame length fits before end, whose lsn and kind the
// caller finds plausible (a cheap test first, so that a long damaged stretch
// costs about one read of it), whose checksum matches and whose body
// decodes. It returns the first one's offset and lsn. This is what tells a
// torn tail (nothing intact after the damage) from damage in the middle of
// a file (intact, acknowledged records after it).
func nextRecord(r io.ReaderAt, from, end int64, plausible func(lsn uint64, kind byte) bool) (int64, uint64, bool, error) {
	const peek = frameLen + 9 // the frame and the body's lsn and kind
	buf := make([]byte, scanWindow+peek)
	var body []byte
	for base := from; base+frameLen+minBody <= end; base += scanWindow {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), end-base)], base)
		if err != nil && err != io.EOF {
			return 0, 0, false, err
		}
		win := buf[:n]
		for i := 0; i < scanWindow && i+peek <= len(win); i++ {
			at := base + int64(i)
			size := int64(binary.LittleEndian.Uint32(win[i:]))
			if size < minBody || size > maxBody || at+frameLen+size > end {
				continue
			}
			if !plausible(binary.LittleEndian.Uint64(win[i+frameLen:]), win[i+frameLen+8]) {
				continue
			}
			if int64(i)+frameLen+size <= int64(len(win)) {
				body = win[i+frameLen : i+frameLen+int(size)]
			} else {
				body = make([]byte, size)
				if _, err := r.ReadAt(body, at+frameLen); err != nil {
					return 0, 0, false, err
				}
			}
			if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(win[i+4:]) {
				continue
			}
			if lsn, _, err := decodeBody(body, nil); err == nil {
				return at, lsn, true, nil
			}
		}
	}
	return 0, 0, false, nil
}
