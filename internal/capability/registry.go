package capability

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Feature is what a group package registers. The lifecycle is split so that
// start-up stays fast: Setup runs before the listener serves and must do no
// network I/O; Start runs after /health already answers.
type Feature interface {
	// Setup reads the group's configuration and mounts its routes on h.
	Setup(h *Host) error
	// Start constructs clients and starts background probes. Goroutines it
	// starts must end when Stop is called.
	Start(ctx context.Context) error
	// Stop releases what Start acquired.
	Stop(ctx context.Context) error
	// Status reports readiness as the group itself sees it.
	Status() Status
}

// Status is a group's own view of its readiness.
type Status struct {
	Ready  bool   `json:"ready"`
	Detail string `json:"detail"`
	// Info is the group's own facts for /ml-capabilities (a JSON value),
	// such as what its store holds; nil when it has none.
	Info any `json:"info,omitempty"`
}

// ErrFatal marks a group start error that the service cannot serve past
// (a data directory that cannot be read, or that another process holds):
// wrapped into Start's error, it stops the service, which exits with
// status 2, instead of leaving the group reported not ready.
var ErrFatal = errors.New("fatal start-up error")

var (
	regMu      sync.Mutex
	registered = map[string]Feature{}
)

// Register makes a group's feature available. It is called from the group
// package's init function; like database/sql.Register it panics on misuse,
// because a duplicate or unknown group is a programming error found at
// process start, not a runtime condition.
func Register(group string, f Feature) {
	if err := register(group, f); err != nil {
		panic(err)
	}
}

func register(group string, f Feature) error {
	regMu.Lock()
	defer regMu.Unlock()
	if f == nil {
		return fmt.Errorf("capability: Register %q: nil feature", group)
	}
	if _, ok := LookupGroup(group); !ok {
		return fmt.Errorf("capability: Register %q: unknown group (declared: %v)", group, GroupNames())
	}
	if _, dup := registered[group]; dup {
		return fmt.Errorf("capability: Register %q: registered twice", group)
	}
	registered[group] = f
	return nil
}

// Linked returns the registered features by group name.
func Linked() map[string]Feature {
	regMu.Lock()
	defer regMu.Unlock()
	m := make(map[string]Feature, len(registered))
	for k, v := range registered {
		m[k] = v
	}
	return m
}

// LinkedNames lists the registered groups in table order.
func LinkedNames() []string {
	regMu.Lock()
	defer regMu.Unlock()
	var names []string
	for _, g := range groups {
		if _, ok := registered[g.Name]; ok {
			names = append(names, g.Name)
		}
	}
	return names
}

// IsLinked reports whether the group registered.
func IsLinked(group string) bool {
	return slices.Contains(LinkedNames(), group)
}
