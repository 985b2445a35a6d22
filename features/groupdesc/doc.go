// Package groupdesc holds each optional group's description, one file per
// group (<group>.go): its name and build tag, table rank, the variants that
// contain it, route and setting prefixes, Go modules, heavy_dependencies
// keys and smoke cases. Each file declares its group to internal/groupspec
// from init, so the table, variants.mk, .goreleaser.yaml, the settings
// documents, backendctl's smoke run and the registry all know a group from
// this one place; adding a group adds a file here and touches no core file.
//
// The package imports nothing but the standard library and groupspec (a
// leaf), so backendctl and cmd/variants link it without any server code;
// every binary links it (features/doc.go) whatever groups it links, so a
// group that is not linked is still known (501 on its routes, its settings
// recognised, linked: false in /ml-capabilities).
package groupdesc

import "github.com/advanced-backend/advanced-backend/internal/groupspec"

const module = groupspec.ModulePath
