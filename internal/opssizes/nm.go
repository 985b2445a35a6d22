package opssizes

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
)

// nmTop builds full with symbols, runs `go tool nm -size -sort size` and
// sums symbol sizes by package.
func nmTop(ctx context.Context, b *Builder, n int) ([]Symbol, error) {
	full := Configs()[0].Tags
	for _, c := range Configs() {
		if c.Name == "full" {
			full = c.Tags
		}
	}
	exe, _, err := b.Build(ctx, full, false)
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, b.Go, "tool", "nm", "-size", "-sort", "size", exe).Output()
	if err != nil {
		return nil, fmt.Errorf("go tool nm %s: %w", exe, err)
	}
	return SumByPackage(out, n), nil
}

// SumByPackage parses `go tool nm -size` output (address, size, type,
// name) and returns the n packages with the most bytes.
func SumByPackage(nm []byte, n int) []Symbol {
	sums := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(nm))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || size == 0 {
			continue
		}
		sums[PackageOf(strings.Join(f[3:], " "))] += size
	}
	out := make([]Symbol, 0, len(sums))
	for p, s := range sums {
		out = append(out, Symbol{Package: p, Bytes: s})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		return out[i].Package < out[j].Package
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// PackageOf returns the package path of a Go symbol name such as
// "github.com/a/b.(*T).M" or "runtime.main"; other symbols are grouped by
// their name up to the first dot.
func PackageOf(sym string) string {
	switch {
	case strings.HasPrefix(sym, "type:"):
		return "(type descriptors)"
	case strings.HasPrefix(sym, "go:"):
		return "(runtime tables: " + strings.SplitN(sym, ".", 2)[0] + ")"
	}
	slash := strings.LastIndex(sym, "/")
	dot := strings.Index(sym[slash+1:], ".")
	if dot < 0 {
		return sym
	}
	return sym[:slash+1+dot]
}
