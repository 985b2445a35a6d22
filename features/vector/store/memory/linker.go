package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
)

// Deferred linking, as Qdrant's optimizer indexes segments after their
// points are acknowledged. An upsert into an HNSW collection stores its
// points and makes their nodes (newNode) but does not link them: a graph
// insert is a search at ef_construction, 100-1000 times the cost of
// storing the point. The Index's linker links the waiting nodes in the
// background, linkChunk at a time, each chunk under the write lock (so a
// search sees a node either fully linked or not at all, and searches run
// between chunks). A search scans the unlinked points exactly
// (graphSearch), so a point is found as soon as its upsert returns.
//
// Limits.MaxUnlinked bounds the unlinked points, and so the exact part of
// a search: an upsert that would leave more than max(MaxUnlinked, what
// waited before it) links the oldest waiting nodes itself before it
// returns (back-pressure). Inserts past the bound therefore go at the link
// rate, bursts up to it at the store's rate. The bound is not applied to
// what a reopen replays or a rebuild makes (Apply, SetIndex, a graph
// rebuilt after many deletes): those are linked in the background while
// the collection serves, and an upsert never makes the backlog grow.

// DefaultMaxUnlinked is the default bound of unlinked points per HNSW
// collection (the vector group's VECTOR_HNSW_MAX_UNLINKED). An unlinked
// point costs each search a float32 dot product: 20,000 of dimension 384
// are a 30 MB scan, a few milliseconds, about what a flat collection of
// 100,000 points costs; and 20,000 points are 200 upserts of 100 taken at
// the store's speed before the link rate sets the pace.
const DefaultMaxUnlinked = 20_000

// linkChunk is how many nodes the linker links under one hold of the write
// lock while nothing else asks for the index: at ef_construction 200 and
// dimension 384 an insert costs 0.3-1 ms of a core here, so a chunk is
// some tens of milliseconds, and the parallel link (link.go) has enough
// nodes to share among the cores. A change that comes meanwhile stops the
// chunk: its inserts under way finish, no other starts (linkNodes), so the
// change waits for one insert, not for the chunk (a client sending batches
// one after another, each arriving while a chunk had begun in the gap
// between them, went at 1,000-1,350 points/s over HTTP when it waited for
// the chunks). While searches or changes come (any in the last linkQuiet)
// it links one node at a time on one goroutine instead, so that a search,
// which does not stop a chunk, waits for one insert at most, and a core
// is left to the requests.
const linkChunk = 64

// linkQuiet is how long after the last search or change the linker keeps
// to one goroutine. A chunk takes every core, and a request arriving
// meanwhile is not even read until the runtime polls the network, which a
// scheduler with every P busy does only from sysmon, every 10 ms: over
// HTTP an upsert into an hnsw collection took 15-18 ms against 6 ms into a
// flat one while the linker went back to chunks between a client's
// batches. Qdrant's optimizer likewise leaves a CPU to serving
// (optimizer_cpu_budget).
const linkQuiet = 100 * time.Millisecond

// linker is the Index's background linking, guarded by the Index's mu.
type linker struct {
	// work holds the collections with nodes in pending
	work map[*collection]bool
	// running: a linker goroutine is on (wg counts it); paused: none is
	// started (PauseLinking); closed: none ever will be (Close)
	running, paused, closed bool
	wg                      sync.WaitGroup
	// progress is closed, and replaced, whenever a chunk was linked or the
	// linker stopped: WaitLinked waits on it
	progress chan struct{}
	// asks counts searches and changes, seen is its value when the last
	// chunk began: the linker takes one node at a time while they differ.
	// waiters counts the changes waiting for mu: the linker does not take
	// mu while there are any (idle is signalled when none is left), as
	// sync.Mutex lets the goroutine that unlocks take the lock again
	// before a waiter wakes, which held a burst of upserts to a few
	// thousand points/s. Searches need no such help: an RWMutex lets the
	// readers that waited in before the next writer.
	asks    atomic.Uint64
	seen    uint64
	askedAt time.Time // when the linker last saw asks move
	gate    sync.Mutex
	idle    *sync.Cond // on gate
	waiters int
	// wanting mirrors waiters for the linker's inserts, which read it
	// lock-free and give up their node while it is above 0 (insert)
	wanting atomic.Int32
}

// lockWrite and lockRead take the index's lock for a change or a search,
// ahead of the linker.
func (x *Index) lockWrite() { x.ahead(x.mu.Lock) }

// lockPlan is the read lock a change is checked under (Plan*): a change
// as well, ahead of the linker.
func (x *Index) lockPlan() { x.ahead(x.mu.RLock) }

func (x *Index) ahead(lock func()) {
	x.lk.asks.Add(1)
	x.lk.gate.Lock()
	x.lk.waiters++
	x.lk.wanting.Add(1)
	x.lk.gate.Unlock()
	lock()
	x.lk.gate.Lock()
	x.lk.waiters--
	x.lk.wanting.Add(-1)
	if x.lk.waiters == 0 {
		x.lk.idle.Broadcast()
	}
	x.lk.gate.Unlock()
}

