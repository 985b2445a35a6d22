package optional

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/gabriel-vasile/mimetype"

	"github.com/advanced-backend/advanced-backend/internal/apierr"
	"github.com/advanced-backend/advanced-backend/internal/bodymem"
)

// FileReport is one inspected file.
type FileReport struct {
	Filename string `json:"filename"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	MIME     string `json:"mime"`
	// Extension is the file name's extension, lower case with its dot ("" for none).
	Extension string `json:"extension"`
	// DetectedExtension is the usual extension of the detected type.
	DetectedExtension string `json:"detected_extension"`
	// ExtensionMatches says whether the name's extension fits the content
	// (the detected type or one it specialises: a .zip that holds a docx fits).
	ExtensionMatches bool `json:"extension_matches"`
}

// fileLimits are the bounds of one inspection request.
type fileLimits struct {
	maxFile  int64 // per file (FILES_MAX_FILE_BYTES)
	maxFiles int   // files per request (FILES_MAX_FILES)
}

var errFileTooLarge = errors.New("file too large")

// inspect serves POST /api/v2/files/inspect: multipart/form-data with one
// or more files in fields "file" or "files". Each file is streamed once:
// its first sniffLimit bytes are kept for type detection, everything
// passes through SHA-256; nothing else is buffered or written to disk.
func (f *feature) inspect(w http.ResponseWriter, r *http.Request) {
	// files are hashed as they pass, not kept: the body holds only its
	// last read in the memory bound of bodies in flight
	bodymem.Stream(r.Body)
	mr, err := r.MultipartReader()
	if err != nil {
		apierr.Error(w, r, http.StatusBadRequest, "bad_multipart",
			"want multipart/form-data with files in field file or files: "+err.Error())
		return
	}
	// the leading bytes of each file, for type detection: grown with the
	// bytes that arrive (up to sniffLimit), never allocated ahead of them
	var head bytes.Buffer
	reports := []FileReport{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			abortRead(w, r, err, "")
			return
		}
		name := part.FormName()
		if name != "file" && name != "files" {
			part.Close()
			apierr.Error(w, r, http.StatusBadRequest, "bad_multipart",
				fmt.Sprintf("unexpected form field %q: send files in field file or files", name))
			return
		}
		if part.FileName() == "" {
			part.Close()
			apierr.Error(w, r, http.StatusBadRequest, "bad_multipart",
				fmt.Sprintf("field %s is not a file upload (no filename in its Content-Disposition)", name))
			return
		}
		if len(reports) >= f.files.maxFiles {
			part.Close()
			apierr.Error(w, r, http.StatusRequestEntityTooLarge, "too_many_files",
				fmt.Sprintf("more than %d files in one request (FILES_MAX_FILES)", f.files.maxFiles))
			return
		}
		rep, err := inspectPart(part, &head, f.files.maxFile)
		part.Close()
		if err != nil {
			abortRead(w, r, err, part.FileName())
			return
		}
		reports = append(reports, rep)
	}
	if len(reports) == 0 {
		apierr.Error(w, r, http.StatusBadRequest, "no_files", "no files: send one or more in field file or files")
		return
	}
	apierr.WriteJSON(w, r, http.StatusOK, map[string]any{"count": len(reports), "files": reports})
}

// abortRead answers a failed read: 413 for a limit, 400 for a broken body.
func abortRead(w http.ResponseWriter, r *http.Request, err error, file string) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		apierr.Error(w, r, http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("request body exceeds %d bytes (FILES_MAX_REQUEST_BYTES)", tooBig.Limit))
	case apierr.BodyFailure(w, r, err): // too slow (408) or out of body memory (503), as on every route
	case errors.Is(err, errFileTooLarge):
		apierr.Error(w, r, http.StatusRequestEntityTooLarge, "file_too_large", fmt.Sprintf("file %q: %v", file, err))
	default:
		apierr.Error(w, r, http.StatusBadRequest, "bad_multipart", "malformed multipart body: "+err.Error())
	}
}

// inspectPart hashes and sniffs one file, reading at most maxFile+1 bytes;
// head (reset here) keeps its first sniffLimit bytes.
func inspectPart(part *multipart.Part, head *bytes.Buffer, maxFile int64) (FileReport, error) {
	r := io.LimitReader(part, maxFile+1)
	h := sha256.New()
	head.Reset()
	n, err := head.ReadFrom(io.LimitReader(r, sniffLimit)) // grows by what each read brings
	if err != nil {
		return FileReport{}, err
	}
	h.Write(head.Bytes())
	var rest int64
	if n == sniffLimit { // more may follow: io.Copy's buffer only once bytes keep coming
		if rest, err = io.Copy(h, r); err != nil {
			return FileReport{}, err
		}
	}
	size := n + rest
	if size > maxFile {
		return FileReport{}, fmt.Errorf("%w: more than %d bytes (FILES_MAX_FILE_BYTES)", errFileTooLarge, maxFile)
	}
	m := mimetype.Detect(head.Bytes())
	ext := strings.ToLower(filepath.Ext(part.FileName()))
	return FileReport{
		Filename:          part.FileName(),
		Size:              size,
		SHA256:            hex.EncodeToString(h.Sum(nil)),
		MIME:              m.String(),
		Extension:         ext,
		DetectedExtension: m.Extension(),
		ExtensionMatches:  extensionMatches(ext, m),
	}, nil
}

// extAliases maps extensions to the one mimetype reports for their type.
var extAliases = map[string]string{
	".jpeg": ".jpg", ".jpe": ".jpg", ".htm": ".html", ".tif": ".tiff", ".mjs": ".js",
	".tgz": ".gz", ".text": ".txt", ".log": ".txt", ".md": ".txt", ".markdown": ".txt",
	".yaml": ".txt", ".yml": ".txt", ".ini": ".txt", ".conf": ".txt", ".cfg": ".txt", ".toml": ".txt",
}

// extensionMatches reports whether ext fits m or a type m specialises
// (JSON is text, docx is zip). Unknown content (octet-stream, no
// extension) matches nothing.
func extensionMatches(ext string, m *mimetype.MIME) bool {
	if ext == "" {
		return false
	}
	if a, ok := extAliases[ext]; ok {
		ext = a
	}
	for t := m; t != nil; t = t.Parent() {
		if t.Extension() != "" && t.Extension() == ext {
			return true
		}
	}
	return false
}
