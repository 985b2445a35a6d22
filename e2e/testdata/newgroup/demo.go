// Package demo is a throwaway group for e2e/newgroup_test.go: it is laid
// over the tree at features/demo with `go build -overlay`, together with
// its description (features/groupdesc/demo.go) and one link file, to prove
// that adding a group needs nothing else.
package demo

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/advanced-backend/advanced-backend/features/groupdesc"
	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/capability"
	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
)

func init() {
	capability.Register(capability.GroupInfo{Name: groupdesc.Demo.Name, New: newFeature,
		Settings: settings(&feature{}), Uses: capability.Uses{Reads: []groupapi.AnyKey{capability.LatencyKey}}})
}

// settings declares each setting once, bound to the field of f it fills.
func settings(f *feature) []config.Setting {
	return []config.Setting{
		config.Bind(&f.greeting, config.String("DEMO_GREETING", "hello", "demo: what GET /api/v2/demo/hello answers")),
		config.Bind(&f.repeat, config.Int("DEMO_REPEAT", 1, 1, 5, "demo: how often the greeting is repeated")),
	}
}

// newFeature builds an instance with its settings bound.
func newFeature(v config.Values) groupapi.Feature {
	f := &feature{}
	v.Into(settings(f))
	return f
}

type feature struct {
	greeting string
	repeat   int
	latency  groupapi.Source[groupapi.LatencySource]
	started  atomic.Bool
}

func (f *feature) Setup(h *groupapi.Host) error {
	lat, err := groupapi.SourceOf(h.Services, capability.LatencyKey)
	if err != nil {
		return err
	}
	f.latency = lat
	h.Routes.Handle(http.MethodGet, "/api/v2/demo/hello", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, reads := f.latency.Get()
		apierr.WriteJSON(w, r, http.StatusOK, map[string]any{"greeting": f.greeting, "repeat": f.repeat, "reads_latency": reads})
	}))
	return nil
}

func (f *feature) Start(context.Context) error { f.started.Store(true); return nil }
func (f *feature) Stop(context.Context) error  { return nil }
func (f *feature) Status() groupapi.Status {
	return groupapi.Status{Ready: f.started.Load(), Detail: "demo says " + f.greeting}
}
