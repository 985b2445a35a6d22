package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Setting declares one setting of core or of a group. Core declares its
// own in this package (coreSettings); a group declares its settings beside
// its code and hands them over when it registers. This package parses them
// all, so it stays the only reader of the environment and the flags. Build one with String, Bool, Int, Int64,
// Float, Duration, URL, AddrOrURL, Checked or Parsed; AsSecret marks it as
// never shown, AsSwitch as a flag that takes no argument. Its fields
// (Name, Flag, Default, Help, Bounds, Bool, Secret, URL) are read through
// it.
//
// A Setting is a handle on one declaration (a pointer), not the
// declaration itself: a declaring function builds a slice of dozens, and
// with a 104-byte value each one was copied four times on its way into the
// slice, several hundred bytes of code per declaration (about 20 KB of
// core's declarations alone in every binary). Bind, AsSecret and AsSwitch
// return a changed copy and leave the original as it was, so a Setting
// still behaves as a value; nothing outside this file writes its fields.
// The constructors are kept out of line (go:noinline) for the same
// reason: a declaration runs once per process, the call costs nothing that
// matters. Bind and Parsed, which are generic, do the opposite: they inline
// to a call of code that is not generic (or, for Parsed, to a closure per
// type), so no body of theirs is compiled per type.
type Setting struct {
	*declaration
}

// declaration is what a Setting holds.
type declaration struct {
	Name    string // environment variable, such as QDRANT_URL
	Flag    string // command-line flag without dashes; derived from Name
	Default string
	Help    string
	Bounds  string // the accepted range, for --help ("1..100000")
	Bool    bool   // a switch: 1/true/on or 0/false/off
	Secret  bool   // never shown: errors and logs say <redacted>
	URL     bool   // shown without its userinfo and query
	parse   func(string) (any, error)
	bind    any // a pointer to the owner's field (Bind); nil when unbound
}

// copied returns a copy of s's declaration to change; s is left as it was.
func (s Setting) copied() *declaration {
	d := *s.declaration
	return &d
}

// Bind binds a declaration to the field of the owner's config struct that
// receives its value, so the name is written once and read nowhere:
//
//	func settings(c *Config) []config.Setting {
//		return []config.Setting{config.Bind(&c.MaxSeries, config.Int("ML_MAX_SERIES", ...))}
//	}
//
// Values.Into fills every bound field. The field has the setting's type
// (int for Int, int64 for Int64, float64 for Float, time.Duration for
// Duration, bool for Bool, T for Parsed[T], string for the others); a mismatch panics in Into, which the
// owner's own tests run. s itself stays unbound.
func Bind[T any](p *T, s Setting) Setting {
	return s.boundTo(p)
}

// boundTo is Bind without the type: Bind is generic only to check the
// field's type where it is written, and inlines to this call, so no copy of
// it is compiled per field type (seven in core alone).
//
//go:noinline
func (s Setting) boundTo(field any) Setting {
	d := s.copied()
	d.bind = field
	return Setting{d}
}

// AsSecret returns s marked as a secret (API keys, passwords).
func (s Setting) AsSecret() Setting {
	d := s.copied()
	d.Secret = true
	return Setting{d}
}

// AsSwitch returns s as a switch: its flag takes no argument (--name means
// true), for a Parsed setting of a boolean kind (a nullable bool).
func (s Setting) AsSwitch() Setting {
	d := s.copied()
	d.Bool = true
	return Setting{d}
}

//go:noinline
func newSetting(name, def, help string, parse func(string) (any, error)) Setting {
	return Setting{&declaration{Name: name, Flag: flagName(name), Default: def, Help: help, parse: parse}}
}

// flagName derives the flag of an environment name: QDRANT_URL -> qdrant-url.
func flagName(env string) string { return strings.ReplaceAll(strings.ToLower(env), "_", "-") }

