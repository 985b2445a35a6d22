package llm

import (
	"errors"
	"testing"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

func TestSettingsBadValuesNameTheVariable(t *testing.T) {
	for name, val := range map[string]string{"OPENAI_BASE_URL": "not a url", "LLM_MAX_RETRIES": "11", "LLM_TIMEOUT": "soon"} {
		_, err := config.LoadWith(config.Options{LookupEnv: func(k string) (string, bool) {
			if k == name {
				return val, true
			}
			return "", false
		}, Linked: []config.GroupSettings{{Group: "llm", Settings: Settings()}}})
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Var != name {
			t.Errorf("%s=%q: want an error naming it, got %v", name, val, err)
		}
	}
}
