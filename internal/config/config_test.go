package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8000" || c.SafeMode || c.MinimalMode || c.StructuredLog || c.IncludeTensorflow != nil {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if c.ShutdownTimeout != 10*time.Second || c.LogLevel != "info" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestSwitches(t *testing.T) {
	for _, tc := range []struct {
		val  string
		want bool
		ok   bool
	}{
		{"1", true, true}, {"true", true, true}, {"TRUE", true, true}, {"On", true, true},
		{"0", false, true}, {"false", false, true}, {"off", false, true}, {"", false, true},
		{"bogus", false, false}, {"2", false, false}, {"tru", false, false},
	} {
		for _, name := range []string{"SAFE_MODE", "MINIMAL_MODE", "STRUCTURED_LOG", "INCLUDE_TENSORFLOW"} {
			c, err := Load(nil, env(map[string]string{name: tc.val}))
			if !tc.ok {
				var ce *Error
				if !errors.As(err, &ce) || ce.Var != name {
					t.Errorf("%s=%q: want an error naming %s, got %v", name, tc.val, name, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s=%q: %v", name, tc.val, err)
				continue
			}
			tf := c.IncludeTensorflow != nil && *c.IncludeTensorflow
			if name == "INCLUDE_TENSORFLOW" && (c.IncludeTensorflow == nil) != (tc.val == "") {
				t.Errorf("%s=%q: set %v; want nil exactly for the empty value (unset, reported null)", name, tc.val, c.IncludeTensorflow)
			}
			got := map[string]bool{"SAFE_MODE": c.SafeMode, "MINIMAL_MODE": c.MinimalMode,
				"STRUCTURED_LOG": c.StructuredLog, "INCLUDE_TENSORFLOW": tf}[name]
			if got != tc.want {
				t.Errorf("%s=%q: got %v want %v", name, tc.val, got, tc.want)
			}
		}
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	for name, val := range map[string]string{
		"ADDR":                "nohost",
		"SHUTDOWN_TIMEOUT":    "soon",
		"LOG_LEVEL":           "chatty",
		"GROUP_START_TIMEOUT": "0s",
	} {
		_, err := Load(nil, env(map[string]string{name: val}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: want error naming it, got %v", name, val, err)
		}
	}
}

func TestSecretsAreNotEchoed(t *testing.T) {
	_, err := Load(nil, env(map[string]string{"ADMIN_RESET_TOKEN": "x", "ADDR": "::secret-password::"}))
	if err == nil || !strings.Contains(err.Error(), "ADDR") {
		t.Fatalf("want an error naming ADDR, got %v", err)
	}
	o := demoOptions(map[string]string{"DEMO_URL": "::secret-password::"})
	if _, err := LoadWith(o); err == nil || strings.Contains(err.Error(), "secret-password") || !strings.Contains(err.Error(), "DEMO_URL") {
		t.Fatalf("want redacted error naming DEMO_URL, got %v", err)
	}
	o = demoOptions(map[string]string{"DEMO_URL": "http://user:hunter2@/nohost?token=abc"})
	if _, err := LoadWith(o); err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "abc") {
		t.Fatalf("want redacted error, got %v", err)
	}
}

func TestFlagsOverrideEnv(t *testing.T) {
	c, err := Load([]string{"--addr", "127.0.0.1:9999", "--safe-mode", "--minimal-mode=off"},
		env(map[string]string{"ADDR": "127.0.0.1:1", "MINIMAL_MODE": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || !c.SafeMode || c.MinimalMode {
		t.Fatalf("flags did not win: %+v", c)
	}
	if _, err := Load([]string{"--minimal-mode=bogus"}, env(nil)); err == nil || !strings.Contains(err.Error(), "MINIMAL_MODE") {
		t.Fatalf("bad flag value: %v", err)
	}
	if _, err := Load([]string{"--no-such-flag"}, env(nil)); err == nil {
		t.Fatal("unknown flag accepted")
	}
	if _, err := Load([]string{"stray"}, env(nil)); err == nil {
		t.Fatal("stray argument accepted")
	}
}

func TestVarsAreUnique(t *testing.T) {
	envs, flags := map[string]bool{}, map[string]bool{}
	for _, v := range CoreSettings() {
		if envs[v.Name] || flags[v.Flag] {
			t.Errorf("duplicate %s / --%s", v.Name, v.Flag)
		}
		envs[v.Name], flags[v.Flag] = true, true
		if v.Help == "" {
			t.Errorf("%s has no help", v.Name)
		}
	}
}

func TestAuthSettings(t *testing.T) {
	secret := strings.Repeat("s", 32)
	c, err := Load(nil, env(map[string]string{"JWT_SECRET": secret, "JWT_ISSUER": " iss ", "TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1,,::1"}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Auth.JWTConfigured() || c.Auth.Issuer != "iss" || c.Auth.Leeway != 30*time.Second || c.Auth.TTL != 15*time.Minute ||
		c.Auth.MaxTokenBytes != 4096 || len(c.Auth.TrustedProxies) != 3 {
		t.Fatalf("%+v", c.Auth)
	}
	if c, _ := Load(nil, env(nil)); c.Auth.JWTConfigured() || c.Auth.TrustedProxies != nil {
		t.Fatalf("defaults: %+v", c.Auth)
	}
	if c, err := Load(nil, env(map[string]string{"JWT_PUBLIC_KEY_FILE": "/k.pem", "JWT_ALGORITHM": "eddsa"})); err != nil || c.Auth.Algorithm != "EdDSA" {
		t.Fatalf("algorithm: %v %+v", err, c)
	}
	for _, tc := range []struct {
		env  map[string]string
		name string
	}{
		{map[string]string{"JWT_SECRET": "too-short"}, "JWT_SECRET"},
		{map[string]string{"JWT_ALGORITHM": "none", "JWT_SECRET": secret}, "JWT_ALGORITHM"},
		{map[string]string{"JWT_ALGORITHM": "HS512", "JWT_SECRET": secret}, "JWT_ALGORITHM"},
		{map[string]string{"JWT_ALGORITHM": "RS256", "JWT_SECRET": secret}, "JWT_ALGORITHM"},
		{map[string]string{"JWT_ALGORITHM": "HS256", "JWT_PUBLIC_KEY_FILE": "/k.pem"}, "JWT_ALGORITHM"},
		{map[string]string{"JWT_ALGORITHM": "RS256"}, "JWT_ALGORITHM"},
		{map[string]string{"JWT_SECRET": secret, "JWT_PUBLIC_KEY_FILE": "/k.pem"}, "JWT_PUBLIC_KEY_FILE"},
		{map[string]string{"JWT_PRIVATE_KEY_FILE": "/k.pem"}, "JWT_PRIVATE_KEY_FILE"},
		{map[string]string{"JWT_LEEWAY": "1h"}, "JWT_LEEWAY"},
		{map[string]string{"JWT_TTL": "10s"}, "JWT_TTL"},
		{map[string]string{"JWT_MAX_TOKEN_BYTES": "100"}, "JWT_MAX_TOKEN_BYTES"},
		{map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES"},
		{map[string]string{"TRUSTED_PROXIES": "proxy.local"}, "TRUSTED_PROXIES"},
	} {
		_, err := Load(nil, env(tc.env))
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != tc.name {
			t.Errorf("%v: want an error naming %s, got %v", tc.env, tc.name, err)
		}
	}
	// The secret is never echoed.
	if _, err := Load(nil, env(map[string]string{"JWT_SECRET": "hunter2-short"})); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("secret echoed: %v", err)
	}
}

// TestReadyRequireAndDrain (issue 22): READY_REQUIRE takes known group
// names (case and spaces aside, duplicates once); an unknown name is an
// error naming the setting and the known groups. SHUTDOWN_DRAIN must fit
// inside SHUTDOWN_TIMEOUT, which bounds the whole shutdown.
func TestReadyRequireAndDrain(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil || c.ReadyRequire != nil || c.ShutdownDrain != 0 {
		t.Fatalf("defaults: %v %v %v", err, c.ReadyRequire, c.ShutdownDrain)
	}
	c, err = Load(nil, env(map[string]string{"READY_REQUIRE": " Vector, llm,vector,", "SHUTDOWN_DRAIN": "5s", "SHUTDOWN_TIMEOUT": "30s"}))
	if err != nil || strings.Join(c.ReadyRequire, ",") != "vector,llm" || c.ShutdownDrain != 5*time.Second {
		t.Fatalf("READY_REQUIRE/SHUTDOWN_DRAIN: %v %v %v", err, c.ReadyRequire, c.ShutdownDrain)
	}
	_, err = Load(nil, env(map[string]string{"READY_REQUIRE": "vector,vektor"}))
	var ce *Error
	if !errors.As(err, &ce) || ce.Var != "READY_REQUIRE" || !strings.Contains(err.Error(), `unknown group "vektor"`) ||
		!strings.Contains(err.Error(), "optional") {
		t.Fatalf("unknown group: %v", err)
	}
	for _, drain := range []string{"10s", "11s"} {
		_, err = Load(nil, env(map[string]string{"SHUTDOWN_DRAIN": drain}))
		if !errors.As(err, &ce) || ce.Var != "SHUTDOWN_DRAIN" || !strings.Contains(err.Error(), "SHUTDOWN_TIMEOUT") {
			t.Fatalf("SHUTDOWN_DRAIN=%s with SHUTDOWN_TIMEOUT 10s: %v", drain, err)
		}
	}
}

// TestBodyMemoryMaxBytes: REQUEST_BODY_MEMORY_MAX_BYTES has a default, a
// range, and must hold one body of MAX_BODY_BYTES.
func TestBodyMemoryMaxBytes(t *testing.T) {
	load := func(env map[string]string) (*Config, error) {
		return Load(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	}
	cfg, err := load(nil)
	if err != nil || cfg.HTTP.BodyMemoryMaxBytes != 64<<20 {
		t.Fatalf("default: %v %v", cfg, err)
	}
	cfg, err = load(map[string]string{"REQUEST_BODY_MEMORY_MAX_BYTES": "8192", "MAX_BODY_BYTES": "8192"})
	if err != nil || cfg.HTTP.BodyMemoryMaxBytes != 8192 {
		t.Fatalf("8192: %v", err)
	}
	for _, env := range []map[string]string{
		{"REQUEST_BODY_MEMORY_MAX_BYTES": "100"},
		{"REQUEST_BODY_MEMORY_MAX_BYTES": "lots"},
		{"REQUEST_BODY_MEMORY_MAX_BYTES": "65536"}, // below MAX_BODY_BYTES' 1 MiB default
	} {
		var ce *Error
		if _, err := load(env); !errors.As(err, &ce) || ce.Var != "REQUEST_BODY_MEMORY_MAX_BYTES" {
			t.Errorf("%v: %v", env, err)
		}
	}
}

// TestCoreSettingsBound: every core setting is bound to a Config field, so
// a value given for any of them reaches the Config (none is parsed and
// dropped), and each loads its declared default.
func TestCoreSettingsBound(t *testing.T) {
	for _, s := range CoreSettings() {
		if s.bind == nil {
			t.Errorf("%s is not bound to a Config field", s.Name)
		}
	}
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Latency.Window != 300*time.Second || c.Latency.EMAAlpha != 0.3 || c.Latency.Compression != 100 ||
		c.RateLimit.RPS != 50 || c.MaxBodyBytes != 1<<20 || c.HTTP.BodyMemoryMaxBytes != DefaultBodyMemoryMaxBytes ||
		c.Auth.TTL != 15*time.Minute || c.HTTP.IdleTimeout != time.Minute || c.LogLevel != "info" || !c.Observability.RequestLog {
		t.Fatalf("defaults: %+v", c)
	}
	secret := " " + strings.Repeat("k", MinJWTSecretBytes) + " "
	c, err = Load([]string{"--include-tensorflow", "--log-level", "WARN", "--rate-limit-rps", "2.5", "--jwt-algorithm", "hs256"},
		env(map[string]string{"JWT_SECRET": secret, "REPLICA_ID": " r-1 ", "MAX_BODY_BYTES": "2048"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.IncludeTensorflow == nil || !*c.IncludeTensorflow || c.LogLevel != "warn" || c.RateLimit.RPS != 2.5 ||
		c.Auth.Algorithm != "HS256" || c.Auth.Secret != secret || c.Cluster.ReplicaID != "r-1" || c.MaxBodyBytes != 2048 {
		t.Fatalf("given values: %+v", c)
	}
}
