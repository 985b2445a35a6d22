package optional

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// targets are the shared services a registry file is applied to.
type targets struct {
	latency   groupapi.Source[groupapi.LatencySource]
	overrides groupapi.Source[groupapi.RateLimitOverrides]
}

// manager owns the active registry: it loads the file, applies it to the
// shared services, and keeps the previous configuration in force when a
// new file is rejected.
type manager struct {
	path     string
	services targets
	switches groupapi.GroupSwitches // nil: group switches are not applied
	logger   *slog.Logger
	phase    groupapi.Phase

	load sync.Mutex // serialises loads (HTTP reload and SIGHUP)

	mu       sync.RWMutex
	active   *Registry
	meta     loadMeta
	lastErr  *loadFailure
	applied  map[string]string // section -> how it was applied
	offByReg map[string]bool   // groups this registry switched off
	reloads  int
	rejects  int
}

type loadMeta struct {
	Format   Format    `json:"format"`
	SHA256   string    `json:"sha256"`
	Bytes    int       `json:"bytes"`
	LoadedAt time.Time `json:"loaded_at"`
	Trigger  string    `json:"trigger"`
}

type loadFailure struct {
	At      time.Time `json:"at"`
	Trigger string    `json:"trigger"`
	Line    int       `json:"line,omitempty"`
	Column  int       `json:"column,omitempty"`
	Field   string    `json:"field,omitempty"`
	Message string    `json:"message"`
}

func newManager(path string, svc targets, sw groupapi.GroupSwitches, logger *slog.Logger, pl groupapi.Phase) *manager {
	return &manager{path: path, services: svc, switches: sw, logger: logger, phase: pl, offByReg: map[string]bool{}}
}

// errNoFile is returned when no REGISTRY_FILE is configured.
var errNoFile = errors.New("REGISTRY_FILE is not set: there is no registry file to load")

// Load reads, validates and applies the file. On any error nothing changes
// and the previous configuration stays in force.
func (m *manager) Load(ctx context.Context, trigger string) error {
	if m.path == "" {
		return errNoFile
	}
	m.load.Lock()
	defer m.load.Unlock()
	reg, meta, err := m.read(ctx)
	if err != nil {
		m.reject(trigger, err)
		return err
	}
	meta.Trigger = trigger
	m.apply(reg, meta)
	return nil
}

