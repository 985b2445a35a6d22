// Package cluster is the vector group's side of cluster mode: every replica
// publishes its latency window (an opaque payload core exports) to Redis on
// a fixed period with a TTL, any replica reads the live replicas' payloads
// back (groupapi.ClusterLatency), and a cluster-wide reset is a token in
// Redis that every replica's publisher watches.
//
// Redis layout:
//
//	{advanced-backend:cluster}:replicas   ZSET of replica ids (score: last publication, unix ms)
//	{advanced-backend:cluster}:reset      STRING, a random token set by each cluster-wide reset
//	advanced-backend:cluster:latency:{<id>}  STRING, the replica's payload, expiring after the TTL
//
// The braces are Redis Cluster hash tags: the member set and the reset
// token share one slot (one node answers both), and each replica's payload
// has its own slot chosen by its id, so the payloads - the bulk of the
// bytes - spread over the masters. Replicas are found through the member
// set, never by SCAN/KEYS, so discovery is one command on a cluster too.
// Nothing here runs a script or a multi-key command: a pipeline is split
// by node by the cluster client.
//
// One publication is one pipelined round trip (SET with PX, ZADD, GET of
// the reset token; on a cluster, one per node involved, in parallel), so a
// replica sends at most MaxBytes plus ~200 bytes per interval. Every call
// goes through the redisstate.Guard: bounded by REDIS_TIMEOUT and refused
// at once while Redis is down.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/advanced-backend/advanced-backend/features/vector/redisstate"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// Key names (see the layout above).
const (
	metaTag    = "{advanced-backend:cluster}:"
	membersKey = metaTag + "replicas"
	resetKey   = metaTag + "reset"
)

// StateKey is the key of a replica's payload; the id (A-Z a-z 0-9 . _ : -,
// no braces) is its hash tag.
func StateKey(id string) string { return "advanced-backend:cluster:latency:{" + id + "}" }

// MaxReplicas bounds the replicas one read returns.
const MaxReplicas = 256

// Options configure the publisher and the reader.
type Options struct {
	Guard    *redisstate.Guard
	Member   groupapi.ClusterMember
	Interval time.Duration
	TTL      time.Duration
	MaxBytes int
	Logger   *slog.Logger
	Metrics  groupapi.Metrics
}

// Cluster publishes this replica's payload and reads the others'.
type Cluster struct {
	o Options

	published *prometheus.CounterVec
	bytes     prometheus.Gauge

	// pubMu serialises a publication and a reset, so the token a
	// publication read cannot overwrite the one a reset just set.
	pubMu sync.Mutex

	mu        sync.Mutex
	seenToken string // the reset token last applied (or found at start)
	baseline  bool   // seenToken was read from Redis at least once
	lastErr   string
}

// New builds the cluster client; it does no I/O.
func New(o Options) (*Cluster, error) {
	if o.Guard == nil || o.Member == nil {
		return nil, errors.New("cluster: a Redis guard and a member are required")
	}
	if o.Interval <= 0 || o.TTL < o.Interval || o.MaxBytes < 1 {
		return nil, fmt.Errorf("cluster: interval %s, ttl %s, max bytes %d", o.Interval, o.TTL, o.MaxBytes)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{o: o,
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advanced_backend_cluster_publish_total",
			Help: "Publications of this replica's latency window to Redis by result (ok, failed, too_large).",
		}, []string{"result"}),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "advanced_backend_cluster_publish_bytes",
			Help: "Size of this replica's last latency publication (bounded by CLUSTER_MAX_PUBLISH_BYTES).",
		}),
	}
	if o.Metrics != nil {
		for _, col := range []prometheus.Collector{c.published, c.bytes} {
			if err := o.Metrics.Register(col); err != nil {
				return nil, fmt.Errorf("register cluster metrics: %w", err)
			}
		}
	}
	return c, nil
}

// Describe implements groupapi.ClusterLatency.
func (c *Cluster) Describe() groupapi.ClusterDescription {
	return groupapi.ClusterDescription{Store: c.o.Guard.Describe(),
		PublishInterval: c.o.Interval.Seconds(), TTL: c.o.TTL.Seconds(), MaxBytes: c.o.MaxBytes}
}

