package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/advanced-backend/advanced-backend/internal/auth"
)

// hashPassword prints the bcrypt hash of a password for a USERS_FILE
// entry. The password is the first line of stdin unless --password is
// given (which leaves it in the shell history and the process list).
func hashPassword(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hash-password", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the usage goes to stdout for -h, to stderr for a mistake
	cost := fs.Int("cost", bcrypt.DefaultCost, fmt.Sprintf("bcrypt cost (%d to %d)", auth.MinBcryptCost, auth.MaxBcryptCost))
	pw := fs.String("password", "", "the password (default: read the first line of stdin)")
	if err := fs.Parse(args); err != nil {
		out, code := stderr, exitUsage
		if errors.Is(err, flag.ErrHelp) {
			out, code = stdout, exitOK
		} else {
			fmt.Fprintf(stderr, "advanced-backend hash-password: %v\n", err)
		}
		fmt.Fprintln(out, "usage: advanced-backend hash-password [--cost N] [--password P]   (password read from stdin unless given)")
		fs.SetOutput(out)
		fs.PrintDefaults()
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "advanced-backend hash-password: unexpected arguments %v\n", fs.Args())
		return exitUsage
	}
	password := *pw
	if password == "" {
		line, err := bufio.NewReader(io.LimitReader(stdin, auth.MaxPasswordBytes+3)).ReadString('\n')
		if err != nil && err != io.EOF {
			fmt.Fprintf(stderr, "advanced-backend hash-password: read stdin: %v\n", err)
			return exitFailed
		}
		password = strings.TrimRight(line, "\r\n")
	}
	h, err := auth.HashPassword([]byte(password), *cost)
	if err != nil {
		fmt.Fprintf(stderr, "advanced-backend hash-password: %v\n", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, h)
	return exitOK
}
