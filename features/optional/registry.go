package optional

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
	"github.com/advanced-backend/advanced-backend/internal/ratelimit"
)

// Bounds of a registry file.
const (
	maxRegistryBytes   = 1 << 20 // a larger file is refused
	maxSectionEntries  = 1000    // SLO targets (rate_limits: ratelimit.MaxOverrides)
	maxRouteKeyLen     = 512
	maxReasonLen       = 256
	maxSLOMillis       = 3_600_000 // one hour
	maxRPS             = 1_000_000
	maxBurst           = 1_000_000
	registryGroupName  = "optional"
	registryFileFormat = "YAML or JSON"
)

// Registry is a parsed registry file.
//
//	slo:            # per-route p95 targets for the latency engine
//	  "GET /api/v2/llm/chat": {p95_ms: 800}
//	groups:         # switch linked groups off (or back on) at run time
//	  vector: {enabled: false, reason: "qdrant maintenance"}
//	rate_limits:    # per-route limits for the rate limiter (rps 0 exempts the route)
//	  "POST /api/v2/llm/chat": {rps: 5, burst: 10}
type Registry struct {
	SLO        map[string]SLOTarget             `json:"slo"`
	Groups     map[string]GroupSwitch           `json:"groups"`
	RateLimits map[string]groupapi.RateOverride `json:"rate_limits"`
}

// SLOTarget is one route's latency objective.
type SLOTarget struct {
	P95Ms float64 `json:"p95_ms"`
}

// GroupSwitch turns a linked group on or off.
type GroupSwitch struct {
	Enabled bool   `json:"enabled"`
	Reason  string `json:"reason,omitempty"`
}

// ParseError is a rejected registry file: where and what.
type ParseError struct {
	File   string
	Line   int    // 1-based; 0 when the whole file is at fault
	Column int    // 1-based; 0 when unknown
	Field  string // dotted path (slo."GET /x".p95_ms); "" for a syntax error
	Msg    string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ", column %d", e.Column)
		}
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %s", e.Field)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// Format is how a file is read.
type Format string

const (
	FormatYAML Format = "yaml"
	FormatJSON Format = "json"
)

// DetectFormat chooses by extension (.json, .yaml, .yml), else by content:
// a document that starts with '{' is JSON.
func DetectFormat(name string, data []byte) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return FormatJSON
	case ".yaml", ".yml":
		return FormatYAML
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		return FormatJSON
	}
	return FormatYAML
}

// Parse reads a registry file. A JSON file must be strict JSON (checked
// with encoding/json first); both formats are then walked as one YAML tree,
// so every rejection carries a line and the field it concerns. Unknown
// keys, duplicate keys, anchors, aliases, tags and values out of range are
// refused. Parse does no I/O and keeps nothing: it is safe to fuzz.
func Parse(name string, data []byte) (reg *Registry, format Format, err error) {
	// A reload runs in the SIGHUP goroutine too: a bug in the YAML parser
	// must reject the file, not end the process.
	defer func() {
		if v := recover(); v != nil {
			reg, err = nil, &ParseError{File: name, Msg: fmt.Sprintf("the YAML parser failed on this file: %v", v)}
		}
	}()
	return parse(name, data)
}

