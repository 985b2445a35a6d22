package optional

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/gabriel-vasile/mimetype"
)

// Sample files are generated here with the standard library, not checked in.

func pngFile(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pdfFile() []byte {
	return []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" +
		"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
}

func gzipFile(t testing.TB) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	io.WriteString(w, strings.Repeat("compressible text\n", 100))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type zipEntry struct {
	name   string
	data   []byte
	stored bool
}

func zipFile(t testing.TB, entries ...zipEntry) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, e := range entries {
		method := zip.Deflate
		if e.stored {
			method = zip.Store
		}
		f, err := w.CreateHeader(&zip.FileHeader{Name: e.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(e.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// officeFile builds a minimal OOXML package. A 16 KiB stored thumbnail sits
// before the main part, so the part that tells docx from xlsx lies beyond
// mimetype's default 3 KiB read limit: only the raised limit sees it.
func officeFile(t testing.TB, mainPart string) []byte {
	return zipFile(t,
		zipEntry{name: "[Content_Types].xml", data: []byte(`<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`)},
		zipEntry{name: "docProps/thumbnail.jpeg", data: randomBytes(16 << 10), stored: true},
		zipEntry{name: mainPart, data: []byte(`<?xml version="1.0"?><root/>`)},
	)
}

type upload struct {
	field, name string
	data        []byte
}

func multipartBody(t testing.TB, files ...upload) (*bytes.Buffer, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range files {
		p, err := w.CreateFormFile(f.field, f.name)
		if err != nil {
			t.Fatal(err)
		}
		p.Write(f.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &b, w.FormDataContentType()
}

func postFiles(t *testing.T, base string, files ...upload) (int, map[string]any) {
	t.Helper()
	body, ct := multipartBody(t, files...)
	return do(t, "POST", base+"/api/v2/files/inspect", body, "Content-Type", ct)
}

func TestInspectSampleFiles(t *testing.T) {
	r := newRig(t, nil, true)
	pngData := pngFile(t)
	docx := officeFile(t, "word/document.xml")
	xlsx := officeFile(t, "xl/workbook.xml")
	if m := mimetype.Detect(docx[:3072]); m.String() != "application/zip" {
		t.Fatalf("the docx sample is told apart within 3 KiB (%s): it does not test the raised limit", m)
	}
	samples := []struct {
		up      upload
		mime    string
		matches bool
	}{
		{upload{"file", "pixel.png", pngData}, "image/png", true},
		{upload{"files", "doc.pdf", pdfFile()}, "application/pdf", true},
		{upload{"files", "bundle.zip", zipFile(t, zipEntry{name: "a.txt", data: []byte("hello")})}, "application/zip", true},
		{upload{"files", "logs.gz", gzipFile(t)}, "application/gzip", true},
		{upload{"files", "data.json", []byte(`{"a": [1, 2, 3], "b": {"c": null}}`)}, "application/json", true},
		{upload{"files", "notes.txt", []byte("just some plain text\nover two lines\n")}, "text/plain; charset=utf-8", true},
		{upload{"files", "photo.TXT", pngData}, "image/png", false}, // the extension lies
		{upload{"files", "report.pdf", []byte("not a pdf at all\n")}, "text/plain; charset=utf-8", false},
		{upload{"files", "report.docx", docx}, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", true},
		{upload{"files", "sheet.xlsx", xlsx}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", true},
		{upload{"files", "sheet.zip", xlsx}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", true}, // an xlsx is a zip
		{upload{"files", "plain.docx", zipFile(t, zipEntry{name: "a.txt", data: []byte("x")})}, "application/zip", false},
		{upload{"files", "noext", []byte("text without extension")}, "text/plain; charset=utf-8", false},
		{upload{"files", "empty.bin", nil}, "text/plain", false},
	}
	var ups []upload
	for _, s := range samples {
		ups = append(ups, s.up)
	}
	code, m := postFiles(t, r.base, ups...)
	if code != 200 || m["count"].(float64) != float64(len(samples)) {
		t.Fatalf("%d %v", code, m)
	}
	for i, got := range m["files"].([]any) {
		g, s := got.(map[string]any), samples[i]
		sum := sha256.Sum256(s.up.data)
		ext := strings.ToLower(s.up.name[strings.LastIndex(s.up.name, ".")+1:])
		if !strings.Contains(s.up.name, ".") {
			ext = ""
		} else {
			ext = "." + ext
		}
		if g["filename"] != s.up.name || g["size"].(float64) != float64(len(s.up.data)) || g["sha256"] != hex.EncodeToString(sum[:]) ||
			g["mime"] != s.mime || g["extension"] != ext || g["extension_matches"] != s.matches {
			t.Errorf("%s: got %v\n want mime %s matches %v", s.up.name, g, s.mime, s.matches)
		}
	}
}

func TestInspectRejects(t *testing.T) {
	r := newRig(t, map[string]string{"FILES_MAX_FILE_BYTES": "1000", "FILES_MAX_REQUEST_BYTES": "5000", "FILES_MAX_FILES": "3"}, true)
	small := upload{"file", "a.txt", []byte("hello")}

	code, m := postFiles(t, r.base, upload{"file", "big.bin", make([]byte, 1001)})
	if code != 413 || !strings.Contains(errMsg(m), `file "big.bin"`) || !strings.Contains(errMsg(m), "more than 1000 bytes (FILES_MAX_FILE_BYTES)") {
		t.Fatalf("file over its limit: %d %v", code, m)
	}
	if code, _ := postFiles(t, r.base, upload{"file", "exact.bin", make([]byte, 1000)}); code != 200 {
		t.Fatalf("file at its limit: %d", code)
	}
	// Five files of 990 bytes: each fits, the request does not (declared length).
	var five []upload
	for i := 0; i < 5; i++ {
		five = append(five, upload{"files", fmt.Sprintf("f%d.bin", i), make([]byte, 990)})
	}
	r3 := newRig(t, map[string]string{"FILES_MAX_FILE_BYTES": "1000", "FILES_MAX_REQUEST_BYTES": "5000", "FILES_MAX_FILES": "10"}, true)
	code, m = postFiles(t, r3.base, five...)
	if code != 413 || !strings.Contains(errMsg(m), "exceeds 5000 bytes") {
		t.Fatalf("request over its limit: %d %v", code, m)
	}
	// The same without a declared length (chunked): cut off while streaming.
	body, ct := multipartBody(t, five...)
	req, _ := http.NewRequest("POST", r3.base+"/api/v2/files/inspect", io.MultiReader(body))
	req.Header.Set("Content-Type", ct)
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("chunked request over its limit: %d", resp.StatusCode)
	}
	// The route's own limit replaces MAX_BODY_BYTES (1 MiB by default) in both directions.
	r4 := newRig(t, map[string]string{"MAX_BODY_BYTES": "1024", "FILES_MAX_FILE_BYTES": "3000000", "FILES_MAX_REQUEST_BYTES": "4000000"}, true)
	big := upload{"file", "big.bin", randomBytes(2_500_000)}
	if code, m := postFiles(t, r4.base, big); code != 200 || m["files"].([]any)[0].(map[string]any)["size"].(float64) != 2_500_000 {
		t.Fatalf("2.5 MB upload with MAX_BODY_BYTES=1024: %d %v", code, m)
	}

	code, m = postFiles(t, r.base, small, small, small, small)
	if code != 413 || !strings.Contains(errMsg(m), "more than 3 files") {
		t.Fatalf("too many files: %d %v", code, m)
	}
	code, m = postFiles(t, r.base, upload{"document", "a.txt", []byte("x")})
	if code != 400 || !strings.Contains(errMsg(m), `unexpected form field "document"`) {
		t.Fatalf("wrong field: %d %v", code, m)
	}
	code, m = postFiles(t, r.base)
	if code != 400 || !strings.Contains(errMsg(m), "no files") {
		t.Fatalf("no files: %d %v", code, m)
	}
	// A plain form value in field file (no filename).
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("file", "just a value")
	w.Close()
	code, m = do(t, "POST", r.base+"/api/v2/files/inspect", &b, "Content-Type", w.FormDataContentType())
	if code != 400 || !strings.Contains(errMsg(m), "not a file upload") {
		t.Fatalf("value field: %d %v", code, m)
	}
	// Not multipart at all, and a body cut short before the closing boundary.
	code, m = do(t, "POST", r.base+"/api/v2/files/inspect", strings.NewReader(`{"file":"x"}`), "Content-Type", "application/json")
	if code != 400 || !strings.Contains(errMsg(m), "want multipart/form-data") {
		t.Fatalf("json body: %d %v", code, m)
	}
	full, ct := multipartBody(t, small)
	cut := full.Bytes()[:full.Len()-10]
	code, m = do(t, "POST", r.base+"/api/v2/files/inspect", bytes.NewReader(cut), "Content-Type", ct)
	if code != 400 || !strings.Contains(errMsg(m), "malformed multipart") {
		t.Fatalf("truncated body: %d %v", code, m)
	}
	code, m = do(t, "POST", r.base+"/api/v2/files/inspect", strings.NewReader("garbage"), "Content-Type", "multipart/form-data; boundary=xyz")
	if code != 400 {
		t.Fatalf("garbage multipart: %d %v", code, m)
	}
}

// TestInspectStreams checks that a large upload is hashed while it streams:
// the handler allocates far less than the file's size (the sniff header, the
// multipart reader's buffers and the JSON answer).
func TestInspectStreams(t *testing.T) {
	r := newRig(t, map[string]string{"FILES_MAX_FILE_BYTES": "67108864", "FILES_MAX_REQUEST_BYTES": "67108864"}, true)
	data := randomBytes(32 << 20)
	body, ct := multipartBody(t, upload{"file", "big.bin", data})
	raw := body.Bytes()
	handler := r.handler
	var before, after runtime.MemStats
	req := httptest.NewRequest("POST", "/api/v2/files/inspect", bytes.NewReader(raw))
	req.Header.Set("Content-Type", ct)
	rec := httptest.NewRecorder()
	runtime.GC()
	runtime.ReadMemStats(&before)
	handler.ServeHTTP(rec, req)
	runtime.ReadMemStats(&after)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	sum := sha256.Sum256(data)
	if !strings.Contains(rec.Body.String(), hex.EncodeToString(sum[:])) {
		t.Fatalf("hash: %s", rec.Body)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Fatalf("inspecting a 32 MiB file allocated %d bytes: the file is being buffered", alloc)
	} else {
		t.Logf("inspecting a 32 MiB file allocated %d KiB", alloc>>10)
	}
}

// TestInspectSmallFileAllocatesLittle: the sniff buffer grows with the
// bytes that arrive; a small file costs a few KiB, not the 64 KiB sniff
// limit allocated ahead of the bytes (issue 20 item 3: no route allocates
// for bytes not yet received).
func TestInspectSmallFileAllocatesLittle(t *testing.T) {
	r := newRig(t, nil, true)
	body, ct := multipartBody(t, upload{"file", "a.txt", []byte("hello, small world")})
	raw := body.Bytes()
	const rounds = 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < rounds; i++ {
		req := httptest.NewRequest("POST", "/api/v2/files/inspect", bytes.NewReader(raw))
		req.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		r.handler.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	runtime.ReadMemStats(&after)
	per := (after.TotalAlloc - before.TotalAlloc) / rounds
	t.Logf("inspecting an 18-byte file allocated %d KiB per request", per>>10)
	if per > 32<<10 {
		t.Fatalf("inspecting an 18-byte file allocated %d KiB per request: memory taken ahead of the bytes", per>>10)
	}
}
