//go:build ignore

// gzip_dashboard writes executive_dashboard.html.gz from
// executive_dashboard.html (run by `make generate` and go generate, from
// the repository root or from web/).
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := "."
	if _, err := os.Stat("executive_dashboard.html"); err != nil {
		dir = "web"
	}
	src := filepath.Join(dir, "executive_dashboard.html")
	html, err := os.ReadFile(src)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gzip_dashboard:", err)
		os.Exit(1)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	// no name and no time in the header: the output depends on the page only
	if _, err := zw.Write(html); err != nil {
		fmt.Fprintln(os.Stderr, "gzip_dashboard:", err)
		os.Exit(1)
	}
	if err := zw.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "gzip_dashboard:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(src+".gz", buf.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gzip_dashboard:", err)
		os.Exit(1)
	}
}
