package web

import (
	"bytes"
	"os"
	"testing"
)

// TestDashboardGzip: the embedded page is executive_dashboard.html as it
// is in the tree (regenerate with `make generate` after editing the page).
func TestDashboardGzip(t *testing.T) {
	want, err := os.ReadFile("executive_dashboard.html")
	if err != nil {
		t.Fatal(err)
	}
	if got := Dashboard(); !bytes.Equal(got, want) {
		t.Fatalf("executive_dashboard.html.gz holds %d bytes that differ from executive_dashboard.html (%d bytes): run make generate", len(got), len(want))
	}
	if len(dashboardGz) >= len(want) {
		t.Errorf("the gzip is %d bytes, the page %d", len(dashboardGz), len(want))
	}
}
