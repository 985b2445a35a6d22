package main

import "testing"

func TestProbeAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8000": "127.0.0.1:8000",
		"0.0.0.0:8000":   "127.0.0.1:8000",
		":8000":          "127.0.0.1:8000",
		"[::]:8000":      "[::1]:8000",
		"[::1]:9":        "[::1]:9",
		"svc.local:80":   "svc.local:80",
	} {
		if got, err := probeAddr(in); err != nil || got != want {
			t.Errorf("probeAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"127.0.0.1:0", "nonsense"} {
		if got, err := probeAddr(bad); err == nil {
			t.Errorf("probeAddr(%q) = %q, want an error", bad, got)
		}
	}
}
