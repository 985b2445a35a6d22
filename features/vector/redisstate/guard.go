// Package redisstate is the vector group's shared state in Redis: a response
// cache (groupapi.ResponseCache) and a GCRA rate limiter
// (groupapi.Limiter, via redis_rate) that replicas share. Both go through a
// Guard, a circuit breaker that bounds every call and, once Redis fails,
// answers "unavailable" at once (no network wait) until a background probe
// finds Redis again. Callers then bypass the cache and core falls back to its
// local buckets; a dead Redis costs a request at most one bounded call.
//
// REDIS_URL names one Redis, or several nodes of a Redis Cluster
// (redis://h1:p1,h2:p2,h3:p3). On a cluster every key is one slot's business:
// the limiter's script touches one key whose hash tag is the client
// (LimitKey), cache entries are single keys, and the breaker's probe asks
// every master, so a master lost (and not yet replaced by its replica)
// sends every replica to local limits until the cluster is whole again.
package redisstate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// ErrUnavailable is returned while Redis is considered down.
var ErrUnavailable = errors.New("redis unavailable")

// Options configure the client and the breaker.
type Options struct {
	URL string
	// Timeout bounds dialling, each read and write, and each call.
	Timeout time.Duration
	// RetryInterval is how often the background probe PINGs Redis.
	RetryInterval time.Duration
	// OnChange is told when Redis goes down (up=false) or comes back.
	OnChange func(up bool, detail string)
	// Metrics registers the redis metrics (nil: not registered).
	Metrics groupapi.Metrics
	// Logger receives go-redis's own messages (dial failures...) at debug
	// level; the breaker reports state changes through OnChange instead.
	// go-redis has one process-wide logger. Nil leaves it alone.
	Logger *slog.Logger
}

type redisLog struct{ l *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}

// state of the breaker
const (
	unknown = iota // not probed, calls allowed
	up             // closed: calls allowed
	down           // open: calls refused at once
)

// Guard owns the Redis client and the breaker.
type Guard struct {
	client   client
	addr     string
	cluster  bool
	timeout  time.Duration
	retry    time.Duration
	onChange func(bool, string)

	upGauge  prometheus.Gauge
	changes  *prometheus.CounterVec
	bypassed *prometheus.CounterVec

	mu     sync.Mutex
	state  int
	detail string
}

// New parses the URL and builds the client without dialling. A URL that
// names several nodes is a Redis Cluster (see newClient).
func New(o Options) (*Guard, error) {
	cl, addr, isCluster, err := newClient(o.URL, o.Timeout)
	if err != nil {
		return nil, err
	}
	if o.Logger != nil {
		redis.SetLogger(redisLog{o.Logger})
	}
	g := &Guard{
		client:   cl,
		addr:     addr,
		cluster:  isCluster,
		timeout:  o.Timeout,
		retry:    o.RetryInterval,
		onChange: o.OnChange,
		detail:   "not probed yet",
		upGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "advanced_backend_redis_up",
			Help: "1 while Redis answers, 0 while the cache is bypassed and limits are local.",
		}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advanced_backend_redis_state_changes_total",
			Help: "Redis fallback (to=down) and recovery (to=up) events.",
		}, []string{"to"}),
		bypassed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advanced_backend_redis_fallback_total",
			Help: "Calls that went without Redis (cache bypassed, limiter fell back to local buckets) by operation.",
		}, []string{"op"}),
	}
	if o.Metrics != nil {
		for _, c := range []prometheus.Collector{g.upGauge, g.changes, g.bypassed} {
			if err := o.Metrics.Register(c); err != nil {
				return nil, fmt.Errorf("register redis metrics: %w", err)
			}
		}
	}
	return g, nil
}

// Addr is the Redis address (host:port), or a cluster's seed nodes
// (host:port,host:port,...); never credentials.
func (g *Guard) Addr() string { return g.addr }

// Cluster reports whether REDIS_URL names a Redis Cluster.
func (g *Guard) Cluster() bool { return g.cluster }

