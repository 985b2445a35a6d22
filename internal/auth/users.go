package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/bcrypt"
)

// Bounds of the users file.
const (
	MaxUsersFileBytes = 1 << 20
	MaxUsers          = 10_000
	MaxUsernameBytes  = 64
	MaxPasswordBytes  = 72 // bcrypt's own limit
	MinBcryptCost     = bcrypt.MinCost
	MaxBcryptCost     = 14 // ~1 s per login on a server core; more is a DoS of our own making
)

// usernameRE and bcryptHashRE are compiled on first use, not in package
// init: a process that loads no users file never pays for them.
var usernameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`) })

// dummyHashes are bcrypt hashes of a password nobody knows, one per cost.
// An unknown username is compared against the one with the users' cost so
// that a wrong username costs the same bcrypt work as a wrong password.
var dummyHashes = [MaxBcryptCost + 1]string{ // indexed by cost; static data, no init work
	4:  "$2a$04$EYaAOld8m95M6dF85O.7SOVysdetW4ZQVz1dX7/.r4rHdDUe2kiZe",
	5:  "$2a$05$9VlwZlI3vqygprG/hNE6JefvZ78yIb41866dpfd9q3zdQKnAh9yEG",
	6:  "$2a$06$6QS/BYeNhx8kHXsppjQb/eG24.Vz11ismLl1yIaGOSIaacioKGwWq",
	7:  "$2a$07$Yf8UoAPMZguWTmExX1gtCOUDRfKXx.aBTkg.oeh9N1X2PrPy/NIDe",
	8:  "$2a$08$rybEnmTnPk5Ng6e/KUVuhuTndfhOlBLkGLlwTGWtyX2LULFpcybR2",
	9:  "$2a$09$KReHoijqB80m9kpVUNUNLuHoTLZ4g0GvbdpDYsbGZzxRFyDi.tRMu",
	10: "$2a$10$afK1OUHZOHza12O1N9VAuuRVaxDdsm2IEJ4wvdqd52oixIOCp6dOy",
	11: "$2a$11$ifclZIy380gN0pgUmAP42ua1OTBSNKLjjOC0cAm21Mt44lS1b8jAG",
	12: "$2a$12$Afzcr9lwgvhS9tgz.71oT.otyLpWxp79W5v0yJ1Fe/NI9hl8Bg9yG",
	13: "$2a$13$gzaxHbXJI.lG27yXVPL7iuivUmug92Igxsrn7e37nHVEZBCz8vd/G",
	14: "$2a$14$qxZmVXD8229.2v0H1aIL9eGZLUENwne3pLL6aAijZ0C84/iBv6Uvm",
}

// User is one entry of the users file.
type User struct {
	Username     string   `json:"username"`
	PasswordHash string   `json:"password_hash"`
	Roles        []string `json:"roles"`
}

type usersFile struct {
	Users []User `json:"users"`
}

// Users is the loaded users file. It is read-only after loading and safe
// for concurrent use.
type Users struct {
	byName   map[string]User
	dummy    []byte
	compares [MaxBcryptCost + 1]atomic.Uint64 // by cost of the hash compared
}

// LoadUsers reads and checks a users file (USERS_FILE).
func LoadUsers(path string) (*Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open users file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxUsersFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read users file: %w", err)
	}
	u, err := ParseUsers(data)
	if err != nil {
		return nil, fmt.Errorf("users file %s: %w", path, err)
	}
	return u, nil
}

// ParseUsers checks the JSON of a users file:
//
//	{"users":[{"username":"alice","password_hash":"$2a$10$...","roles":["admin"]}]}
//
// Unknown fields, duplicate users, malformed bcrypt hashes and values out of
// bounds are errors naming the entry.
func ParseUsers(data []byte) (*Users, error) {
	if len(data) > MaxUsersFileBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxUsersFileBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var uf usersFile
	if err := dec.Decode(&uf); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("malformed JSON: unexpected data after the JSON value")
	}
	if uf.Users == nil {
		return nil, errors.New(`no "users" array`)
	}
	if len(uf.Users) > MaxUsers {
		return nil, fmt.Errorf("%d users; at most %d", len(uf.Users), MaxUsers)
	}
	u := &Users{byName: make(map[string]User, len(uf.Users))}
	// One cost for the whole file: the dummy hash an unknown username is
	// compared against has that cost, so no attempt, known user or not,
	// does more or less bcrypt work than another.
	cost, costOf := bcrypt.DefaultCost, ""
	for i, usr := range uf.Users {
		if !usernameRE().MatchString(usr.Username) {
			return nil, fmt.Errorf("user %d: username must be 1 to %d of A-Z a-z 0-9 . _ @ -", i, MaxUsernameBytes)
		}
		if _, dup := u.byName[usr.Username]; dup {
			return nil, fmt.Errorf("user %q: listed twice", usr.Username)
		}
		c, err := checkHash(usr.PasswordHash)
		if err != nil {
			return nil, fmt.Errorf("user %q: password_hash is not a bcrypt hash: %w", usr.Username, err)
		}
		if c < MinBcryptCost || c > MaxBcryptCost {
			return nil, fmt.Errorf("user %q: bcrypt cost %d; want %d to %d", usr.Username, c, MinBcryptCost, MaxBcryptCost)
		}
		if costOf != "" && c != cost {
			return nil, fmt.Errorf("user %q: bcrypt cost %d, but user %q has cost %d: every hash of the file must have the same cost "+
				"(otherwise the time of a login tells which users exist); rehash with advanced-backend hash-password --cost %d",
				usr.Username, c, costOf, cost, cost)
		}
		cost, costOf = c, usr.Username
		if len(usr.Roles) > maxRoles {
			return nil, fmt.Errorf("user %q: more than %d roles", usr.Username, maxRoles)
		}
		for _, r := range usr.Roles {
			if r == "" || len(r) > maxRoleBytes {
				return nil, fmt.Errorf("user %q: each role must be 1 to %d bytes", usr.Username, maxRoleBytes)
			}
		}
		u.byName[usr.Username] = usr
	}
	u.dummy = []byte(dummyHashes[cost])
	return u, nil
}

// bcryptHashRE is the shape of a bcrypt hash: version, two-digit cost, 53
// characters of bcrypt's base64 (22 of salt, 31 of hash). A hash that
// merely starts right would fail its comparison at once, before the
// expensive part, and so answer faster than the others.
var bcryptHashRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$`) })

