package vector

import (
	"errors"
	"strings"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

func load(env map[string]string) (*config.Config, error) {
	return config.LoadWith(config.Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Linked: []config.GroupSettings{{Group: "vector", Settings: Settings()}}})
}

// TestSettings: the group's settings parse with their bounds, bad values
// name the variable, and a Redis URL is never echoed with its password.
func TestSettings(t *testing.T) {
	c, err := load(map[string]string{"QDRANT_URL": "localhost:6334", "REDIS_TIMEOUT": "1s"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := configFrom(c.Group("vector"))
	if cfg.QdrantURL != "localhost:6334" || cfg.MemoryMaxPoints != 100_000 || cfg.RedisTimeout.String() != "1s" || cfg.QdrantTLS {
		t.Fatalf("%+v", cfg)
	}
	for name, val := range map[string]string{"VECTOR_MEMORY_MAX_POINTS": "-3", "QDRANT_URL": "nohost", "QDRANT_TIMEOUT": "0s", "REDIS_URL": "::secret-password::"} {
		_, err := load(map[string]string{name: val})
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Var != name || strings.Contains(err.Error(), "secret-password") {
			t.Errorf("%s=%q: want an error naming it (value hidden if secret), got %v", name, val, err)
		}
	}
	_, err = load(map[string]string{"REDIS_URL": "http://user:secret-password@/x"})
	if err == nil || strings.Contains(err.Error(), "secret-password") {
		t.Fatalf("redis url echoed: %v", err)
	}
	// a Redis Cluster by its nodes: one setting, shown without credentials
	const clusterURL = "redis://user:secret-password@10.0.0.1:7000,10.0.0.2:7000,redis-3:7000"
	c, err = load(map[string]string{"REDIS_URL": clusterURL})
	if err != nil {
		t.Fatal(err)
	}
	if got := configFrom(c.Group("vector")).RedisURL; got != clusterURL {
		t.Fatalf("REDIS_URL %q", got)
	}
	for _, s := range Settings() {
		if s.Name == "REDIS_URL" {
			if shown := s.Show(clusterURL); shown != "redis://REDACTED@10.0.0.1:7000,10.0.0.2:7000,redis-3:7000" {
				t.Fatalf("cluster URL shown as %q", shown)
			}
		}
	}
}