// Describe names the store for logs and reports: "redis host:port" or
// "redis cluster host:port,...".
func (g *Guard) Describe() string {
	if g.cluster {
		return "redis cluster " + g.addr
	}
	return "redis " + g.addr
}

// Client is the underlying client (for the limiter and the cache): a
// *redis.Client, or a *redis.ClusterClient for a cluster.
func (g *Guard) Client() redis.UniversalClient { return g.client }

// Status reports whether Redis answered the last call or probe, and why not.
func (g *Guard) Status() (ok bool, detail string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state == up, g.detail
}

// failure reports whether err says Redis itself is unreachable or too slow
// (as opposed to a miss, a command error, or the caller giving up). A
// cluster that answers it cannot serve the slot (CLUSTERDOWN, or a
// redirection the client could not follow while slots move) is down too.
func failure(parent context.Context, err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || parent.Err() != nil {
		return false
	}
	var reply redis.Error
	if !errors.As(err, &reply) || errors.Is(err, redis.ErrClosed) {
		return true
	}
	for _, p := range clusterDown {
		if strings.HasPrefix(reply.Error(), p) {
			return true
		}
	}
	return false
}

// clusterDown are the error replies of a cluster that cannot serve now.
var clusterDown = []string{"CLUSTERDOWN ", "MOVED ", "ASK ", "TRYAGAIN "}

// Do runs one Redis operation under the breaker, bounded by the timeout.
// While Redis is down it returns ErrUnavailable without any I/O.
func (g *Guard) Do(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	g.mu.Lock()
	st, why := g.state, g.detail
	g.mu.Unlock()
	if st == down {
		g.bypassed.WithLabelValues(op).Inc()
		return fmt.Errorf("%w: %s", ErrUnavailable, why)
	}
	cctx, cancel := context.WithTimeout(ctx, g.timeout)
	err := fn(cctx)
	cancel()
	if failure(ctx, err) {
		g.set(down, err.Error())
		g.bypassed.WithLabelValues(op).Inc()
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err == nil || errors.Is(err, redis.Nil) {
		g.set(up, "ok")
	}
	return err
}

func (g *Guard) set(st int, detail string) {
	g.mu.Lock()
	prev := g.state
	g.state, g.detail = st, detail
	g.mu.Unlock()
	if st == prev {
		return
	}
	if st == up {
		g.upGauge.Set(1)
	} else {
		g.upGauge.Set(0)
	}
	if prev == unknown && st == up {
		return // first contact is not a recovery
	}
	if st == down {
		g.changes.WithLabelValues("down").Inc()
	} else {
		g.changes.WithLabelValues("up").Inc()
	}
	if g.onChange != nil {
		g.onChange(st == up, detail)
	}
}

// Probe PINGs Redis once (bounded) and updates the breaker. On a cluster it
// asks every master (from a fresh slot map, so a promoted replica counts)
// for CLUSTER INFO: the cluster is up only when every master answers and
// says cluster_state:ok. Up must mean every slot answers, or the breaker
// would close and open again on each call to a dead master's slots.
func (g *Guard) Probe(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, g.timeout)
	err := g.ping(pctx)
	cancel()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		g.set(down, err.Error())
		return err
	}
	g.set(up, "ok")
	return nil
}

func (g *Guard) ping(ctx context.Context) error {
	cc, ok := g.client.(*redis.ClusterClient)
	if !ok {
		return g.client.Ping(ctx).Err()
	}
	return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		info, err := n.ClusterInfo(ctx).Result()
		if err != nil {
			return fmt.Errorf("master %s: %w", n.Options().Addr, err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("master %s: cluster_state is not ok", n.Options().Addr)
		}
		return nil
	})
}

// Run probes every RetryInterval until ctx ends; its caller owns it.
func (g *Guard) Run(ctx context.Context) {
	t := time.NewTicker(g.retry)
	defer t.Stop()
	for {
		_ = g.Probe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close closes the client.
func (g *Guard) Close() error { return g.client.Close() }
