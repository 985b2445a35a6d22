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

func authSettings(a *AuthConfig) []Setting {
	return []Setting{
		Bind(&a.Secret, jwtSecret()),
		Bind(&a.PublicKeyFile, String("JWT_PUBLIC_KEY_FILE", "",
			"PEM public key (RSA, ECDSA P-256 or Ed25519) that verifies tokens; turns JWT auth on")),
		Bind(&a.PrivateKeyFile, String("JWT_PRIVATE_KEY_FILE", "",
			"PEM private key matching JWT_PUBLIC_KEY_FILE, to sign tokens issued by POST /auth/token")),
		Bind(&a.Algorithm, Parsed("JWT_ALGORITHM", "",
			"the one accepted algorithm: HS256, RS256, ES256 or EdDSA (unset: inferred from the key)", parseJWTAlgorithm)),
		Bind(&a.Issuer, String("JWT_ISSUER", "", "required iss claim (also set on issued tokens); unset: not checked")),
		Bind(&a.Audience, String("JWT_AUDIENCE", "", "required aud claim (also set on issued tokens); unset: not checked")),
		Bind(&a.Leeway, DurationText("JWT_LEEWAY", "30s", 0, 5*time.Minute,
			"clock skew allowed on exp, nbf and iat")),
		Bind(&a.TTL, DurationText("JWT_TTL", "15m", time.Minute, 24*time.Hour,
			"lifetime of tokens issued by POST /auth/token")),
		Bind(&a.MaxTokenBytes, Int("JWT_MAX_TOKEN_BYTES", 4096, 256, 65536,
			"bearer tokens longer than this are rejected (401) before parsing")),
		Bind(&a.UsersFile, String("USERS_FILE", "",
			"JSON file of users (username, bcrypt password_hash, roles) for POST /auth/token")),
		Bind(&a.TrustedProxies, Parsed("TRUSTED_PROXIES", "",
			"comma-separated IPs/CIDRs whose X-Forwarded-For is trusted for the client IP; unset: none", parseProxies)),
	}
}

// jwtSecret is a secret string that is not trimmed (every byte is key
// material) and, when set, at least MinJWTSecretBytes long.
func jwtSecret() Setting {
	return newSetting("JWT_SECRET", "",
		fmt.Sprintf("HS256 key (at least %d bytes); with JWT_PUBLIC_KEY_FILE unset, this turns JWT auth on", MinJWTSecretBytes),
		func(v string) (any, error) {
			if v != "" && len(v) < MinJWTSecretBytes {
				return "", fmt.Errorf("want at least %d bytes, got %d", MinJWTSecretBytes, len(v))
			}
			return v, nil
		}).AsSecret()
}

// parseJWTAlgorithm accepts one of jwtAlgorithms in any case and returns
// its canonical spelling; "" is unset.
func parseJWTAlgorithm(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	for _, a := range jwtAlgorithms {
		if strings.EqualFold(v, a) {
			return a, nil
		}
	}
	return "", fmt.Errorf("want one of %s", strings.Join(jwtAlgorithms, ", "))
}

func parseProxies(v string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if strings.Contains(p, "/") {
			if _, _, err := net.ParseCIDR(p); err != nil {
				return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", p)
			}
		} else if net.ParseIP(p) == nil {
			return nil, fmt.Errorf("%q is not an IP address", p)
		}
		out = append(out, p)
	}
	return out, nil
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
