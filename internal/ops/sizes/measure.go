package sizes

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/ops/probe"
)

// Sample is one start of a binary.
type Sample struct {
	Startup time.Duration // exec to first 200 on /health
	RSSKiB  int64         // VmRSS after the idle wait; -1 where not measurable
}

// MeasureStart starts exe on a free loopback port, times exec to the first
// 200 on /health, waits idle, reads the resident set size, and stops it.
func MeasureStart(ctx context.Context, exe string, idle, timeout time.Duration) (Sample, error) {
	addr, err := freeAddr()
	if err != nil {
		return Sample{}, err
	}
	p, err := probe.Start(exe, addr, nil)
	if err != nil {
		return Sample{}, err
	}
	defer p.Stop(10 * time.Second)
	// Poll every millisecond: the start time is known to about 1 ms.
	d, err := p.WaitHealthyEvery(ctx, timeout, time.Millisecond)
	if err != nil {
		return Sample{}, fmt.Errorf("%s: %w\n%s", exe, err, p.Logs())
	}
	select {
	case <-ctx.Done():
		return Sample{}, ctx.Err()
	case <-time.After(idle):
	}
	rss, err := RSS(p.PID())
	if err != nil {
		return Sample{}, err
	}
	return Sample{Startup: d, RSSKiB: rss}, nil
}

// RSS reads VmRSS (KiB) of a process from /proc on Linux; elsewhere it
// returns -1 (not measured).
func RSS(pid int) (int64, error) {
	if runtime.GOOS != "linux" {
		return -1, nil
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) < 1 {
				break
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS %q: %w", line, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// median of durations or ints; the mean of the middle two for even counts.
func median[T ~int64](d []T) T {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
