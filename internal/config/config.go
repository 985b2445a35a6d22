// Package config turns the environment and command-line flags into one
// Config value. It is the only package that reads the environment; every
// other package receives what it needs from the Config it is handed.
//
// Each setting is declared once, typed, by its owner, as a Setting built
// with the constructors of settings.go (String, Int, Duration, Parsed, ...)
// and bound to the field it fills (Bind): core's here, one file per area
// (latency.go, auth.go, ...), each group's in its own settings.go. The
// declaration carries the environment name, flag name, default, bounds and
// help; flags override the environment. Rules that span several settings
// are checked after parsing (validate). --help, README.md's settings table
// and .env.example are generated from the declarations.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
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
	// ShutdownDrain is how long the service, after SIGINT/SIGTERM, reports
	// not ready while it keeps serving, before it stops accepting.
	ShutdownDrain     time.Duration
	GroupStartTimeout time.Duration
	// ReadyRequire are the groups without which /ready is 503.
	ReadyRequire    []string
	AdminResetToken string
	MaxBodyBytes    int64

	Latency   LatencyConfig
	Auth      AuthConfig
	RateLimit RateLimitConfig
	Cluster   ClusterConfig

	Observability ObservabilityConfig
	HTTP          HTTPConfig

	// StrictSettings refuses settings of groups that are not linked.
	StrictSettings bool
	// Groups are the linked groups' settings, by group name.
	Groups map[string]Values
	// Ignored are the settings given for groups this binary does not link.
	Ignored []IgnoredSetting
}

// IgnoredSetting is a setting that is given but has no effect: it belongs
// to a group that is not linked, or it carries the prefix of core or of a
// linked group without being one of its declared names (a typo).
type IgnoredSetting struct {
	Name    string `json:"name"`
	Group   string `json:"group"`
	Variant string `json:"variant"`
	// HowToLink says which variants or build tag bring the group; empty
	// for a misspelt name of a linked group.
	HowToLink string `json:"how_to_link,omitempty"`
	// Unknown marks a name under the prefix of core or a linked group that
	// nothing declares; Nearest is the closest declared name.
	Unknown bool   `json:"unknown,omitempty"`
	Nearest string `json:"nearest,omitempty"`
}

// Why says in words why the setting has no effect.
func (i IgnoredSetting) Why() string {
	if i.Unknown {
		return fmt.Sprintf("%s is not a setting of %s (did you mean %s?)", i.Name, groupWords(i.Group), i.Nearest)
	}
	return fmt.Sprintf("%s belongs to the %s group, which is not linked into the %s variant (it comes with %s)",
		i.Name, i.Group, i.Variant, i.HowToLink)
}

func groupWords(g string) string {
	if g == "core" {
		return "core"
	}
	return "the " + g + " group"
}

// Group returns a linked group's settings (empty Values if it has none).
func (c *Config) Group(name string) Values {
	if v, ok := c.Groups[name]; ok {
		return v
	}
	return newValues(name)
}