// String declares a free-form string setting (trimmed).
//
//go:noinline
func String(name, def, help string) Setting {
	return newSetting(name, def, help, func(v string) (any, error) { return strings.TrimSpace(v), nil })
}

// Checked declares a string setting (trimmed) that check accepts, for
// lists and enumerations a group parses itself; the error names the value.
//
//go:noinline
func Checked(name, def, help string, check func(string) error) Setting {
	return newSetting(name, def, help, func(v string) (any, error) {
		v = strings.TrimSpace(v)
		return v, check(v)
	})
}

// Parsed declares a setting whose value is what parse makes of the trimmed
// text (a list, an enumeration), so the field it is bound to holds the
// parsed value and nobody parses it twice; the error names the value.
func Parsed[T any](name, def, help string, parse func(string) (T, error)) Setting {
	return newSetting(name, def, help, func(v string) (any, error) {
		return parse(strings.TrimSpace(v))
	})
}

// Bool declares a switch.
//
//go:noinline
func Bool(name string, def bool, help string) Setting {
	s := newSetting(name, strconv.FormatBool(def), help, func(v string) (any, error) { return ParseBool(v) })
	s.Bool = true
	return s
}

// Int declares an integer setting within [lo, hi].
//
//go:noinline
func Int(name string, def, lo, hi int, help string) Setting {
	s := newSetting(name, strconv.Itoa(def), help, func(v string) (any, error) {
		var n int
		err := setInt(&n, v, lo, hi)
		return n, err
	})
	s.Bounds = fmt.Sprintf("%d..%d", lo, hi)
	return s
}

// Int64 declares a 64-bit integer setting (sizes in bytes) within [lo, hi].
//
//go:noinline
func Int64(name string, def, lo, hi int64, help string) Setting {
	s := newSetting(name, strconv.FormatInt(def, 10), help, func(v string) (any, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return int64(0), fmt.Errorf("want an integer")
		}
		if n < lo || n > hi {
			return int64(0), fmt.Errorf("want an integer between %d and %d", lo, hi)
		}
		return n, nil
	})
	s.Bounds = fmt.Sprintf("%d..%d", lo, hi)
	return s
}

// Duration declares a Go duration setting within [lo, hi].
//
//go:noinline
func Duration(name string, def, lo, hi time.Duration, help string) Setting {
	s := newSetting(name, def.String(), help, func(v string) (any, error) {
		var d time.Duration
		err := setDuration(&d, v, lo, hi)
		return d, err
	})
	s.Bounds = fmt.Sprintf("%s..%s", lo, hi)
	return s
}

// DurationText is Duration with the default written as it is shown in
// --help and the documents ("300s" rather than "5m0s"); the text is parsed
// like any value, so a default out of bounds fails every load.
//
//go:noinline
func DurationText(name, def string, lo, hi time.Duration, help string) Setting {
	s := Duration(name, 0, lo, hi, help)
	s.Default = def
	return s
}

// Float declares a number setting within [lo, hi] (NaN refused).
//
//go:noinline
func Float(name string, def, lo, hi float64, help string) Setting {
	s := newSetting(name, strconv.FormatFloat(def, 'g', -1, 64), help, func(v string) (any, error) {
		var f float64
		err := setFloat(&f, v, lo, hi)
		return f, err
	})
	s.Bounds = fmt.Sprintf("%g..%g", lo, hi)
	return s
}

// URL declares an absolute URL setting; "" (unset) is accepted when def is "".
//
//go:noinline
func URL(name, def, help string) Setting {
	s := newSetting(name, def, help, func(v string) (any, error) {
		var u string
		var err error
		if def == "" {
			err = setOptionalURL(&u, v)
		} else {
			err = setURL(&u, v)
		}
		return u, err
	})
	s.URL = true
	return s
}

