package sizes

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Options configure a sizes run.
type Options struct {
	Root     string
	CacheDir string
	Go       string
	Runs     int           // starts per binary (median reported)
	Idle     time.Duration // wait after /health before reading RSS
	Timeout  time.Duration // bound on one start
	NMTop    int           // top packages of full by symbol size (0: skip)
	Only     []string      // config names to measure (empty: all)
	Log      io.Writer
}

// Row is one measured build.
type Row struct {
	Config
	Bytes        int64   `json:"bytes"`
	DeltaVsLean  int64   `json:"delta_vs_lean"`
	Modules      int     `json:"modules"`
	StartupMS    float64 `json:"startup_ms_median"`
	StartupMSMin float64 `json:"startup_ms_min"`
	StartupMSMax float64 `json:"startup_ms_max"`
	IdleRSSKiB   int64   `json:"idle_rss_kib_median"` // -1: not measured on this OS
	Cached       bool    `json:"cached"`
}

// GroupCost is what one group adds, measured two ways.
type GroupCost struct {
	Group     string `json:"group"`
	OverLean  int64  `json:"bytes_over_lean"` // size(lean+g) - size(lean)
	InFull    int64  `json:"bytes_in_full"`   // size(full) - size(full-g)
	RSSOverLn int64  `json:"idle_rss_kib_over_lean"`
}

// Symbol is one package's share of the full binary's symbols.
type Symbol struct {
	Package string `json:"package"`
	Bytes   int64  `json:"bytes"`
}

// Report is the output of a sizes run.
type Report struct {
	// Commit is the source measured: git's short hash of HEAD, "-dirty"
	// when tracked files differ from it ("unknown" outside a git tree).
	Commit   string      `json:"commit,omitempty"`
	Go       string      `json:"go"`
	Platform string      `json:"platform"`
	Runs     int         `json:"runs"`
	IdleMS   int64       `json:"idle_ms"`
	Flags    string      `json:"flags"`
	Rows     []Row       `json:"builds"`
	Groups   []GroupCost `json:"groups"`
	NMTop    []Symbol    `json:"full_nm_top_packages,omitempty"`
}

// Run builds and measures every config.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Runs < 1 || o.Runs > 100 {
		return nil, fmt.Errorf("runs %d out of range [1, 100]", o.Runs)
	}
	b := &Builder{Root: o.Root, CacheDir: o.CacheDir, Go: o.Go, Log: o.Log}
	rep := &Report{Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Runs: o.Runs,
		IdleMS: o.Idle.Milliseconds(), Flags: "CGO_ENABLED=0 -trimpath -ldflags '" + ldflags(true) + "'",
		Commit: commitOf(ctx, o.Root)}
	byName := map[string]*Row{}
	for _, c := range Configs() {
		if len(o.Only) > 0 && !slices.Contains(o.Only, c.Name) {
			continue
		}
		if c.SameAs != "" {
			if first, ok := byName[c.SameAs]; ok {
				r := *first
				r.Config = c
				rep.Rows = append(rep.Rows, r)
				byName[c.Name] = &rep.Rows[len(rep.Rows)-1]
				continue
			}
		}
		row, err := measure(ctx, b, c, o)
		if err != nil {
			return nil, err
		}
		rep.Rows = append(rep.Rows, row)
		byName[c.Name] = &rep.Rows[len(rep.Rows)-1]
	}
	// byName holds pointers into rep.Rows, which append may have moved.
	byName = map[string]*Row{}
	for i := range rep.Rows {
		byName[rep.Rows[i].Name] = &rep.Rows[i]
	}
	if lean, ok := byName["lean"]; ok {
		for i := range rep.Rows {
			rep.Rows[i].DeltaVsLean = rep.Rows[i].Bytes - lean.Bytes
		}
	}
	for _, c := range Configs() {
		if c.Kind != "lean+group" {
			continue
		}
		gc := GroupCost{Group: c.Group}
		lean, l1 := byName["lean"]
		plus, l2 := byName["lean+"+c.Group]
		full, f1 := byName["full"]
		minus, f2 := byName["full-"+c.Group]
		if l1 && l2 {
			gc.OverLean = plus.Bytes - lean.Bytes
			if plus.IdleRSSKiB >= 0 && lean.IdleRSSKiB >= 0 {
				gc.RSSOverLn = plus.IdleRSSKiB - lean.IdleRSSKiB
			}
		}
		if f1 && f2 {
			gc.InFull = full.Bytes - minus.Bytes
		}
		if (l1 && l2) || (f1 && f2) {
			rep.Groups = append(rep.Groups, gc)
		}
	}
	if o.NMTop > 0 {
		top, err := nmTop(ctx, b, o.NMTop)
		if err != nil {
			return nil, err
		}
		rep.NMTop = top
	}
	return rep, nil
}

