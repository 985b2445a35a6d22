package memory

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

// TestVectorsGrowInBlocks: vectors pushed one by one and in batches stay
// where they were put once their block is full (only the last block
// grows, and only up to its full size), read back unchanged across block
// boundaries, and deletes give back whole blocks.
func TestVectorsGrowInBlocks(t *testing.T) {
	for _, size := range []int{1, 3, 384, store.MaxDimension} {
		v := newVectors(size)
		per := 1 << v.shift
		if per*4*size > blockBytes || (per > 1 && 2*per*4*size <= blockBytes) {
			t.Fatalf("size %d: %d vectors a block, %d bytes", size, per, per*4*size)
		}
		n := 3*per + per/2 + 1
		val := func(i, j int) float32 { return float32(i*7 + j) }
		var first []*float32 // each block's first vector, once the block is full
		for i := 0; i < n; i++ {
			if i%5 == 0 {
				v.grow(min(5, n-i)) // a batch's growth, as collection.grow
			}
			if v.capacity() < i+1 {
				t.Fatalf("size %d: room for %d after grow, pushing %d", size, v.capacity(), i)
			}
			vec := make([]float32, size)
			for j := range vec {
				vec[j] = val(i, j)
			}
			v.push(vec)
			if (i+1)%per == 0 {
				first = append(first, &v.at(i + 1 - per)[0])
			}
		}
		for b, p := range first {
			if &v.at(b * per)[0] != p {
				t.Fatalf("size %d: block %d moved after it was full", size, b)
			}
		}
		if len(v.blocks) != 4 || v.capacity() > n+n/4+5 {
			t.Fatalf("size %d: %d blocks, room for %d, for %d vectors", size, len(v.blocks), v.capacity(), n)
		}
		for _, i := range []int{0, per - 1, per, n - 1} {
			got := v.at(i)
			if len(got) != size || cap(got) != size || got[0] != val(i, 0) || got[size-1] != val(i, size-1) {
				t.Fatalf("size %d: vector %d reads %v..., len %d cap %d", size, i, got[0], len(got), cap(got))
			}
		}
		for v.n > per/2 {
			v.removeLast()
		}
		if len(v.blocks) != 2 {
			t.Fatalf("size %d: %d blocks kept for %d vectors", size, len(v.blocks), v.n)
		}
	}
}

// TestSpareAcrossBlocks: a load that decodes a batch into Spare's room,
// asking again past what it decoded when a block's room runs out (as the
// durable store's decoder does), has every vector of a batch of new points
// stored where it decoded it, across block boundaries, and a reserved
// collection (in whole blocks past the first) takes the points without
// moving any block.
func TestSpareAcrossBlocks(t *testing.T) {
	const dim = store.MaxDimension // 16 vectors a block
	x := New(Limits{MaxPoints: 1000, MaxCollections: 1, MaxBytes: 1 << 34, MaxPayloadBytes: 1 << 10, MaxPayloadDepth: 4})
	if _, err := x.Create(ctx, "c", dim, store.Dot); err != nil {
		t.Fatal(err)
	}
	c := x.cols["c"]
	per := 1 << c.vecs.shift
	const n = 70
	x.Reserve("c", n)
	if c.vecs.capacity() != (n+per-1)/per*per || len(c.vecs.blocks) != (n+per-1)/per {
		t.Fatalf("reserved room for %d in %d blocks", c.vecs.capacity(), len(c.vecs.blocks))
	}
	blocks := make([]*float32, len(c.vecs.blocks))
	for i, b := range c.vecs.blocks {
		blocks[i] = &b[0]
	}
	r := rand.New(rand.NewPCG(3, 4))
	var placed []*float32
	for done := 0; done < n; {
		k := min(25, n-done) // batches straddle the blocks' ends
		op := &Op{Kind: OpUpsert, Collection: "c", Points: make([]Record, k)}
		var room []float32
		for i := range op.Points {
			if len(room) < dim {
				room = x.Spare("c", i)
			}
			if len(room) < dim {
				t.Fatalf("no room for point %d of a batch at %d", i, done)
			}
			v := room[:dim:dim]
			room = room[dim:]
			for j := range v {
				v[j] = float32(r.NormFloat64())
			}
			placed = append(placed, &v[0])
			op.Points[i] = Record{ID: store.ID{Num: uint64(done + i)}, Vector: v}
		}
		if err := x.Apply(op); err != nil {
			t.Fatal(err)
		}
		done += k
	}
	for i, p := range placed {
		if &c.vecs.at(i)[0] != p {
			t.Fatalf("point %d was copied, not stored where it was decoded", i)
		}
	}
	for i, b := range c.vecs.blocks {
		if &b[0] != blocks[i] {
			t.Fatalf("block %d moved", i)
		}
	}
	if room := x.Spare("c", 0); len(room) != (c.vecs.capacity()-n)*dim {
		t.Fatalf("room for %d floats left, want the last block's %d vectors", len(room), c.vecs.capacity()-n)
	}
}

