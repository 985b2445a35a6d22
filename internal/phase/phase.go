// Package phase records start-up and runtime phase events in a fixed-size
// ring, so /startup/heartbeat can show the recent history without the log
// growing with uptime.
package phase

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"
)

// Capacity is the number of events the ring keeps.
const Capacity = 200

// Names of the service phases.
const (
	Early   = "early"
	Runtime = "runtime"
)

// processStart approximates the exec time: package variables initialise
// before main runs.
var processStart = time.Now()

// ProcessStart returns the time the process started (as seen by this package).
func ProcessStart() time.Time { return processStart }

// Event is one phase event.
type Event struct {
	_      [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	Seq    uint64    `json:"seq"`
	TimeMS float64   `json:"t_ms"` // milliseconds since process start
	At     time.Time `json:"at"`
	Level  string    `json:"level"` // info, warn, error
	Kind   string    `json:"kind"`  // init, mode, group, server, ...
	Msg    string    `json:"msg"`
}

// Log is the ring of phase events and the current phase.
type Log struct {
	mu     sync.Mutex
	start  time.Time
	now    func() time.Time
	ring   [Capacity]Event
	next   uint64 // sequence number of the next event
	phase  string
	logger *slog.Logger
	counts map[string]uint64 // events by kind since start
	hooks  []func(Event)
}

// New returns an empty log in the early phase. Events are also written to
// logger when it is not nil.
func New(logger *slog.Logger) *Log {
	return &Log{start: processStart, now: time.Now, phase: Early, logger: logger, counts: map[string]uint64{}}
}

// OnEvent registers a function called (outside the lock) for every new event;
// metrics exporters use it.
func (l *Log) OnEvent(f func(Event)) {
	l.mu.Lock()
	l.hooks = append(l.hooks, f)
	l.mu.Unlock()
}

// Info records an informational event.
func (l *Log) Info(kind, msg string) { l.record("info", kind, msg) }

// Warn records a warning event.
func (l *Log) Warn(kind, msg string) { l.record("warn", kind, msg) }

// Error records an error event.
func (l *Log) Error(kind, msg string) { l.record("error", kind, msg) }

func (l *Log) record(level, kind, msg string) {
	now := l.now()
	l.mu.Lock()
	ev := Event{
		Seq:    l.next,
		TimeMS: float64(now.Sub(l.start).Microseconds()) / 1000,
		At:     now.UTC(),
		Level:  level,
		Kind:   kind,
		Msg:    msg,
	}
	l.ring[l.next%Capacity] = ev
	l.next++
	l.counts[kind]++
	hooks := l.hooks
	l.mu.Unlock()
	if l.logger != nil {
		lv := slog.LevelInfo
		switch level {
		case "warn":
			lv = slog.LevelWarn
		case "error":
			lv = slog.LevelError
		}
		l.logger.Log(context.Background(), lv, msg, "phase_kind", kind, "t_ms", ev.TimeMS)
	}
	for _, h := range hooks {
		h(ev)
	}
}

// Last returns up to n most recent events, oldest first.
func (l *Log) Last(n int) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	held := min(l.next, Capacity)
	if n < 0 {
		n = 0
	}
	if uint64(n) > held {
		n = int(held)
	}
	out := make([]Event, 0, n)
	for seq := l.next - uint64(n); seq < l.next; seq++ {
		out = append(out, l.ring[seq%Capacity])
	}
	return out
}

// Total returns how many events were recorded since start (including those
// that have left the ring).
func (l *Log) Total() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// Counts returns the number of events per kind since start.
func (l *Log) Counts() map[string]uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[string]uint64, len(l.counts))
	maps.Copy(m, l.counts)
	return m
}

// Phase returns the current phase name.
func (l *Log) Phase() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.phase
}

// SetPhase switches the phase and records the switch.
func (l *Log) SetPhase(p string) {
	l.mu.Lock()
	l.phase = p
	l.mu.Unlock()
	l.Info("phase", "PHASE: "+p)
}

// Uptime returns the time since process start.
func (l *Log) Uptime() time.Duration { return l.now().Sub(l.start) }