func measure(ctx context.Context, b *Builder, c Config, o Options) (Row, error) {
	exe, cached, err := b.Build(ctx, c.Tags, true)
	if err != nil {
		return Row{}, err
	}
	st, err := os.Stat(exe)
	if err != nil {
		return Row{}, fmt.Errorf("stat %s: %w", exe, err)
	}
	bi, err := buildinfo.ReadFile(exe)
	if err != nil {
		return Row{}, fmt.Errorf("build info of %s: %w", c.Name, err)
	}
	var starts []time.Duration
	var rss []int64
	for i := 0; i < o.Runs; i++ {
		s, err := MeasureStart(ctx, exe, o.Idle, o.Timeout)
		if err != nil {
			return Row{}, fmt.Errorf("%s run %d: %w", c.Name, i+1, err)
		}
		starts = append(starts, s.Startup)
		rss = append(rss, s.RSSKiB)
	}
	if o.Log != nil {
		fmt.Fprintf(o.Log, "sizes: %-16s %10d bytes  start %6.1f ms  rss %6d KiB\n", c.Name, st.Size(),
			ms(median(starts)), median(rss))
	}
	mn, mx := starts[0], starts[0]
	for _, s := range starts {
		mn, mx = min(mn, s), max(mx, s)
	}
	return Row{Config: c, Bytes: st.Size(), Modules: len(bi.Deps), StartupMS: ms(median(starts)),
		StartupMSMin: ms(mn), StartupMSMax: ms(mx), IdleRSSKiB: median(rss), Cached: cached}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// LoadReport reads a report written with --json.
func LoadReport(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read size report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("parse size report %s: %w", path, err)
	}
	return &r, nil
}

// Budget maps a build name (a variant) to its largest allowed size in bytes.
type Budget map[string]int64

// LoadBudget reads a budget file: {"lean": 20000000, ...}.
func LoadBudget(path string) (Budget, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read budget: %w", err)
	}
	var b Budget
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("parse budget %s: %w", path, err)
	}
	return b, nil
}

// Check lists the builds over budget, and budget entries that name no
// build Configs knows (a typo would otherwise check nothing). Entries for
// builds not measured in this run are skipped.
func (b Budget) Check(rows []Row) []string {
	var out []string
	for _, r := range rows {
		if max, ok := b[r.Name]; ok && r.Bytes > max {
			out = append(out, fmt.Sprintf("%s is %d bytes, over its budget of %d by %d", r.Name, r.Bytes, max, r.Bytes-max))
		}
	}
	known := map[string]bool{}
	for _, c := range Configs() {
		known[c.Name] = true
	}
	names := make([]string, 0, len(b))
	for n := range b {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !known[n] {
			out = append(out, fmt.Sprintf("budget names %q, which is not a build (see backendctl sizes)", n))
		}
	}
	return out
}

// WriteTable prints the report for a terminal.
func WriteTable(w io.Writer, r *Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "build\tbytes\tvs lean\tmodules\tstart ms\trss KiB\t")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%+d\t%d\t%.1f\t%s\t\n", row.Name, row.Bytes, row.DeltaVsLean, row.Modules, row.StartupMS, rssText(row.IdleRSSKiB))
	}
	tw.Flush()
	if len(r.Groups) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "group\tbytes over lean\tbytes in full\trss over lean\t")
		for _, g := range r.Groups {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", g.Group, g.OverLean, g.InFull, g.RSSOverLn)
		}
		tw.Flush()
	}
	if len(r.NMTop) > 0 {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, s := range r.NMTop {
			fmt.Fprintf(tw, "nm\t%s\t%d\n", s.Package, s.Bytes)
		}
		tw.Flush()
	}
}

// WriteMarkdown prints the tables BUILD.md embeds.
func WriteMarkdown(w io.Writer, r *Report) {
	commit := r.Commit
	if commit == "" {
		commit = "unknown"
	}
	fmt.Fprintf(w, "Measured at commit `%s` on %s with %s, median of %d starts each; idle RSS read %d ms after the first 200.\n\n", commit, r.Platform, r.Go, r.Runs, r.IdleMS)
	fmt.Fprintln(w, "| build | tags | size (MiB) | vs lean (MiB) | modules | exec to first 200 on /health, ms: median (min-max) | idle RSS (MiB) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, row := range r.Rows {
		name := row.Name
		if row.SameAs != "" {
			name += " (= " + row.SameAs + ")"
		}
		fmt.Fprintf(w, "| %s | `%s` | %.2f | %+.2f | %d | %.1f (%.1f-%.1f) | %s |\n", name, strings.Join(row.Tags, ","),
			mib(row.Bytes), mib(row.DeltaVsLean), row.Modules, row.StartupMS, row.StartupMSMin, row.StartupMSMax, rssMiB(row.IdleRSSKiB))
	}
	if len(r.Groups) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| group | bytes it adds to lean | bytes it adds to full | idle RSS it adds to lean (KiB) |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, g := range r.Groups {
			fmt.Fprintf(w, "| %s | %d (%.2f MiB) | %d (%.2f MiB) | %d |\n", g.Group, g.OverLean, mib(g.OverLean), g.InFull, mib(g.InFull), g.RSSOverLn)
		}
	}
	if len(r.NMTop) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| package (full, `go tool nm -size -sort size`, symbols summed by package) | bytes |")
		fmt.Fprintln(w, "|---|---|")
		for _, s := range r.NMTop {
			fmt.Fprintf(w, "| `%s` | %d |\n", s.Package, s.Bytes)
		}
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func rssText(k int64) string {
	if k < 0 {
		return "n/a"
	}
	return fmt.Sprint(k)
}

func rssMiB(k int64) string {
	if k < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", float64(k)/1024)
}

// commitOf names the source under root as git sees it; the figures hold
// for that commit only.
func commitOf(ctx context.Context, root string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err != nil || len(st) > 0 {
		commit += "-dirty"
	}
	return commit
}
