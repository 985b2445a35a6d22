// Package optional is the optional group (build tag optional): a YAML or
// JSON registry file (SLO targets, group switches, rate-limit overrides)
// reloaded on SIGHUP and POST /admin/registry/reload, and content-based file
// type detection with mimetype.
//
//	GET  /admin/registry            the active registry, how it was applied, the last rejection (admin)
//	POST /admin/registry/reload     reload REGISTRY_FILE (admin)
//	POST /api/v2/files/inspect      multipart files -> filename, size, sha256, mime, extension, extension_matches
package optional

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/gabriel-vasile/mimetype"
	"github.com/goccy/go-yaml"

	"github.com/advanced-backend/advanced-backend/features/groupdesc"
	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

// sniffLimit is how many leading bytes mimetype reads; the default 3 KiB
// cannot tell office formats from plain zip.
const sniffLimit = 64 << 10

func init() {
	capability.Register(capability.GroupInfo{Name: groupdesc.Optional.Name, New: func(v config.Values) groupapi.Feature { return newFeature(v) }, Settings: Settings(),
		Uses: capability.Uses{Reads: []groupapi.AnyKey{capability.LatencyKey, capability.RateLimitOverridesKey, capability.SwitchesKey}}})
}

// Settings are the optional group's settings (prefixes REGISTRY_, FILES_ in
// its description), as registered and documented.
func Settings() []config.Setting { return settings(&settingValues{}) }

// settingValues are the optional group's settings, filled by config.
type settingValues struct {
	registryFile    string
	maxFileBytes    int64
	maxRequestBytes int64
	maxFiles        int
}

// settings declares each setting once, bound to the field of c it fills.
func settings(c *settingValues) []config.Setting {
	return []config.Setting{
		config.Bind(&c.registryFile, config.String("REGISTRY_FILE", "", "optional: YAML or JSON registry file (SLO targets, group switches, rate-limit overrides); reloaded on SIGHUP and POST /admin/registry/reload")),
		config.Bind(&c.maxFileBytes, config.Int64("FILES_MAX_FILE_BYTES", 10<<20, 1, 1<<40, "optional: bound on one file sent to /api/v2/files/inspect (413 beyond)")),
		config.Bind(&c.maxRequestBytes, config.Int64("FILES_MAX_REQUEST_BYTES", 32<<20, 1, 1<<40, "optional: bound on one /api/v2/files/inspect request, all files together (413 beyond)")),
		config.Bind(&c.maxFiles, config.Int("FILES_MAX_FILES", 32, 1, 10_000, "optional: bound on the number of files in one /api/v2/files/inspect request (413 beyond)")),
	}
}

// newFeature builds an instance with its settings bound.
func newFeature(v config.Values) *feature {
	f := &feature{}
	v.Into(settings(&f.cfg))
	return f
}

