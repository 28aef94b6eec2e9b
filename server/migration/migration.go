// Package migration reads the versioned schema migrations a store embeds:
// files named VERSION_NAME.sql, VERSION a positive integer, each applied
// once, in order of version. Applying them is the store's own business
// (its dialect, its locks); reading and ordering them is shared.
package migration

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// A Step is one migration of the schema.
type Step struct {
	Version int
	Name    string // the file name without extension
	SQL     string
}

// Load returns the *.sql files at the root of fsys as steps, lowest version
// first. A file whose name does not start with a positive version, or two
// with the same version, are errors.
func Load(fsys fs.FS) ([]Step, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var steps []Step
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".sql")
		prefix, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(prefix)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name does not start with a positive version", name)
		}
		text, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		steps = append(steps, Step{Version: v, Name: base, SQL: string(text)})
	}
	slices.SortFunc(steps, func(a, b Step) int { return a.Version - b.Version })
	for i := 1; i < len(steps); i++ {
		if steps[i].Version == steps[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s have the same version", steps[i-1].Name, steps[i].Name)
		}
	}
	return steps, nil
}
