package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Minimum length of JWT_SECRET: HS256 with a shorter key is guessable.
const MinJWTSecretBytes = 32

// AuthConfig configures JWT auth, the users file and client identification.
// JWT is configured when Secret or PublicKeyFile is set; otherwise (and in
// SAFE_MODE) auth is off and admin routes fall back to ADMIN_RESET_TOKEN.
type AuthConfig struct {
	Secret         string        // HS256 key (>= 32 bytes)
	PublicKeyFile  string        // PEM public key: RS256, ES256 or EdDSA
	PrivateKeyFile string        // PEM private key to sign issued tokens (asymmetric algorithms)
	Algorithm      string        // "" = inferred from the key
	Issuer         string        // checked (and issued) when set
	Audience       string        // checked (and issued) when set
	Leeway         time.Duration // clock skew allowed on exp/nbf/iat
	TTL            time.Duration // lifetime of issued tokens
	MaxTokenBytes  int           // tokens longer than this are rejected before parsing
	UsersFile      string        // JSON users file for POST /auth/token
	TrustedProxies []string      // CIDRs/IPs whose X-Forwarded-For is believed; none by default
}

// JWTConfigured reports whether a verification key is set.
func (a AuthConfig) JWTConfigured() bool { return a.Secret != "" || a.PublicKeyFile != "" }

// Algorithms accepted in JWT_ALGORITHM.
var jwtAlgorithms = []string{"HS256", "RS256", "ES256", "EdDSA"}

func authVars() []Var {
	return []Var{
		{Env: "JWT_SECRET", Flag: "jwt-secret", Secret: true,
			Help: fmt.Sprintf("HS256 key (at least %d bytes); with JWT_PUBLIC_KEY_FILE unset, this turns JWT auth on", MinJWTSecretBytes),
			set: func(c *Config, v string) error {
				if v != "" && len(v) < MinJWTSecretBytes {
					return fmt.Errorf("want at least %d bytes, got %d", MinJWTSecretBytes, len(v))
				}
				c.Auth.Secret = v // not trimmed: every byte is key material
				return nil
			}},
		{Env: "JWT_PUBLIC_KEY_FILE", Flag: "jwt-public-key-file",
			Help: "PEM public key (RSA, ECDSA P-256 or Ed25519) that verifies tokens; turns JWT auth on",
			set:  func(c *Config, v string) error { return setString(&c.Auth.PublicKeyFile, v) }},
		{Env: "JWT_PRIVATE_KEY_FILE", Flag: "jwt-private-key-file",
			Help: "PEM private key matching JWT_PUBLIC_KEY_FILE, to sign tokens issued by POST /auth/token",
			set:  func(c *Config, v string) error { return setString(&c.Auth.PrivateKeyFile, v) }},
		{Env: "JWT_ALGORITHM", Flag: "jwt-algorithm",
			Help: "the one accepted algorithm: HS256, RS256, ES256 or EdDSA (unset: inferred from the key)",
			set: func(c *Config, v string) error {
				v = strings.TrimSpace(v)
				if v == "" {
					c.Auth.Algorithm = ""
					return nil
				}
				for _, a := range jwtAlgorithms {
					if strings.EqualFold(v, a) {
						c.Auth.Algorithm = a
						return nil
					}
				}
				return fmt.Errorf("want one of %s", strings.Join(jwtAlgorithms, ", "))
			}},
		{Env: "JWT_ISSUER", Flag: "jwt-issuer",
			Help: "required iss claim (also set on issued tokens); unset: not checked",
			set:  func(c *Config, v string) error { return setString(&c.Auth.Issuer, v) }},
		{Env: "JWT_AUDIENCE", Flag: "jwt-audience",
			Help: "required aud claim (also set on issued tokens); unset: not checked",
			set:  func(c *Config, v string) error { return setString(&c.Auth.Audience, v) }},
		{Env: "JWT_LEEWAY", Flag: "jwt-leeway", Default: "30s",
			Help: "clock skew allowed on exp, nbf and iat (0s to 5m)",
			set:  func(c *Config, v string) error { return setDuration(&c.Auth.Leeway, v, 0, 5*time.Minute) }},
		{Env: "JWT_TTL", Flag: "jwt-ttl", Default: "15m",
			Help: "lifetime of tokens issued by POST /auth/token (1m to 24h)",
			set:  func(c *Config, v string) error { return setDuration(&c.Auth.TTL, v, time.Minute, 24*time.Hour) }},
		{Env: "JWT_MAX_TOKEN_BYTES", Flag: "jwt-max-token-bytes", Default: "4096",
			Help: "bearer tokens longer than this are rejected (401) before parsing",
			set:  func(c *Config, v string) error { return setInt(&c.Auth.MaxTokenBytes, v, 256, 65536) }},
		{Env: "USERS_FILE", Flag: "users-file",
			Help: "JSON file of users (username, bcrypt password_hash, roles) for POST /auth/token",
			set:  func(c *Config, v string) error { return setString(&c.Auth.UsersFile, v) }},
		{Env: "TRUSTED_PROXIES", Flag: "trusted-proxies",
			Help: "comma-separated IPs/CIDRs whose X-Forwarded-For is trusted for the client IP; unset: none",
			set:  func(c *Config, v string) error { return setProxies(&c.Auth.TrustedProxies, v) }},
	}
}

func setProxies(dst *[]string, v string) error {
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if strings.Contains(p, "/") {
			if _, _, err := net.ParseCIDR(p); err != nil {
				return fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", p)
			}
		} else if net.ParseIP(p) == nil {
			return fmt.Errorf("%q is not an IP address", p)
		}
		out = append(out, p)
	}
	*dst = out
	return nil
}

// validateAuth checks the rules that span several auth settings.
func (c *Config) validateAuth() error {
	a := c.Auth
	switch {
	case a.Secret != "" && a.PublicKeyFile != "":
		return &Error{Var: "JWT_PUBLIC_KEY_FILE", Value: a.PublicKeyFile,
			Err: errors.New("set either JWT_SECRET (HS256) or JWT_PUBLIC_KEY_FILE, not both")}
	case a.PrivateKeyFile != "" && a.PublicKeyFile == "":
		return &Error{Var: "JWT_PRIVATE_KEY_FILE", Value: a.PrivateKeyFile,
			Err: errors.New("needs JWT_PUBLIC_KEY_FILE (the matching public key)")}
	case a.Algorithm == "HS256" && a.PublicKeyFile != "":
		return &Error{Var: "JWT_ALGORITHM", Value: a.Algorithm,
			Err: errors.New("HS256 takes JWT_SECRET, not JWT_PUBLIC_KEY_FILE")}
	case a.Algorithm != "" && a.Algorithm != "HS256" && a.Secret != "":
		return &Error{Var: "JWT_ALGORITHM", Value: a.Algorithm,
			Err: errors.New("JWT_SECRET is an HS256 key; " + a.Algorithm + " needs JWT_PUBLIC_KEY_FILE")}
	case a.Algorithm != "" && !a.JWTConfigured():
		return &Error{Var: "JWT_ALGORITHM", Value: a.Algorithm,
			Err: errors.New("set JWT_SECRET or JWT_PUBLIC_KEY_FILE too")}
	}
	return nil
}
