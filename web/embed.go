// Package web embeds the executive dashboard, so the binary serves it
// offline with no external assets.
//
// The page is embedded gzip-compressed (executive_dashboard.html.gz, made
// from executive_dashboard.html by `make generate`; a test keeps the two in
// agreement): 7 KB instead of 22 KB in every binary. It is inflated on the
// first request for it, not at start-up, and kept.
package web

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"sync"
)

//go:generate go run gzip_dashboard.go

//go:embed executive_dashboard.html.gz
var dashboardGz []byte

var (
	dashboardOnce sync.Once
	dashboard     []byte
)

// Dashboard returns executive_dashboard.html. The caller must not modify
// the slice.
func Dashboard() []byte {
	dashboardOnce.Do(func() {
		var err error
		dashboard, err = inflate(dashboardGz)
		if err != nil {
			// the embedded bytes are checked by TestDashboardGzip; this is
			// a build from a tree that fails it
			panic("web: executive_dashboard.html.gz: " + err.Error())
		}
	})
	return dashboard
}

func inflate(gz []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
