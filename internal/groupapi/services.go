package groupapi

import (
	"fmt"
	"slices"
	"sync"
)

// Slot holds one implementation of a core-defined interface that one party
// provides and others consume. It is set once: a second Provide is a
// programming error and panics during start-up, where Setup runs, so two
// providers cannot silently replace each other.
//
// The typed methods only convert: the state and its lock live in slot,
// which is not generic. A generic method is compiled once per interface
// it is instantiated with (every interface is its own shape), eight times
// here, lean included, although lean provides four and reads two.
type Slot[T any] struct {
	// A Slot (and so Services) is not comparable: nothing compares them,
	// and a comparable struct gets a generated equality function.
	_ [0]func()
	s slot
}

// slot is the untyped state of a Slot.
type slot struct {
	_   [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	mu  sync.RWMutex
	v   any
	set bool
}

// Provide installs the implementation; it panics when one is installed already.
func (s *Slot[T]) Provide(v T) {
	s.s.mustProvide(v, s)
}

// Get returns the implementation and whether one was provided.
func (s *Slot[T]) Get() (T, bool) {
	v, ok := s.s.get()
	t, _ := v.(T) // a nil implementation provided: the zero T, and true
	return t, ok
}

// provide installs v unless an implementation is installed already.
func (s *slot) provide(v any) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set {
		return false
	}
	s.v, s.set = v, true
	return true
}

// mustProvide installs v or panics naming typed, the Slot it belongs to.
func (s *slot) mustProvide(v, typed any) {
	if !s.provide(v) {
		panic(fmt.Sprintf("groupapi: %T provided twice", typed))
	}
}

func (s *slot) get() (any, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.v, s.set
}

// Provider is the providing side of a slot.
type Provider[T any] interface{ Provide(T) }

// Source is the consuming side of a slot.
type Source[T any] interface{ Get() (T, bool) }

// Services are the meeting points of one service (one process, or one test).
// Core creates them with the service and keeps them whole; each group sees
// only the sides it declares when it registers (capability.GroupInfo.Uses),
// through its GroupServices.
type Services struct {
	// Latency is the latency engine's read view (provided by core, read by ml and optional).
	Latency Slot[LatencySource]
	// Embedder turns text into vectors (provided by llm, used by vector).
	Embedder Slot[Embedder]
	// Limiter replaces core's local token buckets (provided by vector when
	// REDIS_URL is set, so replicas share budgets).
	Limiter Slot[Limiter]
	// Cache is a shared response cache (provided by vector when REDIS_URL is
	// set, used by llm for deterministic answers and embeddings).
	Cache Slot[ResponseCache]
	// RateLimitOverrides applies per-route limits from a registry file
	// (provided by core rate limiting, used by optional).
	RateLimitOverrides Slot[RateLimitOverrides]
	// ClusterMember is this replica's side of cluster mode: its identity,
	// its exported latency window and its local reset (provided by core,
	// used by vector's publisher).
	ClusterMember Slot[ClusterMember]
	// Cluster is the replicas' shared latency store (provided by vector when
	// REDIS_URL is set; core answers scope=cluster through it).
	Cluster Slot[ClusterLatency]
	// Switches is the power to switch other linked groups off and on at
	// run time (provided by core's runtime, read by optional's registry
	// file); only a group that declares it gets it.
	Switches Slot[GroupSwitches]
}

// Key names one of the Services and the interface it carries, so that a
// group declares what it uses (capability.GroupInfo.Uses) and then asks for
// exactly that side, typed (SourceOf, ProviderOf). The keys themselves are
// the registry's (capability.LatencyKey, ...).
type Key[T any] struct {
	name string
	slot func(*Services) *Slot[T]
}

// NewKey names a service and the slot of Services it lives in.
func NewKey[T any](name string, slot func(*Services) *Slot[T]) Key[T] {
	return Key[T]{name: name, slot: slot}
}

// AnyKey is a Key of any type, for declarations.
type AnyKey interface {
	Name() string
}

// Name is the service's name in declarations and errors.
func (k Key[T]) Name() string { return k.name }

// GroupServices is one group's view of the Services: it hands out only the
// sides the group declared. Asking for another is an error from Setup, so
// a wrong declaration shows at start-up (the group is reported failed, and
// the group's own tests fail), never as a nil at request time.
type GroupServices struct {
	group           string
	reads, provides []AnyKey
	all             *Services
}

// For returns the view of group, which declared that it reads and
// provides the services keyed so. On a nil s (a test that wires no
// services) the group gets services of its own: what it declared works,
// and nothing is provided to it.
func (s *Services) For(group string, reads, provides []AnyKey) *GroupServices {
	if s == nil {
		s = &Services{}
	}
	return &GroupServices{group: group, reads: slices.Clone(reads), provides: slices.Clone(provides), all: s}
}

// SameKey reports whether a declared key is k (keys hold funcs, which Go
// cannot compare, so by name).
func SameKey(k AnyKey) func(AnyKey) bool {
	return func(o AnyKey) bool { return o != nil && k != nil && o.Name() == k.Name() }
}

// SourceOf returns the reading side of a service the group declared it
// reads. It reports (zero, false) until the service is provided.
func SourceOf[T any](gs *GroupServices, k Key[T]) (Source[T], error) {
	if gs == nil || !slices.ContainsFunc(gs.reads, SameKey(k)) {
		return nil, gs.undeclared("reads", "Reads", k)
	}
	return source[T]{k.slot(gs.all)}, nil
}

// ProviderOf returns the providing side of a service the group declared it
// provides. Providing twice panics, as Slot.Provide does.
func ProviderOf[T any](gs *GroupServices, k Key[T]) (Provider[T], error) {
	if gs == nil || !slices.ContainsFunc(gs.provides, SameKey(k)) {
		return nil, gs.undeclared("provides", "Provides", k)
	}
	return provider[T]{gs.group, k.name, k.slot(gs.all)}, nil
}

func (gs *GroupServices) undeclared(verb, field string, k AnyKey) error {
	group := "(no services)"
	if gs != nil {
		group = gs.group
	}
	return fmt.Errorf("capability: group %s %s service %s without declaring it in GroupInfo.Uses.%s", group, verb, k.Name(), field)
}

// source and provider wrap a slot so that neither side can be asserted
// back to the other.
type source[T any] struct{ s *Slot[T] }

func (s source[T]) Get() (T, bool) { return s.s.Get() }

type provider[T any] struct {
	group, name string
	s           *Slot[T]
}

func (p provider[T]) Provide(v T) {
	if !p.s.s.provide(v) {
		panic(fmt.Sprintf("groupapi: group %s provides %s, which is provided already", p.group, p.name))
	}
}