func (m *manager) read(ctx context.Context) (*Registry, loadMeta, error) {
	if err := ctx.Err(); err != nil {
		return nil, loadMeta{}, err
	}
	f, err := os.Open(m.path)
	if err != nil {
		return nil, loadMeta{}, fmt.Errorf("read registry file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRegistryBytes+1))
	if err != nil {
		return nil, loadMeta{}, fmt.Errorf("read registry file %s: %w", m.path, err)
	}
	reg, format, err := Parse(m.path, data)
	if err != nil {
		return nil, loadMeta{}, err
	}
	sum := sha256.Sum256(data)
	return reg, loadMeta{Format: format, SHA256: hex.EncodeToString(sum[:]), Bytes: len(data), LoadedAt: time.Now().UTC()}, nil
}

func (m *manager) reject(trigger string, err error) {
	lf := &loadFailure{At: time.Now().UTC(), Trigger: trigger, Message: err.Error()}
	var pe *ParseError
	if errors.As(err, &pe) {
		lf.Line, lf.Column, lf.Field = pe.Line, pe.Column, pe.Field
	}
	m.mu.Lock()
	m.lastErr = lf
	m.rejects++
	kept := m.active != nil
	m.mu.Unlock()
	what := "no registry configuration in force"
	if kept {
		what = "the previous configuration stays in force"
	}
	m.phase.Error("registry", fmt.Sprintf("REGISTRY: %s rejected (%s): %v; %s", m.path, trigger, err, what))
}

// apply hands each section to its service. It cannot fail: what has no
// service in this build is recorded as not applied.
func (m *manager) apply(reg *Registry, meta loadMeta) {
	applied := map[string]string{}

	if src, ok := m.services.latency.Get(); ok && src != nil {
		targets := make(map[string]float64, len(reg.SLO))
		for route, t := range reg.SLO {
			targets[route] = t.P95Ms
		}
		if len(targets) == 0 {
			targets = nil
		}
		src.SetSLOTargets(targets)
		applied["slo"] = fmt.Sprintf("%d targets set on the latency engine", len(reg.SLO))
	} else {
		applied["slo"] = "not applied: no latency source in this process"
	}

	if rl, ok := m.services.overrides.Get(); ok && rl != nil {
		ov := make(map[string]groupapi.RateOverride, len(reg.RateLimits))
		for route, o := range reg.RateLimits {
			ov[route] = o
		}
		if len(ov) == 0 {
			ov = nil
		}
		rl.SetOverrides(ov)
		applied["rate_limits"] = fmt.Sprintf("%d overrides set on the rate limiter", len(reg.RateLimits))
	} else {
		applied["rate_limits"] = "not applied: no rate-limit overrides service in this process"
	}

	m.mu.Lock()
	prevOff := m.offByReg
	m.mu.Unlock()
	off := map[string]bool{}
	var notes []string
	if rt := m.switches; rt != nil {
		for _, name := range sortedKeys(reg.Groups) {
			sw := reg.Groups[name]
			if !rt.Linked(name) {
				notes = append(notes, fmt.Sprintf("%s ignored: not linked into the %s variant", name, rt.Variant()))
				continue
			}
			if sw.Enabled {
				continue
			}
			reason := "switched off by registry file " + m.path
			if sw.Reason != "" {
				reason += ": " + sw.Reason
			}
			if err := rt.SetDisabled(name, true, reason); err != nil { // linked: cannot fail
				notes = append(notes, fmt.Sprintf("%s: %v", name, err))
				continue
			}
			off[name] = true
		}
		for name := range prevOff {
			if !off[name] {
				if err := rt.SetDisabled(name, false, ""); err != nil {
					notes = append(notes, fmt.Sprintf("%s: %v", name, err))
				}
			}
		}
		applied["groups"] = fmt.Sprintf("%d switched off", len(off))
		for _, n := range notes {
			applied["groups"] += "; " + n
		}
	} else {
		applied["groups"] = "not applied: no group runtime in this process"
	}

	m.mu.Lock()
	m.active, m.meta, m.applied, m.offByReg = reg, meta, applied, off
	m.reloads++
	m.mu.Unlock()
	m.phase.Info("registry", fmt.Sprintf("REGISTRY: %s loaded (%s, %s): %d SLO targets, %d group switches, %d rate-limit overrides",
		m.path, meta.Trigger, meta.Format, len(reg.SLO), len(reg.Groups), len(reg.RateLimits)))
}

// View is what GET /admin/registry shows.
type View struct {
	File      string            `json:"file"`
	Active    *Registry         `json:"active"`
	Loaded    *loadMeta         `json:"loaded"`
	Applied   map[string]string `json:"applied"`
	LastError *loadFailure      `json:"last_error"`
	Loads     int               `json:"loads"`
	Rejected  int               `json:"rejected"`
}

func (m *manager) View() View {
	m.mu.RLock()
	defer m.mu.RUnlock()
	v := View{File: m.path, Active: m.active.Clone(), Applied: map[string]string{}, LastError: m.lastErr, Loads: m.reloads, Rejected: m.rejects}
	if m.active != nil {
		meta := m.meta
		v.Loaded = &meta
	}
	for k, s := range m.applied {
		v.Applied[k] = s
	}
	return v
}

// healthy reports whether the configured file is in force.
func (m *manager) healthy() (bool, string) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	switch {
	case m.path == "":
		return true, "no REGISTRY_FILE"
	case m.active == nil && m.lastErr != nil:
		return false, "REGISTRY_FILE rejected, no configuration in force: " + m.lastErr.Message
	case m.active == nil:
		return false, "REGISTRY_FILE not loaded yet"
	case m.lastErr != nil && m.lastErr.At.After(m.meta.LoadedAt):
		return true, "REGISTRY_FILE in force from " + m.meta.LoadedAt.Format(time.RFC3339) + "; the last reload was rejected: " + m.lastErr.Message
	}
	return true, "REGISTRY_FILE in force (" + string(m.meta.Format) + ")"
}
