package config

// OptionalConfig configures the optional group: the registry file and the
// file inspection route.
type OptionalConfig struct {
	// RegistryFile is a YAML or JSON file with SLO targets, group switches
	// and rate-limit overrides; empty means none. Only a variant that links
	// the optional group accepts it.
	RegistryFile string
	// FilesMaxFileBytes bounds one uploaded file of /api/v2/files/inspect.
	FilesMaxFileBytes int64
	// FilesMaxRequestBytes bounds the whole multipart request of that route.
	FilesMaxRequestBytes int64
	// FilesMaxFiles bounds the number of files in one request.
	FilesMaxFiles int
}

func optionalVars() []Var {
	return []Var{
		{Env: "REGISTRY_FILE", Flag: "registry-file",
			Help: "optional: YAML or JSON registry file (SLO targets, group switches, rate-limit overrides); reloaded on SIGHUP and POST /admin/registry/reload",
			set:  func(c *Config, v string) error { return setString(&c.Optional.RegistryFile, v) }},
		{Env: "FILES_MAX_FILE_BYTES", Flag: "files-max-file-bytes", Default: "10485760",
			Help: "optional: bound on one file sent to /api/v2/files/inspect (413 beyond)",
			set: func(c *Config, v string) error {
				return setInt64(&c.Optional.FilesMaxFileBytes, v, 1, 1<<40)
			}},
		{Env: "FILES_MAX_REQUEST_BYTES", Flag: "files-max-request-bytes", Default: "33554432",
			Help: "optional: bound on one /api/v2/files/inspect request, all files together (413 beyond)",
			set: func(c *Config, v string) error {
				return setInt64(&c.Optional.FilesMaxRequestBytes, v, 1, 1<<40)
			}},
		{Env: "FILES_MAX_FILES", Flag: "files-max-files", Default: "32",
			Help: "optional: bound on the number of files in one /api/v2/files/inspect request (413 beyond)",
			set:  func(c *Config, v string) error { return setInt(&c.Optional.FilesMaxFiles, v, 1, 10_000) }},
	}
}

func setInt64(dst *int64, v string, lo, hi int64) error {
	var n int
	if err := setInt(&n, v, int(lo), int(hi)); err != nil {
		return err
	}
	*dst = int64(n)
	return nil
}
