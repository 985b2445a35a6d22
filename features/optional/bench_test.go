package optional

import (
	"bytes"
	"net/http/httptest"
	"testing"
)

// BenchmarkInspect measures one 8 MiB upload through the handler (in
// process, no network): throughput and bytes allocated per request.
func BenchmarkInspect(b *testing.B) {
	r := newRig(b, map[string]string{"FILES_MAX_FILE_BYTES": "16777216", "FILES_MAX_REQUEST_BYTES": "16777216"}, true)
	body, ct := multipartBody(b, upload{"file", "big.bin", randomBytes(8 << 20)})
	raw := body.Bytes()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/api/v2/files/inspect", bytes.NewReader(raw))
		req.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		r.handler.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code, rec.Body)
		}
	}
}

// BenchmarkParse measures parsing the sample YAML registry.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse("r.yaml", []byte(goodYAML)); err != nil {
			b.Fatal(err)
		}
	}
}
