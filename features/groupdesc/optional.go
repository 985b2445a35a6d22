package groupdesc

import "github.com/advanced-backend/advanced-backend/internal/groupspec"

// Optional describes the optional group.
var Optional = groupspec.Group{
	Name:            "optional",
	Description:     "YAML registry files, content-based file type detection",
	Rank:            40,
	Variants:        []string{"prodapi", "full"},
	Package:         module + "/features/optional",
	RoutePrefixes:   []string{"/api/v2/files", "/admin/registry"},
	Modules:         []string{"github.com/goccy/go-yaml", "github.com/gabriel-vasile/mimetype"},
	Shared:          []string{"github.com/goccy/go-yaml", "github.com/gabriel-vasile/mimetype"},
	Heavy:           []string{"yaml", "mimetype"},
	SettingPrefixes: []string{"REGISTRY_", "FILES_"},
	Smoke: []groupspec.SmokeCase{
		{Name: "files inspect", Method: "POST", Path: "/api/v2/files/inspect", Status: 200,
			ContentType: "multipart/form-data; boundary=" + smokeBoundary, Body: smokeUpload, Contains: "image/png"},
	},
}

// smokeUpload is a multipart body with a 1x1 PNG named .txt: inspection
// must tell it by content.
const smokeBoundary = "backendctl-smoke-boundary"

const smokeUpload = "--" + smokeBoundary + "\r\n" +
	`Content-Disposition: form-data; name="file"; filename="pixel.txt"` + "\r\n" +
	"Content-Type: text/plain\r\n\r\n" +
	"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\xdacd\xf8\xcf\x50\x0f\x00\x03\x86\x01\x80Z4}k\x00\x00\x00\x00IEND\xaeB`\x82" +
	"\r\n--" + smokeBoundary + "--\r\n"

func init() { groupspec.Declare(Optional) }
