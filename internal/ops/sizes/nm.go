package sizes

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
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
	return SumByPackage(out, n, noBits(exe)), nil
}

// span is an address range [lo, hi).
type span struct{ lo, hi uint64 }

// noBits returns the address ranges of sections that take no file space
// (.bss, .noptrbss) in an ELF binary; nm marks their symbols D like data.
// Other formats return none (their bss symbols are then counted).
func noBits(exe string) []span {
	f, err := elf.Open(exe)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []span
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS {
			out = append(out, span{s.Addr, s.Addr + s.Size})
		}
	}
	return out
}

// SumByPackage parses `go tool nm -size` output (address, size, type,
// name), sums the symbols that occupy the file (text, rodata, data) by
// package and returns the n packages with the most bytes.
func SumByPackage(nm []byte, n int, skip []span) []Symbol {
	sums := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(nm))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || size == 0 || !strings.ContainsAny(f[2], "TtRrDd") {
			continue // bss (B) and undefined (U) symbols take no file space
		}
		if addr, err := strconv.ParseUint(f[0], 16, 64); err == nil && inSpans(addr, skip) {
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

func inSpans(a uint64, spans []span) bool {
	for _, s := range spans {
		if a >= s.lo && a < s.hi {
			return true
		}
	}
	return false
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
