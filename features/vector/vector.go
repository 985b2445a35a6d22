// Package vector is the vector group (build tag vector): a vector store
// under /api/v2/vector (Qdrant over gRPC when QDRANT_URL is set, else the
// embedded index, kept durably in VECTOR_DATA_DIR by store/durable or in
// memory only with VECTOR_DATA_DIR=:memory:), and Redis for shared state when REDIS_URL is
// set (one server, or a Redis Cluster when it names several nodes): the response cache (groupapi.ResponseCache, used by llm) and a
// GCRA rate limiter shared by replicas (groupapi.Limiter, used by core).
// Text inputs are embedded through the groupapi.Embedder the llm group
// provides, when it is linked and ready.
package vector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/advanced-backend/advanced-backend/features/groupdesc"
	"github.com/advanced-backend/advanced-backend/features/vector/cluster"
	"github.com/advanced-backend/advanced-backend/features/vector/redisstate"
	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/features/vector/store/durable"
	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
	"github.com/advanced-backend/advanced-backend/features/vector/store/qdrantstore"
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// probeInterval is how often a remote store is probed.
const probeInterval = 5 * time.Second

func init() {
	capability.Register(capability.GroupInfo{Name: groupdesc.Vector.Name, New: func(v config.Values) groupapi.Feature { return newFeature(v) }, Settings: Settings(), Uses: uses,
		Commands: []capability.Command{salvageCommand}})
}

// uses are the shared services vector reads (llm's embedder, core's cluster
// member) and provides (with REDIS_URL: the response cache, the shared
// limiter, the cluster latency store).
var uses = capability.Uses{
	Reads:    []groupapi.AnyKey{capability.EmbedderKey, capability.ClusterMemberKey},
	Provides: []groupapi.AnyKey{capability.CacheKey, capability.LimiterKey, capability.ClusterKey},
}

// shared are vector's sides of those services.
type shared struct {
	embedder groupapi.Source[groupapi.Embedder]
	member   groupapi.Source[groupapi.ClusterMember]
	cache    groupapi.Provider[groupapi.ResponseCache]
	limiter  groupapi.Provider[groupapi.Limiter]
	cluster  groupapi.Provider[groupapi.ClusterLatency]
}

// sharedFrom takes every side in Setup, whatever the configuration, so a
// declaration that does not match the code fails Setup in every build.
func sharedFrom(gs *groupapi.GroupServices) (*shared, error) {
	var s shared
	var errs [5]error
	s.embedder, errs[0] = groupapi.SourceOf(gs, capability.EmbedderKey)
	s.member, errs[1] = groupapi.SourceOf(gs, capability.ClusterMemberKey)
	s.cache, errs[2] = groupapi.ProviderOf(gs, capability.CacheKey)
	s.limiter, errs[3] = groupapi.ProviderOf(gs, capability.LimiterKey)
	s.cluster, errs[4] = groupapi.ProviderOf(gs, capability.ClusterKey)
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return &s, nil
}

// newFeature builds an instance with its settings bound.
func newFeature(v config.Values) *feature { return &feature{cfg: configFrom(v)} }

type feature struct {
	cfg     Config
	shared  *shared // nil before Setup
	phase   groupapi.Phase
	logger  *slog.Logger
	redis   *redisstate.Guard // nil without REDIS_URL
	cluster *cluster.Cluster  // nil without REDIS_URL

	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.RWMutex
	store       store.Store // nil until Start
	storeOK     bool
	storeDetail string
}

// Setup mounts the routes and, with REDIS_URL, offers the shared cache and
// limiter. Building the Redis client does no I/O; it dials on first use.
func (f *feature) Setup(h *groupapi.Host) error {
	sh, err := sharedFrom(h.Services)
	if err != nil {
		return err
	}
	f.shared = sh
	f.phase = h.Phase
	f.logger = h.Logger
	if f.logger == nil {
		f.logger = slog.Default()
	}
	if f.cfg.RedisURL != "" {
		g, err := redisstate.New(redisstate.Options{
			URL:           f.cfg.RedisURL,
			Timeout:       f.cfg.RedisTimeout,
			RetryInterval: f.cfg.RedisRetryInterval,
			OnChange:      f.redisChanged,
			Metrics:       h.Metrics,
			Logger:        f.logger,
		})
		if err != nil {
			return err
		}
		f.redis = g
		sh.cache.Provide(redisstate.NewCache(g))
		if h.Core.RateLimitRPS > 0 {
			sh.limiter.Provide(redisstate.NewLimiter(g, h.Core.RateLimitRPS, h.Core.RateLimitBurst))
		}
		if err := f.setupCluster(h, g); err != nil {
			return err
		}
	}
	f.mount(h)
	return nil
}

