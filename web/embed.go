// Package web embeds the executive dashboard, so the binary serves it
// offline with no external assets.
package web

import _ "embed"

// Dashboard is executive_dashboard.html.
//
//go:embed executive_dashboard.html
var Dashboard []byte
