//go:build vector

package features

import _ "github.com/advanced-backend/advanced-backend/features/vector" // registers the vector group
