package apierr

import "testing"

// The types OpenAI's SDKs expect per status class.
func TestOpenAIType(t *testing.T) {
	for status, want := range map[int]string{400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
		404: "not_found_error", 405: "invalid_request_error", 413: "invalid_request_error", 429: "rate_limit_error",
		500: "server_error", 501: "server_error", 502: "server_error", 503: "server_error", 504: "server_error"} {
		if got := OpenAIType(status); got != want {
			t.Errorf("%d: %s, want %s", status, got, want)
		}
	}
}
