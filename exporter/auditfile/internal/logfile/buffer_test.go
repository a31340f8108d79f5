package logfile

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Buffer accepts what Write would have kept in memory, and nothing else:
// the file ends up the same either way.
func TestBufferAcceptsOnlyWhatNeedsNoIO(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Path: filepath.Join(dir, "a.log"), Sync: SyncNever, FlushInterval: time.Hour, BufferBytes: 3 * len(line(0))}
	w, _ := open(t, opts)
	one := func(i int) func([]byte) []byte {
		return func(dst []byte) []byte { return append(dst, line(i)...) }
	}
	require.True(t, w.Buffer(len(line(0)), one(0)))
	require.True(t, w.Buffer(len(line(1)), one(1)))
	w.mu.Lock() // a flush under way
	assert.False(t, w.Buffer(len(line(2)), one(2)))
	w.mu.Unlock()
	require.True(t, w.Buffer(len(line(2)), one(2)))
	assert.False(t, w.Buffer(len(line(3)), one(3)), "the buffer is full: Write must flush first")
	assert.Empty(t, read(t, opts.Path), "nothing reached the file yet")
	require.NoError(t, w.Write(line(3)))
	require.NoError(t, w.Close())
	assert.False(t, w.Buffer(len(line(4)), one(4)), "closed")
	assert.Equal(t, string(line(0))+string(line(1))+string(line(2))+string(line(3)), read(t, opts.Path))

	// Without a memory buffer every batch is a write: Buffer takes none.
	for _, o := range []Options{
		{Path: filepath.Join(dir, "b.log"), Sync: SyncEveryBatch, FlushInterval: time.Hour},
		{Path: filepath.Join(dir, "c.log"), Sync: SyncNever},
	} {
		w, _ := open(t, o)
		assert.False(t, w.Buffer(len(line(0)), one(0)), o)
	}
}
