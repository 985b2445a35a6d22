// Package config turns the environment and command-line flags into one
// Config value. It is the only package that reads the environment; every
// other package receives what it needs from the Config it is handed.
//
// Each setting is declared once, in a Var table (core here, each area in its
// own file), with its environment name, flag name, default and help; flags
// override the environment. README.md documents every variable and a test
// keeps the two in agreement.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of one process.
type Config struct {
	Addr              string
	SafeMode          bool
	MinimalMode       bool
	StructuredLog     bool
	IncludeTensorflow *bool // nil when INCLUDE_TENSORFLOW is unset (the seed reports null)
	LogLevel          string
	ShutdownTimeout   time.Duration
	GroupStartTimeout time.Duration
	AdminResetToken   string
	MaxBodyBytes      int64

	Latency   LatencyConfig
	Auth      AuthConfig
	RateLimit RateLimitConfig
	LLM       LLMConfig
	Vector    VectorConfig
	Optional  OptionalConfig
	Cluster   ClusterConfig
	ML        MLConfig

	Observability ObservabilityConfig
	HTTP          HTTPConfig
}

// Var declares one setting.
type Var struct {
	Env     string // environment variable
	Flag    string // command-line flag, without dashes
	Default string
	Help    string
	Bool    bool // a switch: 1/true/on or 0/false/off, any case
	Secret  bool // never echoed in errors
	set     func(c *Config, v string) error
}

