// Package lifecycle is the run-time state of one service's groups: which
// are linked, enabled (MINIMAL_MODE, switched off at run time) and started;
// their start, each bounded, and their stop; and the capability report
// built from that state. The composition root (internal/service) builds
// one Runtime per service from fresh instances of the registered groups
// (capability.Instantiate); the router reads it to gate group routes and
// answer the report.
package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/capreport"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

// Runtime is the run-time state of the groups of one process: which are
// linked, enabled and started. It is safe for concurrent use.
type Runtime struct {
	features map[string]groupapi.Feature
	facts    capability.BuildFacts
	minimal  bool
	variant  string

	mu       sync.RWMutex
	disabled map[string]string // group -> why it was switched off at run time
	started  map[string]bool
	startErr map[string]error
	// abandoned holds, per group whose Start outlasted its bound, that
	// Start's eventual result.
	abandoned map[string]*startResult
}

// startResult is the outcome of one Start: err is set before done closes.
type startResult struct {
	_    [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	done chan struct{}
	err  error
}

// New wraps the linked features. With minimal set (MINIMAL_MODE)
// no group is enabled.
func New(features map[string]groupapi.Feature, facts capability.BuildFacts, minimal bool) *Runtime {
	return &Runtime{
		features: features,
		facts:    facts,
		minimal:  minimal,
		variant:  groupspec.VariantFor(linkedNames(features)),
		disabled: map[string]string{},
		started:  map[string]bool{},
		startErr: map[string]error{},

		abandoned: map[string]*startResult{},
	}
}

// Variant names the variant these groups make up ("custom" if none).
func (r *Runtime) Variant() string { return r.variant }

// Facts returns the build facts the runtime was made with.
func (r *Runtime) Facts() capability.BuildFacts { return r.facts }

// LinkedNames lists the linked groups in table order.
func (r *Runtime) LinkedNames() []string {
	return linkedNames(r.features)
}

// Feature returns the linked feature of a group.
func (r *Runtime) Feature(group string) (groupapi.Feature, bool) {
	f, ok := r.features[group]
	return f, ok
}

// Linked reports whether the group is linked.
func (r *Runtime) Linked(group string) bool {
	_, ok := r.features[group]
	return ok
}

// Enabled reports whether a linked group may serve: not MINIMAL_MODE and not
// switched off at run time.
func (r *Runtime) Enabled(group string) bool {
	if !r.Linked(group) || r.minimal {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, off := r.disabled[group]
	return !off
}

// DisabledReason says why a linked group is not enabled ("" when it is).
func (r *Runtime) DisabledReason(group string) string {
	if r.minimal {
		return "MINIMAL_MODE is on: group " + group + " is linked but not started"
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.disabled[group]
}

// SetDisabled switches a linked group off (or back on) at run time.
func (r *Runtime) SetDisabled(group string, off bool, reason string) error {
	if !r.Linked(group) {
		return fmt.Errorf("group %s is not linked into the %s variant", group, r.variant)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if off {
		r.disabled[group] = reason
	} else {
		delete(r.disabled, group)
	}
	return nil
}

// StartAll starts every enabled group in table order, each bounded by
// timeout whatever the group does, and reports each outcome to each. A
// failing group does not stop the others; when ctx ends, the groups not yet
// started are skipped and StartAll returns at once.
func (r *Runtime) StartAll(ctx context.Context, each func(group string, err error), timeout time.Duration) {
	for _, name := range r.LinkedNames() {
		if !r.Enabled(name) || ctx.Err() != nil {
			continue
		}
		r.mu.RLock()
		_, failed := r.startErr[name]
		r.mu.RUnlock()
		if failed { // setup already failed
			continue
		}
		err := r.startOne(ctx, name, timeout)
		r.mu.Lock()
		r.started[name] = true
		if err != nil {
			r.startErr[name] = err
		}
		r.mu.Unlock()
		each(name, err)
	}
}

// startOne runs one group's Start in its own goroutine and waits for it at
// most until timeout (or ctx) ends. A Start that ignores its context (a
// blocking open of a FIFO, a dial without a deadline) is abandoned there:
// the group is failed with the reason and start-up goes on. Its goroutine
// is left to return when it can (its context is cancelled); if it then
// succeeds, StopAll still stops the group.
func (r *Runtime) startOne(ctx context.Context, name string, timeout time.Duration) error {
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := &startResult{done: make(chan struct{})}
	f := r.features[name]
	go func() {
		res.err = f.Start(sctx)
		close(res.done)
	}()
	select {
	case <-res.done:
		return res.err
	case <-sctx.Done():
	}
	r.mu.Lock()
	r.abandoned[name] = res
	r.mu.Unlock()
	if ctx.Err() != nil {
		return fmt.Errorf("start abandoned: shutting down (%w)", ctx.Err())
	}
	return fmt.Errorf("start did not finish within %s (GROUP_START_TIMEOUT); abandoned, the group is not ready", timeout)
}

// MarkFailed records that a group could not be set up.
func (r *Runtime) MarkFailed(group string, err error) {
	r.mu.Lock()
	r.started[group] = true
	r.startErr[group] = err
	r.mu.Unlock()
}

// StopAll stops the started groups in reverse order, each bounded by ctx
// whatever it does. A group whose start was abandoned is stopped only if
// that start has since returned successfully.
func (r *Runtime) StopAll(ctx context.Context, each func(group string, err error)) {
	names := r.LinkedNames()
	slices.Reverse(names)
	for _, name := range names {
		r.mu.RLock()
		started, failed, late := r.started[name], r.startErr[name] != nil, r.abandoned[name]
		r.mu.RUnlock()
		if late != nil {
			select {
			case <-late.done:
				failed = late.err != nil
			default: // still inside Start: nothing to stop that it finished acquiring
			}
		}
		if !started || failed {
			continue
		}
		each(name, r.stopOne(ctx, name))
	}
}

// stopOne runs one group's Stop and waits for it at most until ctx ends.
func (r *Runtime) stopOne(ctx context.Context, name string) error {
	done := make(chan error, 1)
	f := r.features[name]
	go func() { done <- f.Stop(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("stop abandoned at the shutdown deadline (SHUTDOWN_TIMEOUT): %w", ctx.Err())
	}
}

// State returns the snapshot of one group.
func (r *Runtime) State(group string) capreport.GroupState {
	spec, _ := groupspec.LookupGroup(group)
	st := capreport.GroupState{
		Name:          spec.Name,
		Tag:           spec.Name,
		Description:   spec.Description,
		RoutePrefixes: spec.RoutePrefixes,
		Linked:        r.Linked(group),
		Modules:       r.facts.ModulesOf(spec),
	}
	if st.Modules == nil {
		st.Modules = []capreport.Module{}
	}
	if !st.Linked {
		st.Detail = fmt.Sprintf("not linked into the %s variant (build tag %s)", r.variant, spec.Name)
		st.Modules = []capreport.Module{}
		return st
	}
	st.Enabled = r.Enabled(group)
	if !st.Enabled {
		st.Detail = r.DisabledReason(group)
		return st
	}
	r.mu.RLock()
	started, err := r.started[group], r.startErr[group]
	r.mu.RUnlock()
	switch {
	case err != nil:
		st.Detail = "start failed: " + err.Error()
	case !started:
		st.Detail = "starting"
	default:
		s := r.features[group].Status()
		st.Ready, st.Degraded, st.Detail, st.Info = s.Ready, s.Degraded && !s.Ready, s.Detail, s.Info
	}
	return st
}

// States returns every declared group's snapshot, linked or not.
func (r *Runtime) States() map[string]capreport.GroupState {
	gs := groupspec.Groups()
	m := make(map[string]capreport.GroupState, len(gs))
	for _, g := range gs {
		m[g.Name] = r.State(g.Name)
	}
	return m
}

// linkedNames lists the groups of features in table order.
func linkedNames(features map[string]groupapi.Feature) []string {
	var names []string
	for _, g := range groupspec.Groups() {
		if _, ok := features[g.Name]; ok {
			names = append(names, g.Name)
		}
	}
	return names
}
