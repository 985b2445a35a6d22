package qdrantstore

// These tests talk gRPC over loopback to qdrantfake, an in-process server
// built on the go-client module's generated server interfaces (see its
// package comment for what it does not model); no real Qdrant runs here.

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/advanced-backend/advanced-backend/features/vector/store"
	"github.com/advanced-backend/advanced-backend/features/vector/store/qdrantstore/qdrantfake"
)

var ctx = context.Background()

func open(t *testing.T, addr, key string, timeout time.Duration) *Store {
	t.Helper()
	s, err := New(Options{URL: addr, APIKey: key, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRoundTrip(t *testing.T) {
	fake := qdrantfake.Start(t, "secret")
	s := open(t, "http://"+fake.Addr, "secret", 5*time.Second)
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Create(ctx, "docs", 3, store.Cosine); !c || err != nil {
		t.Fatalf("create: %v %v", c, err)
	}
	if c, err := s.Create(ctx, "docs", 3, store.Cosine); c || err != nil {
		t.Fatalf("identical re-create: %v %v", c, err)
	}
	if _, err := s.Create(ctx, "docs", 4, store.Cosine); !errors.Is(err, store.ErrCollectionConflict) {
		t.Fatalf("conflict: %v", err)
	}
	uuid := "6e8bc430-9c3a-11d9-9669-0800200c9a66"
	err := s.Upsert(ctx, "docs", []store.Point{
		{ID: store.ID{Num: 1}, Vector: []float32{1, 0, 0}, Payload: map[string]any{"lang": "go", "n": float64(3), "nested": map[string]any{"a": []any{"x", 1.5}}}},
		{ID: store.ID{UUID: uuid}, Vector: []float32{0, 1, 0}, Payload: map[string]any{"lang": "py", "ok": true}},
		{ID: store.ID{Num: 18446744073709551615}, Vector: []float32{0.9, 0.1, 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, "docs")
	if err != nil || info.Size != 3 || info.Distance != store.Cosine || info.Points != 3 {
		t.Fatalf("info %+v %v", info, err)
	}
	hits, err := s.Search(ctx, "docs", []float32{1, 0.05, 0}, 2, nil)
	if err != nil || len(hits) != 2 || hits[0].ID.Num != 1 || hits[1].ID.Num != 18446744073709551615 {
		t.Fatalf("search %+v %v", hits, err)
	}
	if hits[0].Payload["lang"] != "go" || hits[0].Payload["n"] != int64(3) {
		t.Fatalf("payload %v", hits[0].Payload)
	}
	for want, f := range map[string]store.Filter{
		uuid: {"ok": true},
		"1":  {"n": float64(3)}, // integral JSON numbers are stored as integers, so integer matches find them
	} {
		hits, err := s.Search(ctx, "docs", []float32{0, 1, 0}, 5, f)
		if err != nil || len(hits) != 1 || hits[0].ID.String() != want {
			t.Fatalf("filter %v: %+v %v", f, hits, err)
		}
	}
	p, err := s.Get(ctx, "docs", store.ID{UUID: uuid})
	if err != nil || p.ID.UUID != uuid || len(p.Vector) != 3 || p.Vector[1] != 1 || p.Payload["lang"] != "py" {
		t.Fatalf("get %+v %v", p, err)
	}
	if _, err := s.Get(ctx, "docs", store.ID{Num: 99}); !errors.Is(err, store.ErrPointNotFound) {
		t.Fatalf("missing point: %v", err)
	}
	if _, err := s.Search(ctx, "docs", []float32{1, 0}, 1, nil); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("dimension mismatch: %v", err)
	}
	for name, err := range map[string]error{
		"search": func() error { _, err := s.Search(ctx, "nope", []float32{1}, 1, nil); return err }(),
		"upsert": s.Upsert(ctx, "nope", []store.Point{{ID: store.ID{Num: 1}, Vector: []float32{1}}}),
		"get":    func() error { _, err := s.Get(ctx, "nope", store.ID{Num: 1}); return err }(),
		"info":   func() error { _, err := s.Info(ctx, "nope"); return err }(),
		"delete": s.Delete(ctx, "nope"),
	} {
		if !errors.Is(err, store.ErrCollectionNotFound) {
			t.Errorf("%s on unknown collection: %v", name, err)
		}
	}
	if err := s.Delete(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Info(ctx, "docs"); !errors.Is(err, store.ErrCollectionNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestDistancesMatchTheEmbeddedIndex(t *testing.T) {
	fake := qdrantfake.Start(t, "")
	s := open(t, fake.Addr, "", 5*time.Second)
	for d, want := range map[store.Distance]uint64{store.Cosine: 1, store.Dot: 4, store.Euclid: 1} {
		name := "c" + string(d)
		if _, err := s.Create(ctx, name, 2, d); err != nil {
			t.Fatal(err)
		}
		if info, _ := s.Info(ctx, name); info.Distance != d {
			t.Fatalf("distance round trip: %v", info)
		}
		s.Upsert(ctx, name, []store.Point{
			{ID: store.ID{Num: 1}, Vector: []float32{1, 0}}, {ID: store.ID{Num: 2}, Vector: []float32{0, 3}},
			{ID: store.ID{Num: 4}, Vector: []float32{4, 0}},
		})
		hits, err := s.Search(ctx, name, []float32{1, 0.1}, 1, nil)
		if err != nil || hits[0].ID.Num != want {
			t.Errorf("%s: %+v %v", d, hits, err)
		}
	}
}

func TestWrongAPIKeyAndDownServer(t *testing.T) {
	fake := qdrantfake.Start(t, "secret")
	s := open(t, fake.Addr, "wrong", 5*time.Second)
	if _, err := s.Info(ctx, "x"); err == nil || errors.Is(err, store.ErrCollectionNotFound) {
		t.Fatalf("wrong key: %v", err)
	}
	ok := open(t, fake.Addr, "secret", 5*time.Second)
	fake.SetDown(true)
	if err := ok.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("down: %v", err)
	}
	fake.SetDown(false)
	if err := ok.Ping(ctx); err != nil {
		t.Fatalf("back up: %v", err)
	}
}

// TestCallsAreBounded points the client at a port that accepts TCP but
// never speaks: every call must give up after the timeout.
func TestCallsAreBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s := open(t, ln.Addr().String(), "", 100*time.Millisecond)
	done := make(chan error, 1)
	go func() { _, err := s.Info(ctx, "x"); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("%v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("call not bounded by its timeout")
	}
}

func TestConfig(t *testing.T) {
	for url, want := range map[string]struct {
		host string
		port int
		tls  bool
	}{
		"localhost:6334":             {"localhost", 6334, false},
		"qdrant.internal":            {"qdrant.internal", 6334, false},
		"http://10.0.0.5:7000":       {"10.0.0.5", 7000, false},
		"https://q.example.com":      {"q.example.com", 6334, true},
		"grpcs://q.example.com:6335": {"q.example.com", 6335, true},
	} {
		c, err := Config(Options{URL: url})
		if err != nil || c.Host != want.host || c.Port != want.port || c.UseTLS != want.tls || !c.SkipCompatibilityCheck {
			t.Errorf("%s: %+v %v", url, c, err)
		}
	}
	c, err := Config(Options{URL: "q:6334", TLS: true})
	if err != nil || !c.UseTLS || c.TLSConfig.ServerName != "q" {
		t.Fatalf("forced TLS: %+v %v", c, err)
	}
	if _, err := Config(Options{URL: "https://q", CAFile: filepath.Join(t.TempDir(), "missing.pem")}); err == nil {
		t.Fatal("missing CA file accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	if _, err := Config(Options{URL: "https://q", CAFile: bad}); err == nil {
		t.Fatal("CA file without certificates accepted")
	}
	if _, err := Config(Options{URL: "http://q:notaport"}); err == nil {
		t.Fatal("bad port accepted")
	}
}

func TestBackendShowsURLWithoutCredentials(t *testing.T) {
	s, err := New(Options{URL: "http://user:hunter2@127.0.0.1:6334", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if b := s.Backend(); strings.Contains(b, "hunter2") || !strings.Contains(b, "127.0.0.1:6334") {
		t.Fatalf("backend %q", b)
	}
}