// Error is an invalid setting; it names the variable.
type Error struct {
	_     [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	Var   string
	Value string
	Err   error
	// Refused: the value may be fine, the setting is not accepted here
	// (STRICT_SETTINGS); the message then shows no value.
	Refused bool
}

func (e *Error) Error() string {
	if e.Refused {
		return fmt.Sprintf("%s refused: %v", e.Var, e.Err)
	}
	return fmt.Sprintf("invalid %s=%q: %v", e.Var, e.Value, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// CoreSettings returns core's settings as declared, sorted by name, for
// --help and the documents (bound to a Config of their own).
func CoreSettings() []Setting { return coreSettings(&Config{}) }

// coreSettings returns core's settings bound to the fields of c, sorted
// by name.
func coreSettings(c *Config) []Setting {
	var all []Setting
	all = append(all, generalSettings(c)...)
	all = append(all, latencySettings(&c.Latency)...)
	all = append(all, authSettings(&c.Auth)...)
	all = append(all, rateLimitSettings(&c.RateLimit)...)
	all = append(all, clusterSettings(&c.Cluster)...)
	all = append(all, observabilitySettings(&c.Observability)...)
	all = append(all, httpSettings(&c.HTTP)...)
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all
}

// generalSettings are core's settings that belong to no area of their own.
func generalSettings(c *Config) []Setting {
	return []Setting{
		Bind(&c.Addr, Checked("ADDR", "127.0.0.1:8000", "listen address (host:port)", checkAddr)),
		Bind(&c.SafeMode, Bool("SAFE_MODE", false,
			"skip JWT and rate-limit middleware; admin endpoints fall back to ADMIN_RESET_TOKEN")),
		Bind(&c.MinimalMode, Bool("MINIMAL_MODE", false, "do not start linked groups; their routes answer 503")),
		Bind(&c.StructuredLog, Bool("STRUCTURED_LOG", false, "log JSON lines (log/slog) instead of text")),
		Bind(&c.IncludeTensorflow, Parsed("INCLUDE_TENSORFLOW", "",
			"reported as include_tensorflow_flag (null when unset) for compatibility; no Go build links TensorFlow",
			parseOptionalBool).AsSwitch()),
		Bind(&c.LogLevel, Parsed("LOG_LEVEL", "info", "debug, info, warn or error", func(v string) (string, error) {
			return parseEnum(strings.ToLower(v), "debug", "info", "warn", "error")
		})),
		Bind(&c.ShutdownTimeout, DurationText("SHUTDOWN_TIMEOUT", "10s", time.Millisecond, time.Hour,
			"bound on the whole shutdown after SIGINT/SIGTERM, SHUTDOWN_DRAIN included: in-flight requests finish, then the groups stop")),
		Bind(&c.ShutdownDrain, DurationText("SHUTDOWN_DRAIN", "0s", 0, time.Hour,
			"after SIGINT/SIGTERM, how long /ready answers 503 while every request is still served (so a load balancer stops sending) before the listener closes; within SHUTDOWN_TIMEOUT")),
		Bind(&c.ReadyRequire, Parsed("READY_REQUIRE", "",
			"comma-separated groups without which /ready is 503 (a degraded group counts as not ready); others only report degraded",
			parseGroupList)),
		Bind(&c.AdminResetToken, String("ADMIN_RESET_TOKEN", "",
			"admin token for admin routes when JWT auth is off; unset: loopback clients only").AsSecret()),
		Bind(&c.MaxBodyBytes, Int64("MAX_BODY_BYTES", 1<<20, 1, 1<<30,
			"bound on a request body in bytes (413 beyond; routes may set their own)")),
		Bind(&c.StrictSettings, Bool("STRICT_SETTINGS", false,
			"refuse to start (exit 2) when a setting of a group this binary does not link, or a name under the prefix of core or a linked group that nothing declares (a typo), is given")),
		Bind(&c.GroupStartTimeout, DurationText("GROUP_START_TIMEOUT", "10s", time.Millisecond, time.Hour,
			"bound on each group's start-up step")),
	}
}

// Load builds a Config of core settings only from defaults, then the
// environment (looked up with lookupEnv), then the flags in args.
func Load(args []string, lookupEnv func(string) (string, bool)) (*Config, error) {
	return LoadWith(Options{Args: args, LookupEnv: lookupEnv})
}

// GroupSettings are the settings one linked group declared.
type GroupSettings struct {
	Group    string
	Settings []Setting
	// Prefixes are the group's setting prefixes: a given name under one of
	// them that Settings does not declare is reported as a typo.
	Prefixes []string
}

// corePrefixes are the prefixes of core's families of settings: a given
// name under one of them that core does not declare (JWT_SECRETS) is
// reported as a typo. HTTP_ is not among them: HTTP_PROXY is the
// environment's, not ours.
var corePrefixes = []string{"JWT_", "LATENCY_", "RATE_LIMIT_", "CLUSTER_", "SHUTDOWN_", "TDIGEST_"}

// Options are the inputs of LoadWith.
type Options struct {
	Args      []string
	LookupEnv func(string) (string, bool)
	// Environ lists the environment ("NAME=value"), scanned for settings of
	// groups that are not linked; nil scans nothing.
	Environ []string
	// Linked are the linked groups' declarations, in table order.
	Linked []GroupSettings
	// Unlinked are the groups this binary does not link, with the setting
	// prefixes that tell their settings apart (from the group table).
	Unlinked []UnlinkedGroup
	// Variant names this binary's variant, for messages.
	Variant string
}

// UnlinkedGroup is a group that is not linked into this binary.
type UnlinkedGroup struct {
	Name      string
	Prefixes  []string
	HowToLink string // "variant hybrid or full, or build tag llm"
}

func (u UnlinkedGroup) owns(name string) bool {
	for _, p := range u.Prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// LoadWith builds a Config from defaults, then the environment, then the
// flags: core settings and those of the linked groups. Settings of groups
// that are not linked are recorded in Ignored, and refused with
// STRICT_SETTINGS (an *Error naming the setting and its group).
func LoadWith(o Options) (*Config, error) {
	lookupEnv := o.LookupEnv
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	c := &Config{Groups: map[string]Values{}}
	core := coreSettings(c)
	coreVals := newValues("core")
	for _, s := range core {
		if err := coreVals.setDefault(s); err != nil {
			return nil, err
		}
	}
	for _, s := range core {
		if val, ok := lookupEnv(s.Name); ok {
			if err := coreVals.set(s, val); err != nil {
				return nil, err
			}
		}
	}
	for _, g := range o.Linked {
		vals := newValues(g.Group)
		for _, s := range g.Settings {
			if err := vals.setDefault(s); err != nil {
				return nil, fmt.Errorf("group %s: %w", g.Group, err)
			}
			if val, ok := lookupEnv(s.Name); ok {
				if err := vals.set(s, val); err != nil {
					return nil, err
				}
			}
		}
		c.Groups[g.Group] = vals
	}
	ignore := func(name string) bool {
		for _, u := range o.Unlinked {
			if u.owns(name) {
				if !slices.ContainsFunc(c.Ignored, func(i IgnoredSetting) bool { return i.Name == name }) {
					c.Ignored = append(c.Ignored, IgnoredSetting{Name: name, Group: u.Name, Variant: o.Variant, HowToLink: u.HowToLink})
				}
				return true
			}
		}
		return false
	}
	unknown := unknownNames(core, o.Linked)
	for _, kv := range o.Environ {
		name, _, _ := strings.Cut(kv, "=")
		if ignore(name) {
			continue
		}
		if i, ok := unknown(name); ok && !slices.ContainsFunc(c.Ignored, func(x IgnoredSetting) bool { return x.Name == name }) {
			i.Variant = o.Variant
			c.Ignored = append(c.Ignored, i)
		}
	}

	// The set prints nothing (--help is Usage's, from the declarations), so
	// its flags carry no usage text: none is built at every start.
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, s := range core {
		fs.Var(&flagValue{set: func(val string) error { return coreVals.set(s, val) }, isBool: s.Bool}, s.Flag, "")
	}
	for _, g := range o.Linked {
		vals := c.Groups[g.Group]
		for _, s := range g.Settings {
			fs.Var(&flagValue{set: func(val string) error { return vals.set(s, val) }, isBool: s.Bool}, s.Flag, "")
		}
	}
	if err := fs.Parse(dropUnlinkedFlags(o.Args, fs, ignore)); err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			return nil, ce
		}
		return nil, fmt.Errorf("flags: %w", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	coreVals.Into(core)
	if c.StrictSettings && len(c.Ignored) > 0 {
		i := c.Ignored[0]
		return nil, &Error{Var: i.Name, Refused: true, Err: fmt.Errorf("STRICT_SETTINGS=1 and %s", i.Why())}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// unknownNames returns the test for a given name that carries the prefix of
// core or of a linked group but is none of its declared settings.
func unknownNames(core []Setting, linked []GroupSettings) func(string) (IgnoredSetting, bool) {
	type family struct {
		group    string
		prefixes []string
		names    []string
	}
	fams := []family{{group: "core", prefixes: corePrefixes}}
	for _, s := range core {
		fams[0].names = append(fams[0].names, s.Name)
	}
	for _, g := range linked {
		f := family{group: g.Group, prefixes: g.Prefixes}
		for _, s := range g.Settings {
			f.names = append(f.names, s.Name)
		}
		fams = append(fams, f)
	}
	return func(name string) (IgnoredSetting, bool) {
		for _, f := range fams {
			if !slices.ContainsFunc(f.prefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
				continue
			}
			if slices.Contains(f.names, name) {
				return IgnoredSetting{}, false
			}
			return IgnoredSetting{Name: name, Group: f.group, Unknown: true, Nearest: Nearest(name, f.names)}, true
		}
		return IgnoredSetting{}, false
	}
}

// Nearest returns the name among known closest to name by edit distance
// (the first of equals); "" when known is empty.
func Nearest(name string, known []string) string {
	best, bestD := "", -1
	for _, k := range known {
		if d := editDistance(name, k); bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two ASCII names.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// dropUnlinkedFlags removes the flags of groups that are not linked (a
// flag --qdrant-url is the setting QDRANT_URL), after ignore has recorded
// them, so they are treated like the same names in the environment.
func dropUnlinkedFlags(args []string, fs *flag.FlagSet, ignore func(string) bool) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if !strings.HasPrefix(a, "-") {
			out = append(out, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if fs.Lookup(name) != nil || !ignore(strings.ToUpper(strings.ReplaceAll(name, "-", "_"))) {
			out = append(out, a)
			continue
		}
		if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			i++ // its value
		}
	}
	return out
}

// validate checks rules that span several settings.
func (c *Config) validate() error {
	// cross-setting rules are added by the areas that need them
	if c.ShutdownDrain >= c.ShutdownTimeout {
		return &Error{Var: "SHUTDOWN_DRAIN", Value: c.ShutdownDrain.String(), Err: fmt.Errorf(
			"must be shorter than SHUTDOWN_TIMEOUT (%s), which bounds the whole shutdown, drain included", c.ShutdownTimeout)}
	}
	if err := c.validateLatency(); err != nil {
		return err
	}
	if err := c.validateCluster(); err != nil {
		return err
	}
	if err := c.validateHTTP(); err != nil {
		return err
	}
	return c.validateAuth()
}

// Usage writes the settings for --help: core first, then each linked
// group's, then one line per group that is not linked naming what brings it.
func Usage(w io.Writer, linked []GroupSettings, unlinked []UnlinkedGroup) {
	fmt.Fprintln(w, "core:")
	for _, s := range CoreSettings() {
		usageSetting(w, s)
	}
	for _, g := range linked {
		fmt.Fprintf(w, "group %s:\n", g.Group)
		for _, s := range g.Settings {
			usageSetting(w, s)
		}
	}
	for _, u := range unlinked {
		fmt.Fprintf(w, "group %s: not linked into this binary; its settings (%s*) come with %s\n",
			u.Name, strings.Join(u.Prefixes, "*, "), u.HowToLink)
	}
}

func usageSetting(w io.Writer, s Setting) {
	extra := s.Bounds
	if s.Secret {
		extra = "secret: never shown"
	}
	usageLine(w, s.Flag, s.Name, s.Help, s.Default, extra)
}

func usageLine(w io.Writer, flagName, env, help, def, bounds string) {
	extra := fmt.Sprintf("env %s, default %q", env, def)
	if bounds != "" {
		extra += ", " + bounds
	}
	fmt.Fprintf(w, "  --%-30s %s (%s)\n", flagName, help, extra)
}

// flagValue adapts a setting to flag.Value; switches take no argument.
type flagValue struct {
	set    func(string) error
	isBool bool
	val    string
}

func (f *flagValue) String() string { return f.val }
func (f *flagValue) Set(s string) error {
	f.val = s
	return f.set(s)
}
func (f *flagValue) IsBoolFlag() bool { return f.isBool }

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

// parseOptionalBool is nil for an empty value (the default: unset), else
// the switch's value.
func parseOptionalBool(v string) (*bool, error) {
	if v == "" {
		return nil, nil
	}
	b, err := ParseBool(v)
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// parseGroupList parses a comma-separated list of group names from the
// group table; an unknown name is an error naming the known ones.
func parseGroupList(v string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(v, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		if _, ok := groupspec.LookupGroup(name); !ok {
			return nil, fmt.Errorf("unknown group %q (groups: %s)", name, strings.Join(groupspec.GroupNames(), ", "))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

func parseEnum(v string, allowed ...string) (string, error) {
	if slices.Contains(allowed, v) {
		return v, nil
	}
	return "", fmt.Errorf("want one of %s", strings.Join(allowed, ", "))
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

func checkAddr(v string) error {
	_, p, err := net.SplitHostPort(v)
	if err != nil {
		return errors.New("want host:port")
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return errors.New("want host:port with a port between 0 and 65535")
	}
	return nil
}
