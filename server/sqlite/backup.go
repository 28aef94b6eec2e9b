package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Backup writes a consistent copy of the database to the file at path
// (created owner-only; it must not exist yet), while the database stays in
// use: VACUUM INTO reads one snapshot, so writes committed meanwhile are
// simply not in the copy. The copy is a complete database that Open
// accepts.
func (d *DB) Backup(ctx context.Context, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", path, err)
	}
	if _, err := d.db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return errors.Join(d.fail("backup to "+path, err), os.Remove(path))
	}
	return nil
}
