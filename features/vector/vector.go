// Package vector is the vector group (build tag vector): a vector store
// (Qdrant over gRPC when QDRANT_URL is set, else an embedded in-memory
// index) and Redis for the cache and shared limits. In this state it builds
// its clients and probes them in the background; the HTTP routes come with
// the llm/vector issue.
package vector

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/qdrant/go-client/qdrant"
	"github.com/redis/go-redis/v9"

	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
)

// probeInterval is how often the remote backends are probed.
const probeInterval = 5 * time.Second

// probeTimeout bounds one probe, so a dead remote never stalls anything.
const probeTimeout = 2 * time.Second

func init() { capability.Register("vector", &feature{}) }

type feature struct {
	cfg config.VectorConfig

	qdrant  *qdrant.Client
	redis   *redis.Client
	limiter *redis_rate.Limiter
	cancel  context.CancelFunc
	done    chan struct{}

	mu          sync.RWMutex
	qdrantState string // "" when not configured
	qdrantOK    bool
	redisState  string
	redisOK     bool
}

func (f *feature) Setup(h *capability.Host) error {
	f.cfg = h.Config.Vector
	return nil
}

// Start builds the clients without dialling (the Qdrant compatibility check
// is skipped: it would block start-up for up to a minute) and starts a
// background prober owned by Stop.
func (f *feature) Start(ctx context.Context) error {
	if f.cfg.QdrantURL != "" {
		qc, err := qdrantConfig(f.cfg)
		if err != nil {
			return err
		}
		c, err := qdrant.NewClient(qc)
		if err != nil {
			return fmt.Errorf("qdrant client for %s: %w", f.cfg.QdrantURL, err)
		}
		f.qdrant = c
		f.qdrantState = "qdrant " + f.cfg.QdrantURL + ": not probed yet"
	}
	if f.cfg.RedisURL != "" {
		opt, err := redis.ParseURL(f.cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("parse REDIS_URL: %w", err)
		}
		// go-redis defaults cost ~1.75 s per call against a dead Redis.
		opt.DialTimeout = 200 * time.Millisecond
		opt.ReadTimeout = 200 * time.Millisecond
		opt.WriteTimeout = 200 * time.Millisecond
		opt.MaxRetries = 0
		f.redis = redis.NewClient(opt)
		f.limiter = redis_rate.NewLimiter(f.redis)
		f.redisState = "redis " + opt.Addr + ": not probed yet"
	}
	pctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan struct{})
	go f.probeLoop(pctx)
	return nil
}

func (f *feature) probeLoop(ctx context.Context) {
	defer close(f.done)
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	for {
		f.probe(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (f *feature) probe(ctx context.Context) {
	if f.qdrant != nil {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		reply, err := f.qdrant.HealthCheck(pctx)
		cancel()
		f.mu.Lock()
		if err != nil {
			f.qdrantOK, f.qdrantState = false, "qdrant "+f.cfg.QdrantURL+": "+err.Error()
		} else {
			f.qdrantOK, f.qdrantState = true, "qdrant "+f.cfg.QdrantURL+": ok (version "+reply.GetVersion()+")"
		}
		f.mu.Unlock()
	}
	if f.redis != nil {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		err := f.redis.Ping(pctx).Err()
		cancel()
		f.mu.Lock()
		if err != nil {
			f.redisOK, f.redisState = false, "redis: "+err.Error()
		} else {
			f.redisOK, f.redisState = true, "redis: ok"
		}
		f.mu.Unlock()
	}
}

func (f *feature) Stop(ctx context.Context) error {
	if f.cancel != nil {
		f.cancel()
		<-f.done
	}
	var errs []string
	if f.qdrant != nil {
		if err := f.qdrant.Close(); err != nil {
			errs = append(errs, "qdrant: "+err.Error())
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

// Status is ready when the store is usable: the embedded index always is,
// Qdrant when its last probe passed. Redis is optional and only reported.
func (f *feature) Status() capability.Status {
	f.mu.RLock()
	defer f.mu.RUnlock()
	ready := true
	notes := []string{}
	if f.qdrant == nil {
		notes = append(notes, fmt.Sprintf("store: embedded in-memory index (max %d points)", f.cfg.MemoryMaxPoints))
	} else {
		ready = f.qdrantOK
		notes = append(notes, "store: "+f.qdrantState)
	}
	if f.redis == nil {
		notes = append(notes, "cache: REDIS_URL not set")
	} else {
		notes = append(notes, "cache: "+f.redisState)
	}
	notes = append(notes, "HTTP routes not built yet")
	return capability.Status{Ready: ready, Detail: strings.Join(notes, "; ")}
}

// qdrantConfig maps QDRANT_URL (host:port, or http(s)://host:port) onto the
// client's config; https means TLS.
func qdrantConfig(cfg config.VectorConfig) (*qdrant.Config, error) {
	u, err := url.Parse(cfg.QdrantURL)
	if err != nil {
		return nil, fmt.Errorf("parse QDRANT_URL: %w", err)
	}
	port := 6334
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("QDRANT_URL port: %w", err)
		}
	}
	return &qdrant.Config{
		Host:                   u.Hostname(),
		Port:                   port,
		APIKey:                 cfg.QdrantAPIKey,
		UseTLS:                 u.Scheme == "https" || u.Scheme == "grpcs",
		SkipCompatibilityCheck: true,
	}, nil
}
