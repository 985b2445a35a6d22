package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// demoSettings are a group's declarations as a group package writes them.
func demoSettings() []Setting {
	return []Setting{
		String("DEMO_NAME", "world", "who to greet"),
		Int("DEMO_COUNT", 3, 1, 10, "how often"),
		Int64("DEMO_BYTES", 1<<20, 1, 1<<30, "bound in bytes"),
		Duration("DEMO_WAIT", time.Second, time.Millisecond, time.Minute, "how long"),
		Bool("DEMO_LOUD", false, "shout"),
		URL("DEMO_URL", "", "where"),
		String("DEMO_KEY", "", "API key").AsSecret(),
	}
}

func demoOptions(e map[string]string, args ...string) Options {
	var environ []string
	for k, v := range e {
		environ = append(environ, k+"="+v)
	}
	return Options{Args: args, LookupEnv: env(e), Environ: environ, Variant: "lean",
		Linked:   []GroupSettings{{Group: "demo", Settings: demoSettings()}},
		Unlinked: []UnlinkedGroup{{Name: "vector", Prefixes: []string{"QDRANT_", "REDIS_"}, HowToLink: "variant prodapi or full, or build tag vector"}}}
}

func TestGroupSettingsParsed(t *testing.T) {
	c, err := LoadWith(demoOptions(map[string]string{"DEMO_NAME": " you ", "DEMO_COUNT": "7", "DEMO_LOUD": "on"}, "--demo-wait", "2s"))
	if err != nil {
		t.Fatal(err)
	}
	v := c.Group("demo")
	if v.String("DEMO_NAME") != "you" || v.Int("DEMO_COUNT") != 7 || !v.Bool("DEMO_LOUD") || v.Duration("DEMO_WAIT") != 2*time.Second ||
		v.Int64("DEMO_BYTES") != 1<<20 || v.String("DEMO_URL") != "" {
		t.Fatalf("%+v", v)
	}
	if got := v.GivenNames(); strings.Join(got, ",") != "DEMO_COUNT,DEMO_LOUD,DEMO_NAME,DEMO_WAIT" {
		t.Fatalf("given %v", got)
	}
	for name, val := range map[string]string{"DEMO_COUNT": "11", "DEMO_WAIT": "2h", "DEMO_BYTES": "0", "DEMO_LOUD": "maybe", "DEMO_URL": "not a url"} {
		_, err := LoadWith(demoOptions(map[string]string{name: val}))
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != name {
			t.Errorf("%s=%q: want an error naming it, got %v", name, val, err)
		}
	}
	if _, err := LoadWith(demoOptions(nil, "--demo-count=0")); err == nil || !strings.Contains(err.Error(), "DEMO_COUNT") {
		t.Fatalf("flag out of bounds: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("reading an undeclared setting did not panic")
		}
	}()
	v.String("DEMO_NOPE")
}