func parse(name string, data []byte) (*Registry, Format, error) {
	format := DetectFormat(name, data)
	fail := func(line, col int, field, msg string) (*Registry, Format, error) {
		return nil, format, &ParseError{File: name, Line: line, Column: col, Field: field, Msg: msg}
	}
	if len(data) > maxRegistryBytes {
		return fail(0, 0, "", fmt.Sprintf("file is larger than %d bytes", maxRegistryBytes))
	}
	// before any parser sees it: depth costs the YAML parser quadratic
	// memory, beyond what recover can catch
	if pe := checkDepth(data); pe != nil {
		pe.File = name
		return nil, format, pe
	}
	if format == FormatJSON {
		if err := checkJSON(data); err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				pe.File = name
			}
			return nil, format, err
		}
	}
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil {
			pos := ye.GetToken().Position
			return fail(pos.Line, pos.Column, "", "syntax error: "+ye.GetMessage())
		}
		return fail(0, 0, "", "syntax error: "+err.Error())
	}
	reg := &Registry{SLO: map[string]SLOTarget{}, Groups: map[string]GroupSwitch{}, RateLimits: map[string]groupapi.RateOverride{}}
	var body ast.Node
	for _, doc := range file.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, ok := doc.Body.(*ast.CommentGroupNode); ok {
			continue
		}
		if body != nil {
			line, col := pos(doc.Body)
			return fail(line, col, "", "more than one YAML document: a registry file holds one")
		}
		body = doc.Body
	}
	if body == nil {
		return reg, format, nil // an empty file clears everything
	}
	w := walker{file: name}
	if err := w.root(body, reg); err != nil {
		return nil, format, err
	}
	return reg, format, nil
}

// checkJSON rejects what YAML accepts but JSON does not (comments, single
// quotes, bare words), naming the line of the first error.
func checkJSON(data []byte) error {
	var v any
	err := json.Unmarshal(data, &v)
	if err == nil {
		if _, ok := v.(map[string]any); !ok && v != nil {
			return &ParseError{Line: 1, Msg: "the top level must be an object"}
		}
		return nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := lineCol(data, syn.Offset)
		return &ParseError{Line: line, Column: col, Msg: "JSON syntax error: " + syn.Error()}
	}
	return &ParseError{Msg: "JSON: " + err.Error()}
}

func lineCol(data []byte, offset int64) (int, int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	if col < 1 {
		col = 1
	}
	return line, col
}

func pos(n ast.Node) (int, int) {
	if n == nil || n.GetToken() == nil {
		return 0, 0
	}
	p := n.GetToken().Position
	return p.Line, p.Column
}

// walker turns the YAML tree into a Registry, failing with the position
// and dotted path of the first offending node.
type walker struct{ file string }

