//go:build llm

package features

import _ "github.com/advanced-backend/advanced-backend/features/llm" // registers the llm group
