// Package capability is the registry of optional dependency groups: group
// packages register a constructor, their settings and the shared services
// they read and provide (GroupInfo.Uses) from init, the way database/sql
// drivers and Caddy modules do; each service builds fresh group instances
// from them (Instantiate; internal/lifecycle runs them), and cross-checks
// what registered against runtime/debug.ReadBuildInfo.
//
// Core and groups cooperate through groupapi.Services, a set of typed
// slots, each set once. This package names them (LatencyKey, ...) and
// keeps each group's declaration of what it reads and provides (Uses); a
// group's Host carries only the view its declaration allows, and the
// registry refuses, at init, a group that would provide a service core or
// another group provides. The table of groups and variants itself is
// internal/groupspec, filled by the groups' descriptions
// (features/groupdesc); the contracts the groups implement and use
// (Feature, Host, Router, Status, the services, ...) are internal/groupapi's.
package capability

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/advanced-backend/advanced-backend/internal/config"
	"github.com/advanced-backend/advanced-backend/internal/groupapi"
	"github.com/advanced-backend/advanced-backend/internal/groupspec"
)

// GroupInfo is what a group package registers: a constructor, called once
// per service, and the settings the group reads.
type GroupInfo struct {
	// Name is the group's name in its description (features/groupdesc).
	Name string
	// New returns a fresh instance with the group's settings, parsed by
	// internal/config from Settings, bound (values.Into with the same
	// declarations); it must not share mutable state with other instances.
	New func(values config.Values) groupapi.Feature
	// Settings are the group's settings; each name carries one of the
	// group's SettingPrefixes in the table.
	Settings []config.Setting
	// Uses are the shared services the group reads and provides; its Host
	// hands out no others.
	Uses Uses
	// Commands are the group's own subcommands (see Command).
	Commands []Command
}

var (
	regMu      sync.Mutex
	registered = map[string]GroupInfo{}
)

// Register makes a group available. It is called from the group package's
// init function; like database/sql.Register it panics on misuse, because a
// duplicate or unknown group is a programming error found at process
// start, not a runtime condition.
func Register(info GroupInfo) {
	if err := register(info); err != nil {
		panic(err)
	}
}

func register(info GroupInfo) error {
	regMu.Lock()
	defer regMu.Unlock()
	if info.New == nil {
		return fmt.Errorf("capability: Register %q: no constructor", info.Name)
	}
	g, ok := groupspec.LookupGroup(info.Name)
	if !ok {
		return fmt.Errorf("capability: Register %q: unknown group (declared: %v)", info.Name, groupspec.GroupNames())
	}
	if _, dup := registered[info.Name]; dup {
		return fmt.Errorf("capability: Register %q: registered twice", info.Name)
	}
	for _, s := range info.Settings {
		if !g.OwnsSetting(s.Name) {
			return fmt.Errorf("capability: Register %q: setting %s lacks the group's prefixes %v (internal/groupspec)", info.Name, s.Name, g.SettingPrefixes)
		}
	}
	if err := info.Uses.check(registered); err != nil {
		return fmt.Errorf("capability: Register %q: %w", info.Name, err)
	}
	if err := checkCommands(info.Commands, registered); err != nil {
		return fmt.Errorf("capability: Register %q: %w", info.Name, err)
	}
	info.Uses = Uses{Reads: slices.Clone(info.Uses.Reads), Provides: slices.Clone(info.Uses.Provides)}
	info.Commands = slices.Clone(info.Commands)
	registered[info.Name] = info
	return nil
}

// UsesOf returns the services a registered group declared; none for a
// name that did not register (a test's stand-in group).
func UsesOf(group string) Uses {
	regMu.Lock()
	defer regMu.Unlock()
	return registered[group].Uses
}

// Linked returns the registered groups by name.
func Linked() map[string]GroupInfo {
	regMu.Lock()
	defer regMu.Unlock()
	return maps.Clone(registered)
}

// LinkedNames lists the registered groups in table order.
func LinkedNames() []string {
	return linkedNames(Linked())
}

func linkedNames(m map[string]GroupInfo) []string {
	var names []string
	for _, g := range groupspec.Groups() {
		if _, ok := m[g.Name]; ok {
			names = append(names, g.Name)
		}
	}
	return names
}

// SettingsOptions fills what internal/config needs to parse the settings
// of the linked groups and recognise those of the others.
func SettingsOptions(linked map[string]GroupInfo) (lk []config.GroupSettings, unlinked []config.UnlinkedGroup, variant string) {
	names := linkedNames(linked)
	for _, g := range groupspec.Groups() {
		if info, ok := linked[g.Name]; ok {
			lk = append(lk, config.GroupSettings{Group: g.Name, Settings: info.Settings, Prefixes: g.SettingPrefixes})
			continue
		}
		unlinked = append(unlinked, config.UnlinkedGroup{Name: g.Name, Prefixes: g.SettingPrefixes, HowToLink: groupspec.HowToLink(g.Name)})
	}
	return lk, unlinked, groupspec.VariantFor(names)
}

// Instantiate builds one fresh instance of each registered group, for one
// service, with the group's settings (config.Config.Group).
func Instantiate(linked map[string]GroupInfo, settings func(group string) config.Values) map[string]groupapi.Feature {
	out := make(map[string]groupapi.Feature, len(linked))
	for name, info := range linked {
		out[name] = info.New(settings(name))
	}
	return out
}
