// Command variants answers questions about the variant table in
// internal/groupspec, so the Makefile, CI and docs never restate it
// (as Tailscale's Makefile asks cmd/featuretags):
//
//	variants list              variant names, one a line
//	variants tags <variant>    the variant's build tags, comma-separated
//	variants groups <variant>  the variant's groups, space-separated
//	variants markdown          the variant and group tables for BUILD.md
//	variants make              variants.mk: the Makefile's variant names and tags
//	variants make -w FILE      write it to FILE
//	variants goreleaser        the builds and archives of .goreleaser.yaml
//	variants goreleaser -w F   rewrite that part of F in place
package main

import (
	// The group table: every group's description (stdlib only, no server code).
	"fmt"
	_ "github.com/advanced-backend/advanced-backend/features/groupdesc"
	"io"
	"os"
	"strings"

	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "variants:", err)
		os.Exit(2)
	}
}

func run(args []string, w io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: variants list | tags <variant> | groups <variant> | markdown | make [-w FILE] | goreleaser [-w FILE]")
	}
	switch args[0] {
	case "list":
		for _, v := range groupspec.VariantNames() {
			fmt.Fprintln(w, v)
		}
	case "tags", "groups":
		if len(args) != 2 {
			return fmt.Errorf("usage: variants %s <variant>", args[0])
		}
		v, ok := groupspec.LookupVariant(args[1])
		if !ok {
			return fmt.Errorf("unknown variant %q (known: %s)", args[1], strings.Join(groupspec.VariantNames(), ", "))
		}
		if args[0] == "groups" {
			fmt.Fprintln(w, strings.Join(v.Groups, " "))
			return nil
		}
		tags, _ := groupspec.VariantTags(v.Name)
		fmt.Fprintln(w, strings.Join(tags, ","))
	case "markdown":
		writeMarkdown(w)
	case "make":
		switch {
		case len(args) == 1:
			writeMake(w)
		case len(args) == 3 && args[1] == "-w":
			var b strings.Builder
			writeMake(&b)
			return os.WriteFile(args[2], []byte(b.String()), 0o644)
		default:
			return fmt.Errorf("usage: variants make [-w FILE]")
		}
	case "goreleaser":
		switch {
		case len(args) == 1:
			writeGoreleaser(w)
		case len(args) == 3 && args[1] == "-w":
			return rewriteGoreleaser(args[2])
		default:
			return fmt.Errorf("usage: variants goreleaser [-w FILE]")
		}
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
	return nil
}

// writeMarkdown prints the tables BUILD.md embeds between its
// "variants:begin/end" markers; a test keeps BUILD.md in sync.
func writeMarkdown(w io.Writer) {
	fmt.Fprintln(w, "| variant | build tags | groups | use |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, v := range groupspec.Variants() {
		tags, _ := groupspec.VariantTags(v.Name)
		groups := strings.Join(v.Groups, ", ")
		if groups == "" {
			groups = "(none)"
		}
		fmt.Fprintf(w, "| %s | `%s` | %s | %s |\n", v.Name, strings.Join(tags, ","), groups, v.Use)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| group | build tag | route prefixes | modules it brings | heavy_dependencies keys |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, g := range groupspec.Groups() {
		mods := strings.Join(g.Modules, ", ")
		if mods == "" {
			mods = "(none: only its own packages)"
		}
		fmt.Fprintf(w, "| %s | `%s` | %s | %s | %s |\n", g.Name, g.Name,
			"`"+strings.Join(g.RoutePrefixes, "`, `")+"`", mods, strings.Join(g.Heavy, ", "))
	}
}

// writeMake prints variants.mk, which the Makefile includes: reading a
// checked-in file costs make nothing, where asking `go run` would cost a
// build on every make call (and needs the right toolchain in $(shell)).
// TestMakeFileIsCurrent keeps it in sync with the table.
func writeMake(w io.Writer) {
	fmt.Fprintln(w, "# Generated from internal/groupspec by `go run ./cmd/variants make -w variants.mk`")
	fmt.Fprintln(w, "# (or `make generate`); DO NOT EDIT. cmd/variants' tests fail when it is stale.")
	fmt.Fprintf(w, "VARIANTS := %s\n", strings.Join(groupspec.VariantNames(), " "))
	for _, v := range groupspec.VariantNames() {
		tags, _ := groupspec.VariantTags(v)
		fmt.Fprintf(w, "VARIANT_TAGS_%s := %s\n", v, strings.Join(tags, ","))
	}
	fmt.Fprintf(w, "BASE_TAGS := %s\n", strings.Join(groupspec.BaseTags(), ","))
}