// TestDeferredIndex: a collection a reload makes without its index
// (Op.Deferred) keeps neither int8 codes nor graph nodes while its points
// come, deletes included, and answers a search exactly meanwhile; given
// flat, it makes the codes of every point, given hnsw its graph, and
// either answers as a collection made so from the start.
func TestDeferredIndex(t *testing.T) {
	for _, spec := range []store.IndexSpec{{Type: store.IndexFlat}, hnswSpec} {
		t.Run(spec.Type, func(t *testing.T) {
			const n, dim = 3000, 16
			x, ref := New(lim(n, 1)), New(lim(n, 1))
			defer x.Close()
			defer ref.Close()
			if err := x.Apply(&Op{Kind: OpCreate, Collection: "c", Size: dim, Distance: store.Cosine, Deferred: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := ref.CreateIndexed(ctx, "c", dim, store.Cosine, spec); err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(8, 9))
			x.Reserve("c", n)
			for i := 0; i < n; i += 500 {
				op := &Op{Kind: OpUpsert, Collection: "c"}
				var pts []store.Point
				for j := i; j < i+500; j++ {
					v := randVec(r, dim)
					op.Points = append(op.Points, Record{ID: store.ID{Num: uint64(j)}, Vector: v})
					pts = append(pts, store.Point{ID: store.ID{Num: uint64(j)}, Vector: v})
				}
				if err := x.Apply(op); err != nil {
					t.Fatal(err)
				}
				if err := ref.Upsert(ctx, "c", pts); err != nil {
					t.Fatal(err)
				}
			}
			var del []store.ID
			for i := 0; i < n; i += 7 {
				del = append(del, store.ID{Num: uint64(i)})
			}
			if err := x.Apply(&Op{Kind: OpDelete, Collection: "c", IDs: del}); err != nil {
				t.Fatal(err)
			}
			if _, err := ref.DeletePoints(ctx, "c", del); err != nil {
				t.Fatal(err)
			}
			if err := ref.WaitLinked(ctx, "c"); err != nil {
				t.Fatal(err)
			}
			c := x.cols["c"]
			if len(c.codes) != 0 || cap(c.codes) != 0 || c.g != nil {
				t.Fatalf("deferred: %d codes, graph %v", cap(c.codes), c.g != nil)
			}
			q := randVec(r, dim)
			want, _ := ref.SearchWith(ctx, "c", q, 10, nil, store.SearchParams{Exact: true})
			got, err := x.Search(ctx, "c", q, 10, nil)
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("deferred search: %v %v, want %v", got, err, want)
			}
			if _, err := x.SetIndex("c", spec); err != nil {
				t.Fatal(err)
			}
			if err := x.WaitLinked(ctx, "c"); err != nil {
				t.Fatal(err)
			}
			live := n - len(del)
			if spec.Type == store.IndexFlat && (len(c.codes) != live*dim || len(c.scales) != live) {
				t.Fatalf("flat: %d codes, %d scales for %d points", len(c.codes), len(c.scales), live)
			}
			if spec.Type == store.IndexHNSW && (c.g == nil || len(c.codes) != 0) {
				t.Fatal("hnsw: no graph, or codes")
			}
			for k := 0; k < 10; k++ {
				q := randVec(r, dim)
				want, _ := ref.SearchWith(ctx, "c", q, 10, nil, store.SearchParams{Exact: true})
				got, err := x.SearchWith(ctx, "c", q, 10, nil, store.SearchParams{Exact: true})
				if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%s search: %v %v, want %v", spec.Type, got, err, want)
				}
			}
		})
	}
}
