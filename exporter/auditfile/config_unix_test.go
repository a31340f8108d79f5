//go:build unix

package auditfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Validate refuses a path that exists and is not a regular file.
func TestValidateRefusesNonRegularPath(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	require.NoError(t, os.WriteFile(target, nil, 0o600))
	require.NoError(t, os.Symlink(target, filepath.Join(dir, "link")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	for name, want := range map[string]string{
		"link":    "is a symbolic link",
		"fifo":    "is a device, FIFO or socket",
		".":       "is a directory",
		"missing": "",
		"target":  "",
	} {
		cfg := NewFactory().CreateDefaultConfig().(*Config)
		cfg.Path = filepath.Join(dir, name)
		err := cfg.Validate()
		if want == "" {
			assert.NoError(t, err, name)
			continue
		}
		assert.ErrorContains(t, err, "path: "+cfg.Path+" "+want, name)
	}
}
