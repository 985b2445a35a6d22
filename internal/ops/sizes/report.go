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

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
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
	// Floor adds the floor build (FloorPkg with lean's tags): a bare gin
	// server with the libraries lean's core links, the least lean can be.
	Floor bool
	// Extra are binaries built elsewhere (lean at an earlier commit, say),
	// measured in the same run as rows of their own.
	Extra []Extra
	Log   io.Writer
}

// Extra is a prebuilt binary to measure: it must take `serve --addr
// ADDR` and report its pid on /health, as the service does.
type Extra struct {
	Name string `json:"name"`
	Path string `json:"path"`
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

// Ratio is a build's size, start time and idle RSS over the floor's.
type Ratio struct {
	Name    string  `json:"name"`
	Size    float64 `json:"size"`
	Startup float64 `json:"startup"`
	IdleRSS float64 `json:"idle_rss,omitempty"` // 0: not measured on this OS
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
	// VsFloor compares every build with the floor (with --floor).
	VsFloor []Ratio `json:"vs_floor,omitempty"`
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
	plan, err := planBuilds(ctx, b, o)
	if err != nil {
		return nil, err
	}
	if err := measureAll(ctx, plan, o); err != nil {
		return nil, err
	}
	for _, p := range plan {
		r := p.row
		if p.sameAs != nil {
			c := r.Config
			r = p.sameAs.row
			r.Config = c
		}
		rep.Rows = append(rep.Rows, r)
	}
	byName := map[string]*Row{}
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
	rep.VsFloor = ratios(rep.Rows)
	return rep, nil
}

// build is one binary of a run and what was measured of it.
type build struct {
	row    Row
	exe    string
	sameAs *build // a config with the tag set of an earlier one: measured once
	starts []time.Duration
	rss    []int64
}

// planBuilds builds (or finds in the cache) every binary to measure.
func planBuilds(ctx context.Context, b *Builder, o Options) ([]*build, error) {
	var plan []*build
	byName := map[string]*build{}
	add := func(c Config, exe string, cached bool) error {
		if _, dup := byName[c.Name]; dup {
			return fmt.Errorf("two builds named %s", c.Name)
		}
		st, err := os.Stat(exe)
		if err != nil {
			return fmt.Errorf("stat %s: %w", exe, err)
		}
		bi, err := buildinfo.ReadFile(exe)
		if err != nil {
			return fmt.Errorf("build info of %s: %w", c.Name, err)
		}
		if c.Kind == "exe" { // built elsewhere: its build info says with which tags
			for _, kv := range bi.Settings {
				if kv.Key == "-tags" {
					c.Tags = strings.Split(kv.Value, ",")
				}
			}
		}
		p := &build{row: Row{Config: c, Bytes: st.Size(), Modules: len(bi.Deps), Cached: cached}, exe: exe}
		plan = append(plan, p)
		byName[c.Name] = p
		return nil
	}
	for _, c := range Configs() {
		if len(o.Only) > 0 && !slices.Contains(o.Only, c.Name) {
			continue
		}
		if first, ok := byName[c.SameAs]; ok && c.SameAs != "" {
			p := &build{row: Row{Config: c}, sameAs: first}
			plan = append(plan, p)
			byName[c.Name] = p
			continue
		}
		exe, cached, err := b.Build(ctx, c.Tags, true)
		if err != nil {
			return nil, err
		}
		if err := add(c, exe, cached); err != nil {
			return nil, err
		}
	}
	if o.Floor {
		tags, _ := groupspec.VariantTags("lean")
		exe, cached, err := b.BuildPkg(ctx, FloorPkg, tags, true)
		if err != nil {
			return nil, err
		}
		if err := add(Config{Name: "floor", Kind: "floor", Tags: tags}, exe, cached); err != nil {
			return nil, err
		}
	}
	for _, e := range o.Extra {
		if err := add(Config{Name: e.Name, Kind: "exe"}, e.Path, false); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// measureAll starts every binary Runs times, round by round (each binary
// once per round), so a change in the machine's load falls on all of them
// alike, and fills in the medians.
func measureAll(ctx context.Context, plan []*build, o Options) error {
	for i := 0; i < o.Runs; i++ {
		for _, p := range plan {
			if p.sameAs != nil {
				continue
			}
			s, err := MeasureStart(ctx, p.exe, o.Idle, o.Timeout)
			if err != nil {
				return fmt.Errorf("%s run %d: %w", p.row.Name, i+1, err)
			}
			p.starts = append(p.starts, s.Startup)
			p.rss = append(p.rss, s.RSSKiB)
		}
	}
	for _, p := range plan {
		if p.sameAs != nil {
			continue
		}
		mn, mx := slices.Min(p.starts), slices.Max(p.starts)
		p.row.StartupMS, p.row.StartupMSMin, p.row.StartupMSMax = ms(median(p.starts)), ms(mn), ms(mx)
		p.row.IdleRSSKiB = median(p.rss)
		if o.Log != nil {
			fmt.Fprintf(o.Log, "sizes: %-16s %10d bytes  start %6.1f ms  rss %6d KiB\n", p.row.Name, p.row.Bytes,
				p.row.StartupMS, p.row.IdleRSSKiB)
		}
	}
	return nil
}

// ratios compares every row with the floor's (none without a floor row).
func ratios(rows []Row) []Ratio {
	i := slices.IndexFunc(rows, func(r Row) bool { return r.Kind == "floor" })
	if i < 0 {
		return nil
	}
	f := rows[i]
	var out []Ratio
	for _, r := range rows {
		if r.Kind == "floor" || r.SameAs != "" {
			continue
		}
		q := Ratio{Name: r.Name, Size: float64(r.Bytes) / float64(f.Bytes), Startup: r.StartupMS / f.StartupMS}
		if r.IdleRSSKiB > 0 && f.IdleRSSKiB > 0 {
			q.IdleRSS = float64(r.IdleRSSKiB) / float64(f.IdleRSSKiB)
		}
		out = append(out, q)
	}
	return out
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
	if len(r.VsFloor) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "vs floor\tsize\tstart\trss\t")
		for _, q := range r.VsFloor {
			fmt.Fprintf(tw, "%s\t%.3fx\t%.2fx\t%s\t\n", q.Name, q.Size, q.Startup, ratioText(q.IdleRSS))
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
	if len(r.VsFloor) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| build over the floor (a bare gin server with lean's libraries) | size | exec to first 200 (medians) | idle RSS (medians) |")
		fmt.Fprintln(w, "|---|---|---|---|")
		for _, q := range r.VsFloor {
			fmt.Fprintf(w, "| %s | %.3fx | %.2fx | %s |\n", q.Name, q.Size, q.Startup, ratioText(q.IdleRSS))
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

func ratioText(q float64) string {
	if q == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", q)
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
