// Package features links the optional groups into a binary. Each
// link_<group>.go file carries the group's build tag and blank-imports the
// group package, whose init registers it with internal/capability. The group
// packages themselves carry no tag, so go vet and go test always cover them.
package features

// Every binary knows every group, linked or not, from its description.
import _ "github.com/advanced-backend/advanced-backend/features/groupdesc"