// TestUnlinkedGroupSettings: a setting of a group that is not linked is
// recorded (environment and flags alike), and refused under STRICT_SETTINGS.
func TestUnlinkedGroupSettings(t *testing.T) {
	e := map[string]string{"QDRANT_URL": "http://u:secret@[::1]:6334", "ADDR": "127.0.0.1:1"}
	c, err := LoadWith(demoOptions(e, "--redis-url", "redis://[::1]:1", "--addr", "127.0.0.1:2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Ignored) != 2 || c.Ignored[0] != (IgnoredSetting{Name: "QDRANT_URL", Group: "vector", Variant: "lean", HowToLink: "variant prodapi or full, or build tag vector"}) ||
		c.Ignored[1].Name != "REDIS_URL" || c.Addr != "127.0.0.1:2" {
		t.Fatalf("ignored %+v addr %s", c.Ignored, c.Addr)
	}
	e["STRICT_SETTINGS"] = "1"
	_, err = LoadWith(demoOptions(e))
	var ce *Error
	if !errors.As(err, &ce) || ce.Var != "QDRANT_URL" || !strings.Contains(err.Error(), "vector") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("strict: %v", err)
	}
	// Without unlinked groups nothing is ignored; a flag nobody declares is still an error.
	if _, err := LoadWith(demoOptions(nil, "--no-such-flag")); err == nil {
		t.Fatal("unknown flag accepted")
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                                    "",
		"localhost:6334":                      "localhost:6334",
		"redis://user:pw@127.0.0.1:6379/0":    "redis://REDACTED@127.0.0.1:6379/0",
		"https://api.example/v1?key=abc#frag": "https://api.example/v1?REDACTED",
		"::secret::":                          "<redacted>",
		"user:pw@host:1":                      "<redacted>",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUsageGrouped(t *testing.T) {
	var b bytes.Buffer
	o := demoOptions(nil)
	Usage(&b, o.Linked, o.Unlinked)
	out := b.String()
	core, demo, vec := strings.Index(out, "core:"), strings.Index(out, "group demo:"), strings.Index(out, "group vector: not linked")
	if core != 0 || demo < core || vec < demo || !strings.Contains(out, "--demo-count") || !strings.Contains(out, "1..10") ||
		!strings.Contains(out, "--addr") || !strings.Contains(out, "(env DEMO_KEY, default \"\", secret: never shown)") || !strings.Contains(out, "build tag vector") {
		t.Fatalf("usage:\n%s", out)
	}
}

// TestMisspeltSettings: a name under the prefix of core or of a linked
// group that nothing declares is reported with the nearest declared name,
// and refused under STRICT_SETTINGS; a name under no known prefix is not
// ours and is left alone.
func TestMisspeltSettings(t *testing.T) {
	o := func(e map[string]string) Options {
		x := demoOptions(e)
		x.Linked[0].Prefixes = []string{"DEMO_"}
		return x
	}
	e := map[string]string{"DEMO_COUNTS": "4", "JWT_SECRETS": "x", "HTTP_PROXY": "http://[::1]:1", "HOME": "/"}
	c, err := LoadWith(o(e))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]IgnoredSetting{}
	for _, i := range c.Ignored {
		got[i.Name] = i
	}
	if len(got) != 2 || got["DEMO_COUNTS"].Nearest != "DEMO_COUNT" || got["DEMO_COUNTS"].Group != "demo" || !got["DEMO_COUNTS"].Unknown ||
		got["JWT_SECRETS"].Nearest != "JWT_SECRET" || got["JWT_SECRETS"].Group != "core" {
		t.Fatalf("ignored %+v", c.Ignored)
	}
	if v := c.Group("demo").Int("DEMO_COUNT"); v != 3 {
		t.Fatalf("DEMO_COUNT %d", v)
	}
	e["STRICT_SETTINGS"] = "1"
	_, err = LoadWith(o(e))
	var ce *Error
	if !errors.As(err, &ce) || !ce.Refused || !strings.Contains(err.Error(), "did you mean") || strings.Contains(err.Error(), "http://") {
		t.Fatalf("strict: %v", err)
	}
}

// TestBindFillsTheOwnersStruct: a group declares each setting once, bound
// to its field; Into fills the fields from what was parsed, defaults
// included, and a field of the wrong type is a panic the owner's tests see.
func TestBindFillsTheOwnersStruct(t *testing.T) {
	type conf struct {
		Name  string
		Count int
		Bytes int64
		Wait  time.Duration
		Loud  bool
	}
	decl := func(c *conf) []Setting {
		return []Setting{
			Bind(&c.Name, String("DEMO_NAME", "world", "who to greet")),
			Bind(&c.Count, Int("DEMO_COUNT", 3, 1, 10, "how often")),
			Bind(&c.Bytes, Int64("DEMO_BYTES", 1<<20, 1, 1<<30, "bound in bytes")),
			Bind(&c.Wait, Duration("DEMO_WAIT", time.Second, time.Millisecond, time.Minute, "how long")),
			Bind(&c.Loud, Bool("DEMO_LOUD", false, "shout")),
		}
	}
	v, err := ParseSettings("demo", decl(&conf{}), env(map[string]string{"DEMO_COUNT": "7", "DEMO_LOUD": "on"}))
	if err != nil {
		t.Fatal(err)
	}
	var c conf
	v.Into(decl(&c))
	if c != (conf{Name: "world", Count: 7, Bytes: 1 << 20, Wait: time.Second, Loud: true}) {
		t.Fatalf("%+v", c)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "DEMO_COUNT holds a int, bound to a string field") {
			t.Fatalf("type mismatch: %v", r)
		}
	}()
	var wrong string
	v.Into([]Setting{Bind(&wrong, Int("DEMO_COUNT", 3, 1, 10, "how often"))})
}

// TestParsedBindsTheParsedValue: a Parsed setting (a list) fills its field
// with what its parser made, and a value the parser refuses is an error
// naming the setting.
func TestParsedBindsTheParsedValue(t *testing.T) {
	split := func(v string) ([]string, error) {
		if strings.Contains(v, ";") {
			return nil, fmt.Errorf("want commas, not semicolons")
		}
		if v == "" {
			return nil, nil
		}
		return strings.Split(v, ","), nil
	}
	var got []string
	decl := []Setting{Bind(&got, Parsed("DEMO_LIST", "", "a list", split))}
	v, err := ParseSettings("demo", decl, env(map[string]string{"DEMO_LIST": " a,b "}))
	if err != nil {
		t.Fatal(err)
	}
	v.Into(decl)
	if strings.Join(got, "|") != "a|b" {
		t.Fatalf("got %q", got)
	}
	if _, err := ParseSettings("demo", decl, env(map[string]string{"DEMO_LIST": "a;b"})); err == nil || !strings.Contains(err.Error(), "DEMO_LIST") {
		t.Fatalf("refusal: %v", err)
	}
}

func TestFloatAndDurationText(t *testing.T) {
	var c struct {
		F float64
		D time.Duration
	}
	decl := []Setting{Bind(&c.F, Float("X_F", 1.5, 0, 2, "f")), Bind(&c.D, DurationText("X_D", "300s", time.Second, time.Hour, "d"))}
	if decl[0].Default != "1.5" || decl[0].Bounds != "0..2" || decl[1].Default != "300s" || decl[1].Bounds != "1s..1h0m0s" {
		t.Fatalf("declared: %+v", decl)
	}
	v, err := ParseSettings("x", decl, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	v.Into(decl)
	if c.F != 1.5 || c.D != 300*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	for _, bad := range []map[string]string{{"X_F": "2.1"}, {"X_F": "NaN"}, {"X_F": "x"}, {"X_D": "2h"}} {
		var ce *Error
		if _, err := ParseSettings("x", decl, env(bad)); !errors.As(err, &ce) {
			t.Errorf("%v accepted: %v", bad, err)
		}
	}
	if _, err := ParseSettings("x", []Setting{DurationText("X_D", "2h", time.Second, time.Hour, "d")}, env(nil)); err == nil {
		t.Error("default out of bounds accepted")
	}
}

// TestSettingMethodsCopy: a Setting is a handle, but Bind, AsSecret and
// AsSwitch change a copy, so one declaration bound twice (two services in
// one process) fills two fields, and the original stays unbound.
func TestSettingMethodsCopy(t *testing.T) {
	base := Int("DEMO_N", 1, 0, 10, "n")
	var a, b int
	sa, sb := Bind(&a, base), Bind(&b, base)
	secret := base.AsSecret()
	if base.bind != nil || base.Secret || !secret.Secret || base.AsSwitch().Bool == base.Bool {
		t.Fatalf("the original changed or a copy did not: base %+v", *base.declaration)
	}
	v, err := ParseSettings("demo", []Setting{sa}, func(string) (string, bool) { return "7", true })
	if err != nil {
		t.Fatal(err)
	}
	v.Into([]Setting{sa, sb})
	if a != 7 || b != 7 {
		t.Fatalf("a=%d b=%d, want both 7", a, b)
	}
	v2, _ := ParseSettings("demo", []Setting{sa}, func(string) (string, bool) { return "3", true })
	v2.Into([]Setting{sb})
	if a != 7 || b != 3 {
		t.Fatalf("a=%d b=%d: binding b moved a", a, b)
	}
}