// checkHash returns the cost of a well-formed bcrypt hash.
func checkHash(h string) (int, error) {
	c, err := bcrypt.Cost([]byte(h))
	if err != nil {
		return 0, err
	}
	if !bcryptHashRE().MatchString(h) {
		return 0, errors.New(`want $2a$, $2b$ or $2y$, a two-digit cost and 53 characters of [./A-Za-z0-9]`)
	}
	return c, nil
}

// Len is the number of users.
func (u *Users) Len() int { return len(u.byName) }

// DummyCost is the bcrypt cost spent on an unknown username.
func (u *Users) DummyCost() int {
	c, _ := bcrypt.Cost(u.dummy)
	return c
}

// BcryptCompares counts the bcrypt comparisons done since loading; every
// Authenticate call does exactly one, known user or not.
func (u *Users) BcryptCompares() uint64 {
	var n uint64
	for i := range u.compares {
		n += u.compares[i].Load()
	}
	return n
}

// BcryptComparesAt counts the comparisons done against hashes of one cost:
// what tests inspect to see that every attempt does the same work.
func (u *Users) BcryptComparesAt(cost int) uint64 {
	if cost < 0 || cost >= len(u.compares) {
		return 0
	}
	return u.compares[cost].Load()
}

// Authenticate checks a username and password. An unknown username costs
// one bcrypt comparison against a dummy hash of the users' (single) cost,
// like a known one, so the answer time does not tell the two apart.
func (u *Users) Authenticate(username, password string) (User, bool) {
	usr, known := u.byName[username]
	hash := u.dummy
	if known {
		hash = []byte(usr.PasswordHash)
	}
	if c, err := bcrypt.Cost(hash); err == nil && c < len(u.compares) {
		u.compares[c].Add(1)
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if err != nil || !known {
		return User{}, false
	}
	return usr, true
}

// HashPassword returns the bcrypt hash of a password for a users file.
func HashPassword(password []byte, cost int) (string, error) {
	if len(password) == 0 {
		return "", errors.New("empty password")
	}
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("password longer than %d bytes (bcrypt's limit)", MaxPasswordBytes)
	}
	if cost < MinBcryptCost || cost > MaxBcryptCost {
		return "", fmt.Errorf("cost %d; want %d to %d", cost, MinBcryptCost, MaxBcryptCost)
	}
	h, err := bcrypt.GenerateFromPassword(password, cost)
	if err != nil {
		return "", fmt.Errorf("bcrypt: %w", err)
	}
	return string(h), nil
}
