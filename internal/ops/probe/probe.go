package probe

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/capreport"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

// ErrMismatch reports that the capabilities differ from what was expected
// or from the binary's build info.
var ErrMismatch = errors.New("capabilities differ")

// Options configure one probe.
type Options struct {
	Exe string // binary to start; "" probes an already running service at Addr
	// Emulator, when set, runs Exe (e.g. qemu-aarch64-static for a linux/arm64 binary).
	Emulator string
	Addr     string        // host:port to serve on (loopback)
	Env      []string      // extra KEY=VALUE for the process
	Timeout  time.Duration // bound on waiting for /health
	// ExpectVariant, when set, is the variant the binary must report.
	ExpectVariant string
	// ExpectGroups, when not nil, is the exact set of linked groups.
	ExpectGroups []string
}

// Result is what a probe saw.
type Result struct {
	Raw        json.RawMessage // /ml-capabilities as served
	Report     capreport.Report
	HealthIn   time.Duration // exec to first /health 200 (0 when not started here)
	Mismatches []string
}

// Probe starts opts.Exe (when set), waits for /health, fetches
// /ml-capabilities and compares it. Errors wrap ErrExited or ErrNotReady
// when the service never became healthy and ErrMismatch when the report
// differs; the Result is filled as far as the probe got.
func Probe(ctx context.Context, opts Options) (Result, error) {
	var res Result
	base := "http://" + opts.Addr
	if opts.Exe != "" {
		p, err := StartEmulated(opts.Emulator, opts.Exe, opts.Addr, opts.Env)
		if err != nil {
			return res, err
		}
		defer p.Stop(10 * time.Second)
		d, err := p.WaitHealthy(ctx, opts.Timeout)
		if err != nil {
			return res, fmt.Errorf("%s: %w\n%s", opts.Exe, err, p.Logs())
		}
		res.HealthIn = d
	} else if err := waitURL(ctx, base+"/health", opts.Timeout); err != nil {
		return res, err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	code, body, err := get(ctx, client, base+"/ml-capabilities")
	if err != nil {
		return res, err
	}
	if code != http.StatusOK {
		return res, fmt.Errorf("%w: /ml-capabilities answered %d: %s", ErrMismatch, code, body)
	}
	res.Raw = body
	if err := json.Unmarshal(body, &res.Report); err != nil {
		return res, fmt.Errorf("%w: /ml-capabilities is not the expected JSON: %v", ErrMismatch, err)
	}
	res.Mismatches = Compare(res.Report, opts.ExpectVariant, opts.ExpectGroups)
	if opts.Exe != "" {
		bi, err := ReadBuild(opts.Exe)
		if err != nil {
			res.Mismatches = append(res.Mismatches, err.Error())
		} else {
			res.Mismatches = append(res.Mismatches, CompareBuild(res.Report, bi)...)
		}
	}
	if len(res.Mismatches) > 0 {
		return res, fmt.Errorf("%w: %s", ErrMismatch, strings.Join(res.Mismatches, "; "))
	}
	return res, nil
}

func waitURL(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		if code, _, err := get(ctx, client, url); err == nil && code == http.StatusOK {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s within %s", ErrNotReady, url, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Compare checks a report against an expected variant and group set and
// against its own consistency section.
func Compare(r capreport.Report, expectVariant string, expectGroups []string) []string {
	var out []string
	if !r.Consistency.OK {
		out = append(out, "consistency.ok is false: "+strings.Join(r.Consistency.Problems, ", "))
	}
	linked := r.Linked()
	if expectVariant != "" {
		v, ok := groupspec.LookupVariant(expectVariant)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("expected variant %q is not declared (known: %s)", expectVariant, strings.Join(groupspec.VariantNames(), ", ")))
		case r.Variant != expectVariant:
			out = append(out, fmt.Sprintf("variant is %q, expected %q", r.Variant, expectVariant))
		case !sameSet(linked, v.Groups):
			out = append(out, fmt.Sprintf("variant %s links %v, the registry declares %v", expectVariant, linked, v.Groups))
		}
	}
	if expectGroups != nil && !sameSet(linked, expectGroups) {
		out = append(out, fmt.Sprintf("linked groups are %v, expected %v", linked, expectGroups))
	}
	return out
}

// Build is what a binary's embedded build info says about it.
type Build struct {
	Tags    []string
	Modules map[string]bool
}

// ReadBuild reads the build tags and linked modules from a binary.
func ReadBuild(exe string) (Build, error) {
	bi, err := buildinfo.ReadFile(exe)
	if err != nil {
		return Build{}, fmt.Errorf("read build info of %s: %w", exe, err)
	}
	b := Build{Modules: map[string]bool{}}
	for _, s := range bi.Settings {
		if s.Key == "-tags" && s.Value != "" {
			b.Tags = strings.Split(s.Value, ",")
		}
	}
	for _, d := range bi.Deps {
		b.Modules[d.Path] = true
	}
	return b, nil
}

// CompareBuild checks a report against the binary's own build info: the
// tags, the groups those tags select, and the modules of each group.
func CompareBuild(r capreport.Report, b Build) []string {
	var out []string
	if !slices.Equal(r.BuildTags, b.Tags) {
		out = append(out, fmt.Sprintf("build_tags %v, the binary was built with %v", r.BuildTags, b.Tags))
	}
	var fromTags []string
	for _, g := range groupspec.Groups() {
		if slices.Contains(b.Tags, g.Name) {
			fromTags = append(fromTags, g.Name)
		}
		linked := r.Groups[g.Name].Linked
		for _, m := range g.Modules {
			if linked && !b.Modules[m] {
				out = append(out, fmt.Sprintf("group %s is reported linked but module %s is not in the binary", g.Name, m))
			}
		}
		for _, m := range g.Exclusive() {
			if !linked && b.Modules[m] {
				out = append(out, fmt.Sprintf("group %s is reported absent but its module %s is in the binary", g.Name, m))
			}
		}
	}
	if linked := r.Linked(); !sameSet(linked, fromTags) {
		out = append(out, fmt.Sprintf("linked groups %v, the build tags select %v", linked, fromTags))
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}
