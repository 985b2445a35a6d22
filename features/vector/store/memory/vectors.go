package memory

import "math/bits"

// vectors holds a collection's float32 vectors in blocks of 2^shift points
// (about blockBytes each), so that growing never copies what is held: a
// full block stays where it is and a new one is added. One contiguous
// slice grown by a quarter at a time copied every vector about four times
// over on its way to a size, each copy into fresh memory whose pages the
// copy faulted in: a burst of 20,000 upserts of dimension 384 into an
// in-memory collection spent two thirds of its CPU in that memmove (45,000
// to 72,000 points/s; see BUILD.md for the figures after). Only the first
// block grows geometrically, up to its full size, so that a small
// collection holds little more than its points; the others are made full.
type vectors struct {
	size  int // dimensions of a vector
	shift uint
	mask  int
	n     int // vectors held
	// every block holds 2^shift vectors but the first while it is the
	// only one: it holds len(blocks[0])/size, grown until it holds 2^shift
	blocks [][]float32
}

// blockBytes is about what a full block takes: large enough that a
// block's huge-page advice (adviseHuge) covers most of it, small enough
// that the unused part of the last block is a small share of a large
// collection (3 MiB at dimension 384 against 150 MiB at 100,000 points).
const blockBytes = 4 << 20

func newVectors(size int) vectors {
	per := max(1, blockBytes/(4*size))
	shift := uint(bits.Len(uint(per)) - 1) // the power of two at or below
	return vectors{size: size, shift: shift, mask: 1<<shift - 1}
}

// at returns vector i (i < n), capped, so that an append to it cannot
// reach the next.
func (v *vectors) at(i int) []float32 {
	b := v.blocks[i>>v.shift]
	o := (i & v.mask) * v.size
	return b[o : o+v.size : o+v.size]
}

// capacity is how many vectors fit without growing.
func (v *vectors) capacity() int {
	if len(v.blocks) == 0 {
		return 0
	}
	return (len(v.blocks)-1)<<v.shift + len(v.blocks[len(v.blocks)-1])/v.size
}

// grow makes room for k more vectors: the first block grows, at least
// doubling (what it leaves unused is under a block), up to its full size,
// and full blocks are added past it.
func (v *vectors) grow(k int) {
	need := v.n + k
	full := 1 << v.shift
	for v.capacity() < need {
		room := full
		if len(v.blocks) == 0 {
			room = min(full, need)
		} else if held := len(v.blocks[0]) / v.size; held < full {
			room = min(full, max(need, 2*held))
			b := make([]float32, room*v.size)
			adviseHuge(b)
			copy(b, v.blocks[0])
			v.blocks[0] = b
			continue
		}
		b := make([]float32, room*v.size)
		adviseHuge(b)
		v.blocks = append(v.blocks, b)
	}
}

// room returns the storage of the vectors past the first n+skip up to the
// end of their block (nil when there is none): where push finds a vector
// in place.
func (v *vectors) room(skip int) []float32 {
	i := v.n + skip
	if i >= v.capacity() {
		return nil
	}
	b := v.blocks[i>>v.shift]
	return b[(i&v.mask)*v.size:]
}

// push appends vec, which room may have placed where it goes already;
// grow made room for it.
func (v *vectors) push(vec []float32) {
	dst := v.at(v.n)
	if &dst[0] != &vec[0] {
		copy(dst, vec)
	}
	v.n++
}

// removeLast forgets the last vector and gives back the blocks more than
// one past the last held, so that a collection emptied by deletes does not
// keep its size.
func (v *vectors) removeLast() {
	v.n--
	used := (v.n + v.mask) >> v.shift // blocks holding a vector
	if len(v.blocks) > used+1 {
		clear(v.blocks[used+1:])
		v.blocks = v.blocks[:used+1]
	}
}
