package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/logfile"
)

func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, err := logfile.New(logfile.Options{Path: path, Perm: 0o600, Chain: true})
	require.NoError(t, err)
	require.NoError(t, w.Write([]byte("{\"a\":1}\n{\"a\":2}\n")))
	require.NoError(t, w.Close())
	var out bytes.Buffer
	code := run([]string{path}, &out, &out)
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out.String(), "OK   "+path+": 2 lines"), out.String())

	require.NoError(t, os.WriteFile(path, []byte("{\"a\":1}\n{\"a\":3}\n"), 0o600))
	out.Reset()
	assert.Equal(t, 1, run([]string{path}, &out, &out))
	assert.Contains(t, out.String(), "FAIL "+path+": line 2 does not match")

	for _, args := range [][]string{nil, {"-path", path, path}, {"-nope"}} {
		out.Reset()
		assert.Equal(t, 2, run(args, &out, &out), "%v", args)
		assert.Contains(t, out.String(), "usage: auditfile-verify")
	}
}

// -path finds the rotated set by itself and checks the links: deleting a
// middle (compressed) segment fails the segment after it, naming both.
func TestRunPathFindsTheRotatedSet(t *testing.T) {
	var mu sync.Mutex // the clock is read by the writer and its maintenance
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	w, err := logfile.New(logfile.Options{Path: path, Perm: 0o600, Chain: true, MaxBytes: 10, Compress: true, Now: clock})
	require.NoError(t, err)
	for range 4 {
		require.NoError(t, w.Write([]byte("{\"a\":1}\n")))
	}
	require.NoError(t, w.Close())
	require.NoError(t, w.Maintain())
	bs, err := w.Backups()
	require.NoError(t, err)
	require.Len(t, bs, 3)

	var out bytes.Buffer
	require.Equal(t, 0, run([]string{"-path", path}, &out, &out), out.String())
	assert.Equal(t, 4, strings.Count(out.String(), "OK   "), out.String())

	require.NoError(t, os.Remove(bs[1]))
	require.NoError(t, os.Remove(logLessGz(bs[1])+".sha256chain"))
	out.Reset()
	assert.Equal(t, 1, run([]string{"-path", path}, &out, &out))
	assert.Contains(t, out.String(), "FAIL "+bs[0]+": segment "+bs[0]+": prev does not match the last hash of segment "+bs[2])
}

func logLessGz(p string) string { return strings.TrimSuffix(p, ".gz") }