// setupCluster offers the shared latency store (cluster mode) when core
// provided this replica's member view; the publisher starts in Start.
func (f *feature) setupCluster(h *groupapi.Host, g *redisstate.Guard) error {
	m, ok := f.shared.member.Get()
	if !ok {
		return nil
	}
	cc := h.Core.Cluster
	cl, err := cluster.New(cluster.Options{Guard: g, Member: m, Interval: cc.PublishInterval, TTL: cc.TTL,
		MaxBytes: cc.MaxPublishBytes, Logger: f.logger, Metrics: h.Metrics})
	if err != nil {
		return err
	}
	f.cluster = cl
	f.shared.cluster.Provide(cl)
	if f.phase != nil {
		f.phase.Info("cluster", fmt.Sprintf("CLUSTER: replica %s publishes its latency window to Redis every %s (ttl %s, at most %d bytes)",
			m.ReplicaID(), cc.PublishInterval, cc.TTL, cc.MaxPublishBytes))
	}
	return nil
}

func (f *feature) redisChanged(up bool, detail string) {
	if f.phase == nil {
		return
	}
	if up {
		f.phase.Info("redis", "REDIS: reachable again at "+redisWhere(f.redis)+" - shared limits and the response cache are back")
		return
	}
	f.phase.Warn("redis", "REDIS: unreachable at "+redisWhere(f.redis)+" ("+detail+") - rate limits fall back to local buckets, the response cache is bypassed, scope=cluster answers 503")
}

// redisWhere is the address in phase messages: host:port, or "cluster
// h1:p1,h2:p2,..." for a Redis Cluster.
func redisWhere(g *redisstate.Guard) string { return strings.TrimPrefix(g.Describe(), "redis ") }

// Start builds the store (the Qdrant client does not dial: its version
// check, which can block for a minute, is skipped) and starts the
// background probes, owned by Stop.
func (f *feature) Start(ctx context.Context) error {
	var st store.Store
	if f.cfg.QdrantURL != "" {
		q, err := qdrantstore.New(qdrantstore.Options{
			URL: f.cfg.QdrantURL, APIKey: f.cfg.QdrantAPIKey, TLS: f.cfg.QdrantTLS,
			CAFile: f.cfg.QdrantCAFile, Timeout: f.cfg.QdrantTimeout,
		})
		if err != nil {
			return err
		}
		st = q
	} else {
		var err error
		if st, err = f.openEmbedded(ctx); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.store = st
	f.storeOK = f.cfg.QdrantURL == ""
	f.storeDetail = "not probed yet"
	f.mu.Unlock()

	pctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	if f.cfg.QdrantURL != "" {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.probeStore(pctx)
		}()
	}
	if f.redis != nil {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.redis.Run(pctx)
		}()
	}
	if f.cluster != nil {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.cluster.Run(pctx)
		}()
	}
	return nil
}

// limits are the embedded index's bounds from the settings.
func (f *feature) limits() memory.Limits {
	return memory.Limits{
		MaxPoints: f.cfg.MemoryMaxPoints, MaxCollections: f.cfg.MemoryMaxCollections, MaxBytes: f.cfg.MemoryMaxBytes,
		MaxPayloadBytes: f.cfg.MaxPayloadBytes, MaxPayloadDepth: f.cfg.MaxPayloadDepth,
		MaxUnlinked: f.cfg.HNSWMaxUnlinked,
	}
}

// openEmbedded opens the embedded index: durable in VECTOR_DATA_DIR, or in
// memory only. A directory that cannot be used is fatal (exit 2): serving
// without the acknowledged data would answer wrongly.
func (f *feature) openEmbedded(ctx context.Context) (store.Store, error) {
	if f.cfg.DataDir == "" {
		return nil, fmt.Errorf("%w: VECTOR_DATA_DIR is empty: name a directory, or %s to keep the index in memory only", groupapi.ErrFatal, MemoryOnly)
	}
	if f.cfg.DataDir == MemoryOnly {
		f.phaseInfo("VECTOR: embedded index in memory only (VECTOR_DATA_DIR=" + MemoryOnly + "): nothing is kept across restarts")
		return memory.New(f.limits()), nil
	}
	d, err := durable.Open(ctx, durable.Options{Dir: f.cfg.DataDir, Limits: f.limits(), Warn: func(msg string) {
		if f.phase != nil {
			f.phase.Warn("vector", msg)
		}
	}})
	if err != nil {
		if ctx.Err() != nil { // out of time, not a bad directory: the group is reported not ready
			return nil, fmt.Errorf("embedded vector index in %s: %w (raise GROUP_START_TIMEOUT for a large index)", f.cfg.DataDir, err)
		}
		return nil, fmt.Errorf("%w: %w", groupapi.ErrFatal, err)
	}
	l := d.Loaded()
	from := "an empty directory"
	if l.Snapshot || l.LogRecords > 0 {
		from = fmt.Sprintf("snapshot %t, %d log records replayed", l.Snapshot, l.LogRecords)
	}
	f.phaseInfo(fmt.Sprintf("VECTOR: embedded durable index at %s: loaded %d collections, %d points (%d bytes) in %s (%s)",
		d.Dir(), l.Collections, l.Points, l.Bytes, l.Took.Round(time.Microsecond), from))
	return d, nil
}

func (f *feature) phaseInfo(msg string) {
	if f.phase != nil {
		f.phase.Info("vector", msg)
	} else {
		f.logger.Info(msg)
	}
}

