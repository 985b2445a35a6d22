//go:build optional

package features

import _ "github.com/advanced-backend/advanced-backend/features/optional" // registers the optional group
