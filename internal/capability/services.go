package capability

import "sync"

// Slot holds one implementation of a core-defined interface that a group
// provides and others consume. Groups never import each other; they meet
// here (for example llm provides an Embedder that vector uses).
type Slot[T any] struct {
	mu  sync.RWMutex
	v   T
	set bool
}

// Provide installs the implementation.
func (s *Slot[T]) Provide(v T) {
	s.mu.Lock()
	s.v, s.set = v, true
	s.mu.Unlock()
}

// Get returns the implementation and whether one was provided.
func (s *Slot[T]) Get() (T, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.v, s.set
}

// Services are the cross-group meeting points.
type Services struct{}
