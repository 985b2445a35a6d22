package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/golang-jwt/jwt/v5"

	"github.com/advanced-backend/advanced-backend/internal/config"
)

// maxKeyFileBytes bounds a PEM key file; real keys are a few KiB.
const maxKeyFileBytes = 64 << 10

// minRSABits is the smallest RSA modulus accepted.
const minRSABits = 2048

// keySet is the verification key, the signing key (nil when tokens cannot
// be issued) and the one accepted algorithm.
type keySet struct {
	_      [0]func() // not comparable: nothing compares it, and a comparable struct costs a generated equality function
	alg    string
	method jwt.SigningMethod
	verify any
	sign   any
}

// loadKeys reads the keys the configuration names. Errors name the
// variable at fault.
func loadKeys(a config.AuthConfig) (*keySet, error) {
	if a.Secret != "" {
		if len(a.Secret) < config.MinJWTSecretBytes {
			return nil, fmt.Errorf("JWT_SECRET: want at least %d bytes", config.MinJWTSecretBytes)
		}
		k := []byte(a.Secret)
		return &keySet{alg: "HS256", method: jwt.SigningMethodHS256, verify: k, sign: k}, nil
	}
	if a.PublicKeyFile == "" {
		return nil, errors.New("JWT_SECRET or JWT_PUBLIC_KEY_FILE must be set")
	}
	pub, err := readPublicKey(a.PublicKeyFile)
	if err != nil {
		return nil, fmt.Errorf("JWT_PUBLIC_KEY_FILE %s: %w", a.PublicKeyFile, err)
	}
	alg, err := algorithmFor(pub)
	if err != nil {
		return nil, fmt.Errorf("JWT_PUBLIC_KEY_FILE %s: %w", a.PublicKeyFile, err)
	}
	if a.Algorithm != "" && a.Algorithm != alg {
		return nil, fmt.Errorf("JWT_ALGORITHM=%s does not fit the key in JWT_PUBLIC_KEY_FILE (a %s key)", a.Algorithm, alg)
	}
	ks := &keySet{alg: alg, method: jwt.GetSigningMethod(alg), verify: pub}
	if a.PrivateKeyFile != "" {
		priv, err := readPrivateKey(a.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("JWT_PRIVATE_KEY_FILE %s: %w", a.PrivateKeyFile, err)
		}
		type publicKeyer interface{ Equal(crypto.PublicKey) bool }
		pk, ok := priv.Public().(publicKeyer)
		if !ok || !pk.Equal(pub) {
			return nil, fmt.Errorf("JWT_PRIVATE_KEY_FILE %s: does not match the key in JWT_PUBLIC_KEY_FILE", a.PrivateKeyFile)
		}
		ks.sign = priv
	}
	return ks, nil
}

func algorithmFor(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return "", fmt.Errorf("RSA key of %d bits; want at least %d", k.N.BitLen(), minRSABits)
		}
		return "RS256", nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("ECDSA key on %s; ES256 wants P-256", k.Curve.Params().Name)
		}
		return "ES256", nil
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", fmt.Errorf("unsupported key type %T (want RSA, ECDSA P-256 or Ed25519)", pub)
}

func readPEM(path string) (*pem.Block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxKeyFileBytes)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	return block, nil
}

func readPublicKey(path string) (crypto.PublicKey, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse PKIX public key: %w", err)
		}
		return k, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse PKCS#1 public key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("PEM block %q; want PUBLIC KEY or RSA PUBLIC KEY", block.Type)
}

func readPrivateKey(path string) (crypto.Signer, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	var k any
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q; want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", k)
	}
	return s, nil
}
