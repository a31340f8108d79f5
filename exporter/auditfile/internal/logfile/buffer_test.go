package logfile

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func appending(b []byte) func([]byte) []byte {
	return func(dst []byte) []byte { return append(dst, b...) }
}

// Buffer accepts what Write would have kept in memory, and nothing else,
// without waiting for a write under way: the file ends up the same, in the
// order of acceptance.
func TestBufferAcceptsOnlyWhatNeedsNoIO(t *testing.T) {
	dir := t.TempDir()
	size := 4 * len(line(0))
	opts := Options{Path: filepath.Join(dir, "a.log"), Sync: SyncNever, FlushInterval: time.Hour, BufferBytes: size}
	w, _ := open(t, opts)
	require.True(t, w.Buffer(len(line(0)), appending(line(0))))
	w.mu.Lock() // a write under way
	require.True(t, w.Buffer(len(line(1)), appending(line(1))), "accepted while the file is being written")
	w.mu.Unlock()
	w.bmu.Lock() // a flush swapping the buffers
	assert.False(t, w.Buffer(len(line(2)), appending(line(2))))
	w.bmu.Unlock()
	big := []byte(strings.Repeat(string(line(2)), 5))
	assert.False(t, w.Buffer(len(big), appending(big)), "larger than the buffer: Write must write it")
	require.NoError(t, w.Write(big))
	require.True(t, w.Buffer(len(line(3)), appending(line(3))))
	require.NoError(t, w.Close())
	assert.False(t, w.Buffer(len(line(4)), appending(line(4))), "closed")
	assert.Equal(t, string(line(0))+string(line(1))+string(big)+string(line(3)), read(t, opts.Path))

	// Without a memory buffer every batch is a write: Buffer takes none.
	for _, o := range []Options{
		{Path: filepath.Join(dir, "b.log"), Sync: SyncEveryBatch, FlushInterval: time.Hour},
		{Path: filepath.Join(dir, "c.log"), Sync: SyncNever},
	} {
		w, _ := open(t, o)
		assert.False(t, w.Buffer(len(line(0)), appending(line(0))), o)
	}
}

// Half a buffer is written in the background, long before flush_interval,
// while later batches fill the spare buffer; nothing is lost or reordered.
func TestHalfBufferIsWrittenInTheBackground(t *testing.T) {
	size := 10 * len(line(0))
	opts := Options{Path: filepath.Join(t.TempDir(), "a.log"), Sync: SyncNever, FlushInterval: time.Hour, BufferBytes: size}
	w, _ := open(t, opts)
	var want strings.Builder
	for i := range 5 {
		require.True(t, w.Buffer(len(line(i)), appending(line(i))))
		want.Write(line(i))
	}
	first := want.String()
	require.Eventually(t, func() bool { return read(t, opts.Path) == first }, 10*time.Second, 5*time.Millisecond)
	for i := 5; i < 200; i++ { // through Write and Buffer, many buffers' worth
		if i%2 == 0 {
			require.NoError(t, w.Write(line(i)))
		} else if !w.Buffer(len(line(i)), appending(line(i))) {
			require.NoError(t, w.Write(line(i)))
		}
		want.Write(line(i))
	}
	require.NoError(t, w.Close())
	assert.Equal(t, want.String(), read(t, opts.Path))
}

// A flush that fails keeps its data, in front of what is accepted after it.
func TestFailedFlushKeepsItsDataFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.log")
	w, c := open(t, Options{Path: path, Sync: SyncNever, FlushInterval: time.Hour, BufferBytes: 1000})
	require.NoError(t, w.Write(line(0)))
	w.mu.Lock()
	require.NoError(t, w.f.Close()) // the next write fails
	w.mu.Unlock()
	require.Error(t, w.Flush())
	require.True(t, w.Buffer(len(line(1)), appending(line(1))))
	require.NoError(t, w.Write(line(2)))
	require.NoError(t, w.Close())
	assert.Equal(t, string(line(0))+string(line(1))+string(line(2)), read(t, path))
	assert.Equal(t, 1, c.errors)
}