func (f *feature) probeStore(ctx context.Context) {
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		f.probeStoreOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probeStoreOnce pings the store and records the outcome, with a phase
// event when readiness changes.
func (f *feature) probeStoreOnce(ctx context.Context) {
	f.mu.RLock()
	st := f.store
	f.mu.RUnlock()
	if st == nil {
		return
	}
	err := st.Ping(ctx)
	if ctx.Err() != nil {
		return
	}
	f.mu.Lock()
	was := f.storeOK
	f.storeOK = err == nil
	f.storeDetail = "ok"
	if err != nil {
		f.storeDetail = err.Error()
	}
	f.mu.Unlock()
	if was != (err == nil) && f.phase != nil {
		if err == nil {
			f.phase.Info("vector", "VECTOR: "+st.Backend()+" answers")
		} else {
			f.phase.Warn("vector", "VECTOR: "+st.Backend()+" does not answer: "+err.Error())
		}
	}
}

func (f *feature) Stop(ctx context.Context) error {
	if f.cancel != nil {
		f.cancel()
		f.wg.Wait()
	}
	var errs []string
	f.mu.Lock()
	st := f.store
	f.store = nil
	f.mu.Unlock()
	if st != nil {
		if err := st.Close(); err != nil {
			errs = append(errs, "store: "+err.Error())
		}
	}
	if f.redis != nil {
		if err := f.redis.Close(); err != nil {
			errs = append(errs, "redis: "+err.Error())
		}
	}
	if errs != nil {
		return fmt.Errorf("close vector clients: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Status is ready when the store answers (the embedded index always does)
// and, when REDIS_URL is set, Redis answers PING; degraded when Redis or
// Qdrant does not answer (local limits, vector routes 503 meanwhile).
func (f *feature) Status() groupapi.Status {
	f.mu.RLock()
	st, ok, detail := f.store, f.storeOK, f.storeDetail
	f.mu.RUnlock()
	if st == nil {
		return groupapi.Status{Detail: "not started"}
	}
	var notes []string
	info := f.storeInfo(st)
	if d, isDurable := st.(*durable.Store); isDurable {
		if ls := d.LogState(); ls.Broken != "" {
			ok, detail = false, ls.Broken
		}
	}
	if f.cfg.QdrantURL == "" {
		notes = append(notes, "store: "+st.Backend())
		if !ok {
			notes = append(notes, "log: "+detail)
		}
	} else {
		notes = append(notes, "store: "+st.Backend()+": "+detail)
	}
	ready := ok
	// Qdrant unreachable degrades (its routes answer 503 until the probe
	// finds it again); a damaged embedded log does not: an operator must act.
	degraded := !ok && f.cfg.QdrantURL != ""
	if f.redis == nil {
		notes = append(notes, "redis: REDIS_URL not set (cache off, local rate limits)")
	} else {
		rok, rdetail := f.redis.Status()
		if rok {
			notes = append(notes, f.redis.Describe()+": ok (shared cache and rate limits)")
		} else {
			notes = append(notes, f.redis.Describe()+": "+rdetail+" (cache bypassed, local rate limits)")
			// Redis down is a graceful fallback, not a broken store.
			degraded = degraded || ready
			ready = false
		}
	}
	_, emb := f.embedderState()
	notes = append(notes, "text embeddings: "+emb)
	return groupapi.Status{Ready: ready, Degraded: degraded, Detail: strings.Join(notes, "; "), Info: map[string]any{"store": info}}
}

// storeInfo is the store's part of /ml-capabilities: backend, directory,
// what was loaded at start, what is held and the bounds.
func (f *feature) storeInfo(st store.Store) map[string]any {
	info := map[string]any{}
	bounds := map[string]any{
		"max_payload_bytes": f.cfg.MaxPayloadBytes, "max_payload_depth": f.cfg.MaxPayloadDepth,
	}
	info["bounds"] = bounds
	switch x := st.(type) {
	case *durable.Store:
		info["backend"], info["durable"], info["data_dir"] = "embedded", true, x.Dir()
		info["loaded"], info["log"] = x.Loaded(), x.LogState()
		info["held"] = x.Stats()
	case *memory.Index:
		info["backend"], info["durable"], info["data_dir"] = "embedded", false, MemoryOnly
		info["held"] = x.Stats()
	default:
		info["backend"], info["durable"] = "qdrant", true
		return info
	}
	bounds["max_points"], bounds["max_collections"], bounds["max_bytes"] = f.cfg.MemoryMaxPoints, f.cfg.MemoryMaxCollections, f.cfg.MemoryMaxBytes
	return info
}

// embedderState reports whether text can be embedded, and says why not.
func (f *feature) embedderState() (bool, string) {
	if f.shared == nil {
		return false, "no embedder"
	}
	e, ok := f.shared.embedder.Get()
	if !ok {
		return false, "no embedder is provided (the llm group is not linked)"
	}
	if !e.Ready() {
		return false, "the llm group's embedding provider is not ready (the group is switched off, or OPENAI_API_KEY is not set)"
	}
	return true, "ready (llm group)"
}

func (f *feature) currentStore() store.Store {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.store
}
