package memory

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"math"
	"slices"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

// The graphs of HNSW collections can be saved so that a reopen does not
// rebuild them (a build costs minutes at a million points). The file is
// derived data: the caller stamps it with the log position it matches and
// attaches it only at that position; a graph that does not fit the points
// it is attached to (count, or the id at a node's position) is refused, and
// the caller builds the graph instead. Layout, little endian:
//
//	magic | u64 stamp | u32 collections | per collection:
//	  u16 name length, name | u32 m, ef_construction, dim, nodes, entry | i32 top | u32 dead | u64 rng
//	  u32 unlinked, unlinked u32 nodes (live, not yet linked, in the order the linker takes them)
//	  per node: i32 position | u8 level | u64 id hash (live) or f32 norm, f32 scale, codes (dead)
//	            per layer 0..level: u32 count, count u32 links
//	u32 CRC-32C of everything before
//
// The unlinked nodes are recorded, not linked before the file is written:
// the file is written at a graceful stop and after compactions, where
// linking up to the bound of unlinked points (minutes of CPU at 20,000)
// would hold the stop past its deadline and the writers meanwhile; a
// reopen queues them for the linker again. Version 1 files (magic ending
// \x01\n) predate deferred linking and have no unlinked list.
const graphMagic = "AVGRF\x00\x02\n"

const graphMagicV1 = "AVGRF\x00\x01\n"

var graphCRC = crc32.MakeTable(crc32.Castagnoli)

func idHash(id store.ID) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id.String()))
	return h.Sum64() | 1 // never 0
}

// WriteGraphs writes the graphs of every HNSW collection to w, under the
// read lock; stamp runs under the lock and returns the stamp to write.
func (x *Index) WriteGraphs(w io.Writer, stamp func() uint64) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	b := []byte(graphMagic)
	b = binary.LittleEndian.AppendUint64(b, stamp())
	names := make([]string, 0, len(x.cols))
	for n, c := range x.cols {
		if c.g != nil {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(names)))
	for _, n := range names {
		c := x.cols[n]
		g := c.g
		b = binary.LittleEndian.AppendUint16(b, uint16(len(n)))
		b = append(b, n...)
		for _, v := range []int{g.spec.M, g.spec.EfConstruction, c.size, len(g.pos), int(g.entry), g.top, g.dead} {
			b = binary.LittleEndian.AppendUint32(b, uint32(int32(v)))
		}
		b = binary.LittleEndian.AppendUint64(b, g.rng)
		b = binary.LittleEndian.AppendUint32(b, uint32(g.nwait))
		for _, n := range g.pending {
			if g.waiting[n] {
				b = binary.LittleEndian.AppendUint32(b, n)
			}
		}
		for node, at := range g.pos {
			b = binary.LittleEndian.AppendUint32(b, uint32(at))
			b = append(b, g.level[node])
			if at >= 0 {
				b = binary.LittleEndian.AppendUint64(b, idHash(c.ids[at]))
			} else {
				gh := g.ghosts[uint32(node)]
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(gh.norm))
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(gh.scale))
				for _, v := range gh.codes {
					b = append(b, byte(v))
				}
			}
			for l := 0; l <= int(g.level[node]); l++ {
				ls := g.links(uint32(node), l)
				b = binary.LittleEndian.AppendUint32(b, uint32(len(ls)))
				for _, v := range ls {
					b = binary.LittleEndian.AppendUint32(b, v)
				}
			}
		}
		if len(b) > 1<<20 {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	_, err := w.Write(b)
	return err
}

// Graphs is a decoded graph file, not yet attached.
type Graphs struct {
	Stamp uint64
	cols  map[string]*savedGraph
}

type savedGraph struct {
	spec   store.IndexSpec
	dim    int
	g      *graph
	hashes []uint64 // per node: the id hash of a live node's point
}

type rd struct {
	b   []byte
	err error
}

func (r *rd) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = errors.New("graph file ends early")
		return make([]byte, max(n, 0))
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
func (r *rd) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *rd) u64() uint64 { return binary.LittleEndian.Uint64(r.take(8)) }