func (x *Index) lockRead() {
	x.lk.asks.Add(1)
	x.mu.RLock()
}

// errNoLinker: nodes wait and no linker will come.
var errNoLinker = errors.New("no linker runs (the index is closed, or linking paused)")

// queue notes that c has nodes to link and starts the linker if none runs;
// the caller holds the write lock.
func (x *Index) queue(c *collection) {
	if c.g == nil || len(c.g.pending) == 0 {
		return
	}
	if x.lk.work == nil {
		x.lk.work = map[*collection]bool{}
	}
	x.lk.work[c] = true
	x.startLinker()
}

func (x *Index) startLinker() {
	if x.lk.running || x.lk.paused || x.lk.closed || len(x.lk.work) == 0 {
		return
	}
	x.lk.running = true
	x.lk.wg.Add(1)
	go x.runLinker()
}

// runLinker links chunks until no collection has nodes waiting, or the
// index is paused or closed.
func (x *Index) runLinker() {
	defer x.lk.wg.Done()
	for {
		// changes first
		x.lk.gate.Lock()
		for x.lk.waiters > 0 {
			x.lk.idle.Wait()
		}
		x.lk.gate.Unlock()
		x.mu.Lock()
		c := x.nextWork()
		if c == nil {
			x.lk.running = false
			x.signal()
			x.mu.Unlock()
			return
		}
		// a chunk on all cores while nothing else came for linkQuiet;
		// else one node. Either stops when a change comes: the
		// node's insert gives up, a chunk's inserts under way finish
		// (linkNodes)
		c.linkFirst(x.lk.chunk(time.Now()), &x.lk.wanting)
		if len(c.g.pending) == 0 {
			delete(x.lk.work, c)
		}
		x.signal()
		x.mu.Unlock()
	}
}

// chunk is how many nodes the linker takes next: linkChunk, or one while
// searches or changes came in the last linkQuiet before now; the caller
// holds the write lock.
func (lk *linker) chunk(now time.Time) int {
	if a := lk.asks.Load(); a != lk.seen {
		lk.seen, lk.askedAt = a, now
	}
	if now.Sub(lk.askedAt) < linkQuiet {
		return 1
	}
	return linkChunk
}

// nextWork returns a collection with nodes waiting (nil when none, or when
// the linker must stop); the caller holds the write lock.
func (x *Index) nextWork() *collection {
	if x.lk.paused || x.lk.closed {
		return nil
	}
	for c := range x.lk.work {
		if c.g != nil && len(c.g.pending) > 0 {
			return c
		}
		delete(x.lk.work, c)
	}
	return nil
}

func (x *Index) signal() {
	close(x.lk.progress)
	x.lk.progress = make(chan struct{})
}

// bound links the oldest waiting nodes of c until no more than
// max(MaxUnlinked, before) wait, before being how many waited before the
// change (the back-pressure of an upsert); the caller holds the write
// lock.
func (x *Index) bound(c *collection, before int) {
	if c.g == nil {
		return
	}
	limit := max(x.lim.MaxUnlinked, before)
	for c.g.nwait > limit {
		c.linkFirst(c.g.nwait-limit, nil)
	}
}

// PauseLinking keeps the linker from running until ResumeLinking (a
// reopen pauses it while it replays, so replay and linking do not take
// turns at the lock). Upserts still link past the bound.
func (x *Index) PauseLinking() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.lk.paused = true
}

// ResumeLinking starts the linker if nodes wait.
func (x *Index) ResumeLinking() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.lk.paused = false
	for _, c := range x.cols {
		x.queue(c)
	}
}

// Close stops the linker and waits for it (at most the chunk it is
// linking); nodes still waiting stay unlinked, searched exactly, and an
// upsert past the bound still links them itself. The index keeps serving.
func (x *Index) Close() error {
	x.mu.Lock()
	x.lk.closed = true
	x.mu.Unlock()
	x.lk.wg.Wait()
	return nil
}

// WaitLinked returns once every live point of collection name is linked
// into its graph (at once for a flat collection), or when ctx ends; an
// error when the collection is gone, or when nodes wait and no linker will
// come (paused or closed).
func (x *Index) WaitLinked(ctx context.Context, name string) error {
	for {
		x.mu.RLock()
		c, ok := x.cols[name]
		if !ok {
			x.mu.RUnlock()
			return fmt.Errorf("%w: %s", store.ErrCollectionNotFound, name)
		}
		if c.g == nil || c.g.nwait == 0 {
			x.mu.RUnlock()
			return nil
		}
		if x.lk.closed || x.lk.paused {
			n := c.g.nwait
			x.mu.RUnlock()
			return fmt.Errorf("%s: %d points unlinked: %w", name, n, errNoLinker)
		}
		if !x.lk.running {
			// none runs (none was needed when the nodes came, it stopped
			// meanwhile): start one, then the checks above again
			x.mu.RUnlock()
			x.mu.Lock()
			if c, ok := x.cols[name]; ok {
				x.queue(c)
			}
			x.mu.Unlock()
			continue
		}
		ch := x.lk.progress
		x.mu.RUnlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to be linked: %w", name, ctx.Err())
		}
	}
}
