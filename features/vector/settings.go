package vector

import (
	"time"

	"github.com/advanced-backend/advanced-backend/features/vector/store/memory"
	"github.com/advanced-backend/advanced-backend/internal/config"
)

// Config is the vector group's configuration, read from its settings.
type Config struct {
	QdrantURL       string
	QdrantAPIKey    string
	RedisURL        string
	MemoryMaxPoints int
	// MemoryMaxCollections bounds the collections of the embedded index.
	MemoryMaxCollections int
	// QdrantTLS forces TLS (https:// and grpcs:// URLs imply it).
	QdrantTLS bool
	// QdrantCAFile is a PEM bundle of CAs to trust for Qdrant (empty: system roots).
	QdrantCAFile string
	// QdrantTimeout bounds one Qdrant call.
	QdrantTimeout time.Duration
	// RedisTimeout bounds dialling, each read/write and each Redis call.
	RedisTimeout time.Duration
	// RedisRetryInterval is how often an unreachable Redis is probed again.
	RedisRetryInterval time.Duration
	// DataDir is where the embedded index keeps its log and snapshot;
	// MemoryOnly keeps nothing.
	DataDir string
	// MemoryMaxBytes bounds the bytes the embedded index holds: vectors,
	// payloads and per-point overhead.
	MemoryMaxBytes int64
	// MaxPayloadBytes bounds one point's payload (JSON bytes), MaxPayloadDepth
	// its nesting; both hold for every backend.
	MaxPayloadBytes int
	MaxPayloadDepth int
	// HNSWMaxUnlinked bounds the points of an HNSW collection that upserts
	// leave for the background linker (memory.DefaultMaxUnlinked says why
	// its default).
	HNSWMaxUnlinked int
}

// MemoryOnly as VECTOR_DATA_DIR keeps the embedded index in memory only
// (tests, throwaway runs).
const MemoryOnly = ":memory:"

// Settings are the vector group's settings (prefixes QDRANT_, REDIS_,
// VECTOR_ in its description), as registered and documented.
func Settings() []config.Setting { return settings(&Config{}) }

// settings declares each setting once, bound to the field of c it fills.
func settings(c *Config) []config.Setting {
	return []config.Setting{
		config.Bind(&c.QdrantURL, config.AddrOrURL("QDRANT_URL", "Qdrant gRPC address (host:port or URL); empty uses the embedded index in VECTOR_DATA_DIR")),
		config.Bind(&c.QdrantAPIKey, config.String("QDRANT_API_KEY", "", "Qdrant API key").AsSecret()),
		config.Bind(&c.RedisURL, config.URL("REDIS_URL", "", "Redis for the cache, shared limits and cluster state: redis://[user:pass@]host:port/db for one Redis, or a Redis Cluster by several of its nodes separated by commas, redis://[user:pass@]host1:port1,host2:port2,host3:port3 (rediss:// for TLS)")),
		config.Bind(&c.MemoryMaxPoints, config.Int("VECTOR_MEMORY_MAX_POINTS", 100_000, 1, 100_000_000, "bound on points held by the embedded index")),
		config.Bind(&c.MemoryMaxCollections, config.Int("VECTOR_MEMORY_MAX_COLLECTIONS", 100, 1, 100_000, "bound on collections held by the embedded index")),
		config.Bind(&c.DataDir, config.String("VECTOR_DATA_DIR", "data/vector", "directory of the embedded vector index (log, snapshot, backups; relative to the working directory); "+MemoryOnly+" keeps it in memory only, lost at exit")),
		config.Bind(&c.MemoryMaxBytes, config.Int64("VECTOR_MEMORY_MAX_BYTES", 1<<30, 1<<10, 1<<40, "bound on the bytes held by the embedded index: vectors (5 bytes per dimension on flat collections: the float32 and its int8 code), payloads and per-point overhead (507 beyond)")),
		config.Bind(&c.MaxPayloadBytes, config.Int("VECTOR_MAX_PAYLOAD_BYTES", 64<<10, 2, 64<<20, "bound on one point's payload as JSON bytes, every backend (413 beyond)")),
		config.Bind(&c.MaxPayloadDepth, config.Int("VECTOR_MAX_PAYLOAD_DEPTH", 16, 1, 1000, "bound on how deeply one point's payload nests (the payload object is depth 1), every backend (400 beyond)")),
		config.Bind(&c.HNSWMaxUnlinked, config.Int("VECTOR_HNSW_MAX_UNLINKED", memory.DefaultMaxUnlinked, 0, 10_000_000, "bound on the points of an embedded hnsw collection acknowledged but not yet linked into its graph (linked in the background, searched exactly meanwhile); an upsert past it links before it answers, so sustained inserts go at the link rate; 0 links every upsert before it answers")),
		config.Bind(&c.QdrantTLS, config.Bool("QDRANT_TLS", false, "use TLS to Qdrant (https:// and grpcs:// URLs imply it)")),
		config.Bind(&c.QdrantCAFile, config.String("QDRANT_CA_FILE", "", "PEM file of CAs to trust for Qdrant TLS; empty uses the system roots")),
		config.Bind(&c.QdrantTimeout, config.Duration("QDRANT_TIMEOUT", 5*time.Second, time.Millisecond, 10*time.Minute, "bound on one Qdrant call")),
		config.Bind(&c.RedisTimeout, config.Duration("REDIS_TIMEOUT", 50*time.Millisecond, time.Millisecond, 10*time.Second, "bound on dialling Redis and on each Redis call")),
		config.Bind(&c.RedisRetryInterval, config.Duration("REDIS_RETRY_INTERVAL", time.Second, 10*time.Millisecond, 5*time.Minute, "how often an unreachable Redis is probed again (calls bypass it meanwhile)")),
	}
}

// configFrom fills a Config from the parsed settings.
func configFrom(v config.Values) Config {
	var c Config
	v.Into(settings(&c))
	return c
}