// Error is an invalid setting; it names the variable.
type Error struct {
	Var   string
	Value string
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid %s=%q: %v", e.Var, e.Value, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Vars returns every declared setting, sorted by environment name.
func Vars() []Var {
	var all []Var
	all = append(all, coreVars()...)
	all = append(all, latencyVars()...)
	all = append(all, authVars()...)
	all = append(all, rateLimitVars()...)
	all = append(all, llmVars()...)
	all = append(all, vectorVars()...)
	all = append(all, optionalVars()...)
	all = append(all, clusterVars()...)
	all = append(all, mlVars()...)
	all = append(all, observabilityVars()...)
	all = append(all, httpVars()...)
	sort.Slice(all, func(i, j int) bool { return all[i].Env < all[j].Env })
	return all
}

func coreVars() []Var {
	return []Var{
		{Env: "ADDR", Flag: "addr", Default: "127.0.0.1:8000", Help: "listen address (host:port)",
			set: func(c *Config, v string) error { return setAddr(&c.Addr, v) }},
		{Env: "SAFE_MODE", Flag: "safe-mode", Default: "false", Bool: true,
			Help: "skip JWT and rate-limit middleware; admin endpoints fall back to ADMIN_RESET_TOKEN",
			set:  func(c *Config, v string) error { return setBool(&c.SafeMode, v) }},
		{Env: "MINIMAL_MODE", Flag: "minimal-mode", Default: "false", Bool: true,
			Help: "do not start linked groups; their routes answer 503",
			set:  func(c *Config, v string) error { return setBool(&c.MinimalMode, v) }},
		{Env: "STRUCTURED_LOG", Flag: "structured-log", Default: "false", Bool: true,
			Help: "log JSON lines (log/slog) instead of text",
			set:  func(c *Config, v string) error { return setBool(&c.StructuredLog, v) }},
		{Env: "INCLUDE_TENSORFLOW", Flag: "include-tensorflow", Bool: true,
			Help: "reported as include_tensorflow_flag (null when unset) for compatibility; no Go build links TensorFlow",
			set:  setOptionalBool(func(c *Config) **bool { return &c.IncludeTensorflow })},
		{Env: "LOG_LEVEL", Flag: "log-level", Default: "info", Help: "debug, info, warn or error",
			set: func(c *Config, v string) error {
				return setEnum(&c.LogLevel, strings.ToLower(v), "debug", "info", "warn", "error")
			}},
		{Env: "SHUTDOWN_TIMEOUT", Flag: "shutdown-timeout", Default: "10s",
			Help: "how long in-flight requests may finish after SIGINT/SIGTERM",
			set: func(c *Config, v string) error {
				return setDuration(&c.ShutdownTimeout, v, time.Millisecond, time.Hour)
			}},
		{Env: "ADMIN_RESET_TOKEN", Flag: "admin-reset-token", Secret: true,
			Help: "admin token for admin routes when JWT auth is off; unset: loopback clients only",
			set:  func(c *Config, v string) error { return setString(&c.AdminResetToken, v) }},
		{Env: "MAX_BODY_BYTES", Flag: "max-body-bytes", Default: "1048576",
			Help: "bound on a request body in bytes (413 beyond; routes may set their own)",
			set: func(c *Config, v string) error {
				var n int
				err := setInt(&n, v, 1, 1<<30)
				c.MaxBodyBytes = int64(n)
				return err
			}},
		{Env: "GROUP_START_TIMEOUT", Flag: "group-start-timeout", Default: "10s",
			Help: "bound on each group's start-up step",
			set: func(c *Config, v string) error {
				return setDuration(&c.GroupStartTimeout, v, time.Millisecond, time.Hour)
			}},
	}
}

// Load builds a Config from defaults, then the environment (looked up with
// lookupEnv, normally os.LookupEnv), then the flags in args.
func Load(args []string, lookupEnv func(string) (string, bool)) (*Config, error) {
	c := &Config{}
	vars := Vars()
	for _, v := range vars {
		if err := v.set(c, v.Default); err != nil {
			return nil, fmt.Errorf("default of %s: %w", v.Env, err) // a bug in the table
		}
	}
	for _, v := range vars {
		val, ok := lookupEnv(v.Env)
		if !ok {
			continue
		}
		if err := v.set(c, val); err != nil {
			return nil, v.fail(val, err)
		}
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, v := range vars {
		fs.Var(&flagValue{c: c, v: v}, v.Flag, v.Help+" (env "+v.Env+")")
	}
	if err := fs.Parse(args); err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			return nil, ce
		}
		return nil, fmt.Errorf("flags: %w", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// validate checks rules that span several settings.
func (c *Config) validate() error {
	// cross-setting rules are added by the areas that need them
	if err := c.validateLatency(); err != nil {
		return err
	}
	if err := c.validateCluster(); err != nil {
		return err
	}
	return c.validateAuth()
}

// FlagUsage writes the flag help, for `advanced-backend serve -h`.
func FlagUsage(w io.Writer) {
	for _, v := range Vars() {
		fmt.Fprintf(w, "  --%-24s %s (env %s, default %q)\n", v.Flag, v.Help, v.Env, v.Default)
	}
}

func (v Var) fail(val string, err error) *Error {
	if v.Secret {
		val = "<redacted>"
	}
	return &Error{Var: v.Env, Value: val, Err: err}
}

// flagValue adapts a Var to flag.Value; switches take no argument.
type flagValue struct {
	c   *Config
	v   Var
	val string
}

func (f *flagValue) String() string { return f.val }
func (f *flagValue) Set(s string) error {
	f.val = s
	if err := f.v.set(f.c, s); err != nil {
		return f.v.fail(s, err)
	}
	return nil
}
func (f *flagValue) IsBoolFlag() bool { return f.v.Bool }

// ParseBool accepts 1/true/on and 0/false/off (and empty) in any case.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "on", "yes":
		return true, nil
	case "0", "false", "off", "no", "":
		return false, nil
	}
	return false, errors.New("want 1/true/on or 0/false/off")
}

func setBool(dst *bool, v string) error {
	b, err := ParseBool(v)
	if err != nil {
		return err
	}
	*dst = b
	return nil
}

// setOptionalBool leaves the setting nil for an empty value (the default:
// unset), else parses it.
func setOptionalBool(dst func(*Config) **bool) func(c *Config, v string) error {
	return func(c *Config, v string) error {
		if strings.TrimSpace(v) == "" {
			*dst(c) = nil
			return nil
		}
		var b bool
		if err := setBool(&b, v); err != nil {
			return err
		}
		*dst(c) = &b
		return nil
	}
}

func setString(dst *string, v string) error {
	*dst = strings.TrimSpace(v)
	return nil
}

func setEnum(dst *string, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			*dst = v
			return nil
		}
	}
	return fmt.Errorf("want one of %s", strings.Join(allowed, ", "))
}

func setDuration(dst *time.Duration, v string, lo, hi time.Duration) error {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return errors.New("want a Go duration such as 500ms, 10s or 2m")
	}
	if d < lo || d > hi {
		return fmt.Errorf("want a duration between %s and %s", lo, hi)
	}
	*dst = d
	return nil
}

func setInt(dst *int, v string, lo, hi int) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return errors.New("want an integer")
	}
	if n < lo || n > hi {
		return fmt.Errorf("want an integer between %d and %d", lo, hi)
	}
	*dst = n
	return nil
}

func setFloat(dst *float64, v string, lo, hi float64) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return errors.New("want a number")
	}
	if f != f || f < lo || f > hi { // f != f catches NaN
		return fmt.Errorf("want a number between %g and %g", lo, hi)
	}
	*dst = f
	return nil
}

func setAddr(dst *string, v string) error {
	v = strings.TrimSpace(v)
	i := strings.LastIndex(v, ":")
	if i < 0 {
		return errors.New("want host:port")
	}
	port, err := strconv.Atoi(v[i+1:])
	if err != nil || port < 0 || port > 65535 {
		return errors.New("want host:port with a port between 0 and 65535")
	}
	*dst = v
	return nil
}