type feature struct {
	cfg   settingValues
	reg   *manager
	files fileLimits

	// notify subscribes a channel to reload signals (signal.Notify for
	// SIGHUP); stopNotify unsubscribes it. Tests may replace them.
	notify     func(chan<- os.Signal)
	stopNotify func(chan<- os.Signal)

	mu      sync.Mutex
	started bool
	ready   bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// Setup mounts the routes and raises the body limit of the upload route; it
// does no I/O (the registry file is read in Start).
func (f *feature) Setup(h *groupapi.Host) error {
	mimetype.SetLimit(sniffLimit)
	cfg := f.cfg
	lat, err := groupapi.SourceOf(h.Services, capability.LatencyKey)
	if err != nil {
		return err
	}
	ov, err := groupapi.SourceOf(h.Services, capability.RateLimitOverridesKey)
	if err != nil {
		return err
	}
	switches, err := groupapi.SourceOf(h.Services, capability.SwitchesKey)
	if err != nil {
		return err
	}
	sw, _ := switches.Get() // core provides it before any Setup; none: switches are not applied
	f.reg = newManager(cfg.registryFile, targets{lat, ov}, sw, h.Logger, h.Phase)
	f.files = fileLimits{maxFile: cfg.maxFileBytes, maxFiles: cfg.maxFiles}
	if f.notify == nil {
		f.notify = func(c chan<- os.Signal) { signal.Notify(c, syscall.SIGHUP) }
		f.stopNotify = func(c chan<- os.Signal) { signal.Stop(c) }
	}

	h.Routes.Handle(http.MethodPost, "/api/v2/files/inspect", http.HandlerFunc(f.inspect), groupapi.MaxBodyBytes(cfg.maxRequestBytes))
	h.Routes.Handle(http.MethodGet, "/admin/registry", http.HandlerFunc(f.show), groupapi.AdminOnly)
	h.Routes.Handle(http.MethodPost, "/admin/registry/reload", http.HandlerFunc(f.reload), groupapi.AdminOnly)
	return nil
}

// Start checks the YAML parser, loads REGISTRY_FILE and starts the SIGHUP
// watcher. A rejected file does not fail the group: the watcher runs so that
// a fixed file can be loaded by SIGHUP or reload, and Status says what is
// wrong.
func (f *feature) Start(ctx context.Context) error {
	var probe map[string]int
	if err := yaml.Unmarshal([]byte("ok: 1\n"), &probe); err != nil || probe["ok"] != 1 {
		return fmt.Errorf("yaml self-check failed: %v", err)
	}
	// Subscribe before the first load: a SIGHUP sent once that load is
	// visible (an operator who fixed the file, a test) must not fall into
	// the window before the watcher exists, where it would be ignored.
	sig := make(chan os.Signal, 1)
	f.notify(sig)
	if f.reg.path != "" {
		_ = f.reg.Load(ctx, "start") // a rejection is recorded and reported by Status
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started {
		f.stopNotify(sig)
		return errors.New("optional group started twice")
	}
	wctx, cancel := context.WithCancel(context.Background()) // outlives Start's deadline; ended by Stop
	f.cancel, f.done, f.started, f.ready = cancel, make(chan struct{}), true, true
	go f.watch(wctx, sig, f.done)
	return nil
}

// watch reloads on every signal until ctx ends.
func (f *feature) watch(ctx context.Context, sig chan os.Signal, done chan struct{}) {
	defer close(done)
	defer f.stopNotify(sig)
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-sig:
			if f.reg.path == "" {
				f.reg.phase.Warn("registry", fmt.Sprintf("REGISTRY: %v received but REGISTRY_FILE is not set", s))
				continue
			}
			_ = f.reg.Load(ctx, s.String()) // outcome recorded in the phase log and the view
		}
	}
}

// Stop ends the signal watcher and waits for it.
func (f *feature) Stop(ctx context.Context) error {
	f.mu.Lock()
	cancel, done := f.cancel, f.done
	f.started, f.cancel, f.ready = false, nil, false
	f.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("registry watcher did not stop: %w", ctx.Err())
	}
}

func (f *feature) Status() groupapi.Status {
	f.mu.Lock()
	ready := f.ready
	f.mu.Unlock()
	if !ready {
		return groupapi.Status{Ready: false, Detail: "not started"}
	}
	ok, detail := f.reg.healthy()
	return groupapi.Status{Ready: ok, Detail: fmt.Sprintf("mimetype (sniff %d KiB), goccy/go-yaml; %s", sniffLimit>>10, detail)}
}

// show serves GET /admin/registry.
func (f *feature) show(w http.ResponseWriter, r *http.Request) {
	apierr.WriteJSON(w, r, http.StatusOK, f.reg.View())
}

// reload serves POST /admin/registry/reload: 200 with the new view, 400 when
// the file is rejected (the previous configuration stays in force).
func (f *feature) reload(w http.ResponseWriter, r *http.Request) {
	err := f.reg.Load(r.Context(), "POST /admin/registry/reload")
	var pe *ParseError
	switch {
	case err == nil:
		apierr.WriteJSON(w, r, http.StatusOK, f.reg.View())
	case errors.Is(err, errNoFile):
		apierr.Error(w, r, http.StatusBadRequest, "no_registry_file", err.Error())
	case errors.As(err, &pe):
		apierr.Error(w, r, http.StatusBadRequest, "registry_invalid", err.Error()+"; the previous configuration stays in force")
	default:
		apierr.Error(w, r, http.StatusBadRequest, "registry_unreadable", err.Error()+"; the previous configuration stays in force")
	}
}