// DecodeGraphs reads a file written by WriteGraphs.
func DecodeGraphs(data []byte) (*Graphs, error) {
	if len(data) < len(graphMagic)+12 {
		return nil, errors.New("not a graph file")
	}
	v1 := string(data[:len(graphMagic)]) == graphMagicV1
	if !v1 && string(data[:len(graphMagic)]) != graphMagic {
		return nil, errors.New("not a graph file")
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, graphCRC) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, errors.New("graph file checksum mismatch")
	}
	r := &rd{b: body[len(graphMagic):]}
	out := &Graphs{Stamp: r.u64(), cols: map[string]*savedGraph{}}
	ncols := int(r.u32())
	for i := 0; i < ncols && r.err == nil; i++ {
		name := string(r.take(int(binary.LittleEndian.Uint16(r.take(2)))))
		var h [7]int
		for j := range h {
			h[j] = int(int32(r.u32()))
		}
		spec, err := store.IndexSpec{Type: store.IndexHNSW, M: h[0], EfConstruction: h[1]}.Normalize()
		if err != nil {
			return nil, fmt.Errorf("graph of %s: %w", name, err)
		}
		dim, nodes := h[2], h[3]
		if dim < 1 || dim > store.MaxDimension || nodes < 0 || nodes > len(r.b)/9 || h[4] < 0 || (nodes > 0 && h[4] >= nodes) || h[5] < -1 || h[5] > 16 {
			return nil, fmt.Errorf("graph of %s: bad header", name)
		}
		g := newGraph(spec)
		g.entry, g.top, g.dead, g.rng = uint32(h[4]), h[5], h[6], r.u64()
		sg := &savedGraph{spec: spec, dim: dim, g: g, hashes: make([]uint64, nodes)}
		g.pos, g.level = make([]int32, nodes), make([]uint8, nodes)
		g.links0 = make([]uint32, nodes*(g.m0+1))
		g.waiting = make([]bool, nodes)
		if !v1 {
			cnt := int(r.u32())
			if cnt > nodes || cnt > len(r.b)/4 {
				return nil, fmt.Errorf("graph of %s: %d unlinked of %d nodes", name, cnt, nodes)
			}
			g.pending = make([]uint32, cnt)
			for k := range g.pending {
				n := r.u32()
				if int(n) >= nodes || g.waiting[n] || n == g.entry {
					return nil, fmt.Errorf("graph of %s: unlinked node %d of %d listed twice, past the end or the entry", name, n, nodes)
				}
				g.pending[k], g.waiting[n] = n, true
			}
			g.nwait = cnt
		}
		for n := 0; n < nodes && r.err == nil; n++ {
			g.pos[n] = int32(r.u32())
			g.level[n] = r.take(1)[0]
			if g.level[n] > 16 {
				return nil, fmt.Errorf("graph of %s: node %d at level %d", name, n, g.level[n])
			}
			if g.pos[n] >= 0 {
				sg.hashes[n] = r.u64()
			} else if g.waiting[n] {
				return nil, fmt.Errorf("graph of %s: unlinked node %d is dead", name, n)
			} else {
				gh := ghost{norm: math.Float32frombits(r.u32()), scale: math.Float32frombits(r.u32()), codes: make([]int8, dim)}
				for j, v := range r.take(dim) {
					gh.codes[j] = int8(v)
				}
				g.ghosts[uint32(n)] = gh
			}
			if g.level[n] > 0 {
				g.upper[uint32(n)] = make([]uint32, int(g.level[n])*(spec.M+1))
			}
			for l := 0; l <= int(g.level[n]); l++ {
				cnt := int(r.u32())
				limit := spec.M
				if l == 0 {
					limit = g.m0
				}
				if cnt > limit {
					return nil, fmt.Errorf("graph of %s: node %d has %d links on layer %d", name, n, cnt, l)
				}
				ls := make([]uint32, cnt)
				for k := range ls {
					if ls[k] = r.u32(); int(ls[k]) >= nodes {
						return nil, fmt.Errorf("graph of %s: node %d links to %d of %d", name, n, ls[k], nodes)
					}
				}
				g.setLinks(uint32(n), l, ls)
			}
		}
		out.cols[name] = sg
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, errors.New("graph file has bytes left over")
	}
	return out, nil
}

// Unlinked is how many live nodes the saved graph of collection name
// records as not yet linked (0 for a collection it does not hold).
func (gs *Graphs) Unlinked(name string) int {
	if sg, ok := gs.cols[name]; ok {
		return sg.g.nwait
	}
	return 0
}

// AttachGraphs gives each collection of gs its saved graph and spec when
// the graph fits the points the collection holds now, and returns the
// names it attached; the others are left as they are.
func (x *Index) AttachGraphs(gs *Graphs) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var done []string
	for name, sg := range gs.cols {
		c, ok := x.cols[name]
		if !ok || c.size != sg.dim || !c.attach(sg) {
			continue
		}
		x.queue(c) // its unlinked nodes
		done = append(done, name)
	}
	slices.Sort(done)
	return done
}

func (c *collection) attach(sg *savedGraph) bool {
	g := sg.g
	slots := make([]int32, len(c.ids))
	for i := range slots {
		slots[i] = -1
	}
	live := 0
	for n, at := range g.pos {
		if at < 0 {
			continue
		}
		if int(at) >= len(c.ids) || slots[at] >= 0 || idHash(c.ids[at]) != sg.hashes[n] {
			return false
		}
		slots[at] = int32(n)
		live++
	}
	if live != len(c.ids) || len(g.pos)-live != g.dead {
		return false
	}
	c.spec, c.g, c.slots, c.codes, c.scales, c.deferred = sg.spec, g, slots, nil, nil, false
	return true
}