func (w walker) fail(n ast.Node, field, format string, args ...any) error {
	line, col := pos(n)
	return &ParseError{File: w.file, Line: line, Column: col, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// entry is one key and value of a mapping.
type entry struct {
	key   string
	keyN  ast.Node
	value ast.Node
}

// mapping returns the entries of a mapping node, in order; null is an
// empty mapping.
func (w walker) mapping(n ast.Node, field string) ([]entry, error) {
	switch n.(type) {
	case *ast.NullNode:
		return nil, nil
	case *ast.AnchorNode, *ast.AliasNode, *ast.TagNode:
		return nil, w.fail(n, field, "anchors, aliases and tags are not supported")
	}
	mn, ok := n.(ast.MapNode)
	if !ok {
		return nil, w.fail(n, field, "want a mapping, got %s", kind(n))
	}
	var out []entry
	seen := map[string]bool{}
	it := mn.MapRange()
	for it.Next() {
		k := it.Key()
		ks, ok := k.(*ast.StringNode)
		if !ok {
			return nil, w.fail(k, field, "keys must be strings, got %s", kind(k))
		}
		if seen[ks.Value] {
			return nil, w.fail(k, join(field, ks.Value), "duplicate key")
		}
		seen[ks.Value] = true
		out = append(out, entry{key: ks.Value, keyN: k, value: it.Value()})
	}
	return out, nil
}

func (w walker) root(n ast.Node, reg *Registry) error {
	entries, err := w.mapping(n, "(top level)")
	if err != nil {
		return err
	}
	for _, e := range entries {
		switch e.key {
		case "slo":
			err = w.slo(e.value, reg)
		case "groups":
			err = w.groups(e.value, reg)
		case "rate_limits":
			err = w.rateLimits(e.value, reg)
		default:
			err = w.fail(e.keyN, e.key, "unknown section (want slo, groups or rate_limits)")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w walker) slo(n ast.Node, reg *Registry) error {
	entries, err := w.mapping(n, "slo")
	if err != nil {
		return err
	}
	if len(entries) > maxSectionEntries {
		return w.fail(n, "slo", "more than %d routes", maxSectionEntries)
	}
	for _, e := range entries {
		field := join("slo", e.key)
		if err := w.routeKey(e.keyN, field, e.key); err != nil {
			return err
		}
		fields, err := w.mapping(e.value, field)
		if err != nil {
			return err
		}
		var t SLOTarget
		got := false
		for _, f := range fields {
			ff := join(field, f.key)
			if f.key != "p95_ms" {
				return w.fail(f.keyN, ff, "unknown key (want p95_ms)")
			}
			if t.P95Ms, err = w.number(f.value, ff, 0, maxSLOMillis); err != nil {
				return err
			}
			got = true
		}
		if !got {
			return w.fail(e.keyN, join(field, "p95_ms"), "missing: the p95 target in milliseconds")
		}
		reg.SLO[e.key] = t
	}
	return nil
}

func (w walker) groups(n ast.Node, reg *Registry) error {
	entries, err := w.mapping(n, "groups")
	if err != nil {
		return err
	}
	for _, e := range entries {
		field := join("groups", e.key)
		if _, ok := groupspec.LookupGroup(e.key); !ok {
			return w.fail(e.keyN, field, "unknown group (known: %s)", strings.Join(groupspec.GroupNames(), ", "))
		}
		fields, err := w.mapping(e.value, field)
		if err != nil {
			return err
		}
		var sw GroupSwitch
		got := false
		for _, f := range fields {
			ff := join(field, f.key)
			switch f.key {
			case "enabled":
				b, ok := f.value.(*ast.BoolNode)
				if !ok {
					return w.fail(f.value, ff, "want true or false, got %s", kind(f.value))
				}
				sw.Enabled, got = b.Value, true
			case "reason":
				s, ok := f.value.(*ast.StringNode)
				if !ok {
					return w.fail(f.value, ff, "want a string, got %s", kind(f.value))
				}
				if len(s.Value) > maxReasonLen {
					return w.fail(f.value, ff, "longer than %d bytes", maxReasonLen)
				}
				sw.Reason = s.Value
			default:
				return w.fail(f.keyN, ff, "unknown key (want enabled or reason)")
			}
		}
		if !got {
			return w.fail(e.keyN, join(field, "enabled"), "missing: true or false")
		}
		if e.key == registryGroupName && !sw.Enabled {
			return w.fail(e.keyN, join(field, "enabled"), "the optional group serves the registry itself and cannot switch itself off")
		}
		reg.Groups[e.key] = sw
	}
	return nil
}

func (w walker) rateLimits(n ast.Node, reg *Registry) error {
	entries, err := w.mapping(n, "rate_limits")
	if err != nil {
		return err
	}
	if len(entries) > ratelimit.MaxOverrides {
		return w.fail(n, "rate_limits", "more than %d routes (the rate limiter's bound)", ratelimit.MaxOverrides)
	}
	for _, e := range entries {
		field := join("rate_limits", e.key)
		if err := w.routeKey(e.keyN, field, e.key); err != nil {
			return err
		}
		fields, err := w.mapping(e.value, field)
		if err != nil {
			return err
		}
		var o groupapi.RateOverride
		var gotRPS, gotBurst bool
		var burstN ast.Node
		for _, f := range fields {
			ff := join(field, f.key)
			switch f.key {
			case "rps":
				if o.RPS, err = w.numberFrom(f.value, ff, 0, maxRPS); err != nil {
					return err
				}
				gotRPS = true
			case "burst":
				b, err := w.numberFrom(f.value, ff, 0, maxBurst)
				if err != nil {
					return err
				}
				if b != math.Trunc(b) {
					return w.fail(f.value, ff, "want a whole number, got %g", b)
				}
				o.Burst, gotBurst, burstN = int(b), true, f.value
			default:
				return w.fail(f.keyN, ff, "unknown key (want rps and burst)")
			}
		}
		switch {
		case !gotRPS:
			return w.fail(e.keyN, join(field, "rps"), "missing: requests per second (0 exempts the route)")
		case o.RPS > 0 && !gotBurst:
			return w.fail(e.keyN, join(field, "burst"), "missing: a limit with rps > 0 needs a burst")
		case o.RPS > 0 && o.Burst < 1:
			return w.fail(burstN, join(field, "burst"), "want at least 1 when rps > 0, got %d", o.Burst)
		}
		reg.RateLimits[e.key] = o
	}
	return nil
}

// routeKeyRE is "METHOD /path" as the latency engine and rate limiter key
// routes (gin templates such as /api/v2/items/:id allowed).
var routeKeyRE = regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /[!-~]*$`)

func (w walker) routeKey(n ast.Node, field, key string) error {
	if len(key) > maxRouteKeyLen || !routeKeyRE.MatchString(key) {
		return w.fail(n, field, `want a route "METHOD /path" (for example "GET /api/v2/ml/anomalies")`)
	}
	return nil
}

// number reads a finite number in (lo, hi].
func (w walker) number(n ast.Node, field string, lo, hi float64) (float64, error) {
	return w.readNumber(n, field, lo, hi, false)
}

// numberFrom reads a finite number in [lo, hi].
func (w walker) numberFrom(n ast.Node, field string, lo, hi float64) (float64, error) {
	return w.readNumber(n, field, lo, hi, true)
}

func (w walker) readNumber(n ast.Node, field string, lo, hi float64, loIncluded bool) (float64, error) {
	var v float64
	switch x := n.(type) {
	case *ast.IntegerNode:
		f, err := strconv.ParseFloat(fmt.Sprint(x.Value), 64)
		if err != nil {
			return 0, w.fail(n, field, "want a number, got %s", x.String())
		}
		v = f
	case *ast.FloatNode:
		v = x.Value
	default:
		return 0, w.fail(n, field, "want a number, got %s", kind(n))
	}
	tooLow := v < lo || (!loIncluded && v == lo)
	if math.IsNaN(v) || math.IsInf(v, 0) || tooLow || v > hi {
		if loIncluded {
			return 0, w.fail(n, field, "want a number from %g to %g, got %g", lo, hi, v)
		}
		return 0, w.fail(n, field, "want a number greater than %g and at most %g, got %g", lo, hi, v)
	}
	return v, nil
}

// kind describes a node for an error message.
func kind(n ast.Node) string {
	switch x := n.(type) {
	case nil:
		return "nothing"
	case *ast.StringNode:
		return fmt.Sprintf("string %q", truncate(x.Value, 40))
	case *ast.IntegerNode, *ast.FloatNode:
		return "number " + n.String()
	case *ast.BoolNode:
		return "boolean " + n.String()
	case *ast.NullNode:
		return "null"
	case *ast.InfinityNode, *ast.NanNode:
		return "non-finite number " + n.String()
	case *ast.SequenceNode:
		return "a list"
	case ast.MapNode:
		return "a mapping"
	case *ast.AnchorNode, *ast.AliasNode, *ast.TagNode:
		return "an anchor, alias or tag (not supported)"
	}
	return strings.ToLower(strings.TrimSuffix(n.Type().String(), "Type"))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// join appends a key to a dotted field path, quoting keys that need it.
func join(field, key string) string {
	if strings.ContainsAny(key, " ./\"") || key == "" {
		key = strconv.Quote(key)
	}
	if field == "" || field == "(top level)" {
		return key
	}
	return field + "." + key
}

// Clone returns a deep copy.
func (r *Registry) Clone() *Registry {
	if r == nil {
		return nil
	}
	c := &Registry{SLO: make(map[string]SLOTarget, len(r.SLO)), Groups: make(map[string]GroupSwitch, len(r.Groups)),
		RateLimits: make(map[string]groupapi.RateOverride, len(r.RateLimits))}
	maps.Copy(c.SLO, r.SLO)
	maps.Copy(c.Groups, r.Groups)
	maps.Copy(c.RateLimits, r.RateLimits)
	return c
}

// sortedKeys lists map keys in order (for stable logs).
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