// AddrOrURL declares a setting that is "" (unset), host:port or an absolute URL.
//
//go:noinline
func AddrOrURL(name, help string) Setting {
	s := newSetting(name, "", help, func(v string) (any, error) {
		var u string
		err := setAddrOrURL(&u, v)
		return u, err
	})
	s.URL = true
	return s
}

// Show returns a value of the setting as it may appear in an answer, an
// error or a log line: secrets redacted, URLs without credentials.
func (s Setting) Show(v string) string {
	switch {
	case s.Secret:
		return "<redacted>"
	case s.URL:
		return RedactURL(v)
	}
	return v
}

func (s Setting) fail(val string, err error) *Error {
	return &Error{Var: s.Name, Value: s.Show(val), Err: err}
}

// Values are one group's parsed settings. Reading a name the group did not
// declare, or as another type, panics: that is a programming error that the
// group's own tests find.
type Values struct {
	group string
	m     map[string]any
	given map[string]bool
}

func (v Values) get(name string) any {
	x, ok := v.m[name]
	if !ok {
		panic(fmt.Sprintf("config: group %q read undeclared setting %s", v.group, name))
	}
	return x
}

// String returns a string, URL or AddrOrURL setting.
func (v Values) String(name string) string { return v.get(name).(string) }

// Bool returns a switch.
func (v Values) Bool(name string) bool { return v.get(name).(bool) }

// Int returns an Int setting.
func (v Values) Int(name string) int { return v.get(name).(int) }

// Int64 returns an Int64 setting.
func (v Values) Int64(name string) int64 { return v.get(name).(int64) }

// Duration returns a Duration setting.
func (v Values) Duration(name string) time.Duration { return v.get(name).(time.Duration) }

// Into fills the fields bound in decls (Bind) with the parsed values: the
// one way a group reads its settings into its config struct. decls are the
// declarations the group registered, bound to the struct to fill.
func (v Values) Into(decls []Setting) {
	for _, s := range decls {
		if s.bind != nil {
			s.fill(v.get(s.Name))
		}
	}
}

// fill stores x in the field s is bound to; x must have the field's type
// (or implement it, for a field of an interface type).
func (s Setting) fill(x any) {
	field := reflect.ValueOf(s.bind).Elem()
	val := reflect.ValueOf(x)
	if !val.IsValid() || !val.Type().AssignableTo(field.Type()) ||
		field.Kind() != reflect.Interface && val.Type() != field.Type() {
		panic(fmt.Sprintf("config: %s holds a %T, bound to a %s field", s.Name, x, field.Type()))
	}
	field.Set(val)
}

// Given reports whether the setting was given (environment or flag) rather
// than left at its default.
func (v Values) Given(name string) bool { return v.given[name] }

// GivenNames lists the settings that were given, sorted.
func (v Values) GivenNames() []string {
	return slices.Sorted(maps.Keys(v.given))
}

// ParseSettings parses one group's settings from the environment alone,
// for the group's own tests (a process parses them through Load).
func ParseSettings(group string, decl []Setting, lookupEnv func(string) (string, bool)) (Values, error) {
	v := newValues(group)
	for _, s := range decl {
		if err := v.setDefault(s); err != nil {
			return Values{}, err
		}
	}
	for _, s := range decl {
		if val, ok := lookupEnv(s.Name); ok {
			if err := v.set(s, val); err != nil {
				return Values{}, err
			}
		}
	}
	return v, nil
}

func newValues(group string) Values {
	return Values{group: group, m: map[string]any{}, given: map[string]bool{}}
}

func (v Values) setDefault(s Setting) error {
	x, err := s.parse(s.Default)
	if err != nil {
		return fmt.Errorf("default of %s: %w", s.Name, err) // a bug in the declaration
	}
	v.m[s.Name] = x
	return nil
}

func (v Values) set(s Setting, val string) error {
	x, err := s.parse(val)
	if err != nil {
		return s.fail(val, err)
	}
	v.m[s.Name], v.given[s.Name] = x, true
	return nil
}
