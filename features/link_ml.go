//go:build ml

package features

import _ "github.com/advanced-backend/advanced-backend/features/ml" // registers the ml group
