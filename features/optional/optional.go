// Package optional is the optional group (build tag optional): YAML
// registry files and content-based file type detection. The registry file
// and the inspection route come with the ml/optional issue.
package optional

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/gabriel-vasile/mimetype"
	"github.com/goccy/go-yaml"

	"github.com/advanced-backend/advanced-backend/internal/capability"
)

// sniffLimit is how many leading bytes mimetype reads; the default 3 KiB
// cannot tell office formats from plain zip.
const sniffLimit = 64 << 10

func init() { capability.Register("optional", &feature{}) }

type feature struct{ ready atomic.Bool }

func (f *feature) Setup(h *capability.Host) error { return nil }

// Start configures the detector and checks the YAML parser on a tiny document.
func (f *feature) Start(ctx context.Context) error {
	mimetype.SetLimit(sniffLimit)
	var probe map[string]int
	if err := yaml.Unmarshal([]byte("ok: 1\n"), &probe); err != nil || probe["ok"] != 1 {
		return fmt.Errorf("yaml self-check failed: %v", err)
	}
	f.ready.Store(true)
	return nil
}

func (f *feature) Stop(ctx context.Context) error { return nil }

func (f *feature) Status() capability.Status {
	return capability.Status{Ready: f.ready.Load(), Detail: fmt.Sprintf("mimetype (sniff %d KiB) and goccy/go-yaml loaded; HTTP routes not built yet", sniffLimit>>10)}
}