// Run publishes every Interval until ctx ends; its caller owns it. It
// never touches the request path: the export reads the engine under its
// own lock, the Redis call is bounded by the guard.
func (c *Cluster) Run(ctx context.Context) {
	t := time.NewTicker(c.o.Interval)
	defer t.Stop()
	for {
		if err := c.PublishOnce(ctx); err != nil && ctx.Err() == nil {
			c.noteError(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// noteError logs a publication failure once per distinct message.
func (c *Cluster) noteError(err error) {
	c.mu.Lock()
	same := c.lastErr == err.Error()
	c.lastErr = err.Error()
	c.mu.Unlock()
	if !same {
		c.o.Logger.Warn("cluster: latency publication failed (retried every interval)", "err", err)
	}
}

// PublishOnce exports the window, writes it with the TTL, and applies a
// cluster-wide reset if the token changed since the last look.
func (c *Cluster) PublishOnce(ctx context.Context) error {
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	id := c.o.Member.ReplicaID()
	data, err := c.o.Member.ExportLatency(c.o.MaxBytes)
	if err != nil {
		c.published.WithLabelValues("too_large").Inc()
		return fmt.Errorf("cluster publish: %w", err)
	}
	var token *redis.StringCmd
	err = c.o.Guard.Do(ctx, "cluster_publish", func(ctx context.Context) error {
		cl := c.o.Guard.Client()
		cmds, err := cl.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, StateKey(id), data, c.o.TTL)
			p.ZAdd(ctx, membersKey, redis.Z{Score: float64(time.Now().UnixMilli()), Member: id})
			token = p.Get(ctx, resetKey)
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for _, cmd := range cmds[:2] {
			if err := cmd.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.published.WithLabelValues("failed").Inc()
		return fmt.Errorf("cluster publish: %w", err)
	}
	c.published.WithLabelValues("ok").Inc()
	c.bytes.Set(float64(len(data)))
	c.mu.Lock()
	c.lastErr = ""
	c.mu.Unlock()
	cur, terr := token.Result()
	if terr != nil && !errors.Is(terr, redis.Nil) {
		return nil
	}
	c.observeToken(cur)
	return nil
}

// observeToken applies a reset when the token differs from the one seen
// before. The first token read is a baseline, and a vanished token (Redis
// restarted empty) resets nothing.
func (c *Cluster) observeToken(cur string) {
	c.mu.Lock()
	apply := c.baseline && cur != "" && cur != c.seenToken
	c.seenToken, c.baseline = cur, true
	c.mu.Unlock()
	if apply {
		c.o.Member.ResetLatency()
	}
}

// Replicas implements groupapi.ClusterLatency: the payloads of the live
// replicas with their age (the TTL minus what is left of it, by Redis's
// clock, so replicas' clocks need not agree). Members whose payload has
// expired are removed from the set.
func (c *Cluster) Replicas(ctx context.Context) ([]groupapi.ReplicaPayload, error) {
	var out []groupapi.ReplicaPayload
	err := c.o.Guard.Do(ctx, "cluster_read", func(ctx context.Context) error {
		out = nil
		cl := c.o.Guard.Client()
		ids, err := cl.ZRevRange(ctx, membersKey, 0, MaxReplicas-1).Result()
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		gets := make([]*redis.StringCmd, len(ids))
		ttls := make([]*redis.DurationCmd, len(ids))
		_, err = cl.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range ids {
				gets[i] = p.Get(ctx, StateKey(id))
				ttls[i] = p.PTTL(ctx, StateKey(id))
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		var gone []any
		for i, id := range ids {
			b, err := gets[i].Bytes()
			if errors.Is(err, redis.Nil) {
				gone = append(gone, id)
				continue
			}
			if err != nil {
				return err
			}
			left, _ := ttls[i].Result()
			age := max(c.o.TTL-max(left, 0), 0)
			out = append(out, groupapi.ReplicaPayload{ID: id, Age: age, Data: b})
		}
		if len(gone) > 0 {
			return cl.ZRem(ctx, membersKey, gone...).Err()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cluster read: %w", err)
	}
	return out, nil
}

// ResetAll implements groupapi.ClusterLatency: it sets a new reset token
// (every replica's publisher applies it at its next publication) and
// returns the live replicas, which are the ones told. This replica takes
// the token as seen: the caller resets it at once.
func (c *Cluster) ResetAll(ctx context.Context) ([]string, error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("cluster reset token: %w", err)
	}
	tok := hex.EncodeToString(raw[:])
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	err := c.o.Guard.Do(ctx, "cluster_reset", func(ctx context.Context) error {
		return c.o.Guard.Client().Set(ctx, resetKey, tok, 0).Err()
	})
	if err != nil {
		return nil, fmt.Errorf("cluster reset: %w", err)
	}
	c.mu.Lock()
	c.seenToken, c.baseline = tok, true
	c.mu.Unlock()
	reps, err := c.Replicas(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster reset: token set, replica list unavailable: %w", err)
	}
	ids := make([]string, 0, len(reps)+1)
	self, found := c.o.Member.ReplicaID(), false
	for _, r := range reps {
		ids = append(ids, r.ID)
		found = found || r.ID == self
	}
	if !found { // not published yet: it resets all the same
		ids = append(ids, self)
	}
	return ids, nil
}

var _ groupapi.ClusterLatency = (*Cluster)(nil)
