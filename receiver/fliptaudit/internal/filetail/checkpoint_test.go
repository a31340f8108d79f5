package filetail

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// Checkpoints saved in the version 1 layout (one value for all files) are
// resumed from, then replaced by one value per file.
func TestVersion1CheckpointsAreResumedAndReplaced(t *testing.T) {
	_, want := captured(t)
	content := fliptcapture.AuditLog(t)
	_, path := newLog(t, content)
	st := newFileStorage(t)
	h := host{storageID: st}

	f, err := os.Open(path)
	require.NoError(t, err)
	fi, err := f.Stat()
	require.NoError(t, err)
	fp, err := readFingerprint(f, fi.Size())
	require.NoError(t, err)
	require.NoError(t, f.Close())
	id := idOf(path, fi)
	offset := int64(len(joinLines(fliptcapture.Lines(t, "audit.log")[:20]...)))
	old, err := json.Marshal(legacyDoc{Version: 1, Files: []checkpoint{{
		Path: path, Dev: id.Dev, Ino: id.Ino, FPLen: fp.Len, FP: fp.Sum[:], Offset: offset, Line: 20,
	}}})
	require.NoError(t, err)
	client, err := st.GetClient(context.Background(), component.KindReceiver, receiverID, "")
	require.NoError(t, err)
	require.NoError(t, client.Set(context.Background(), legacyKey, old))
	require.NoError(t, client.Close(context.Background()))

	r := start(t, Config{Include: []string{path}, Storage: &storageID}, h, nil)
	r.waitRecords(t, 33)
	r.waitPolls(t, 2)
	assert.Equal(t, want[20:], r.sink.lines())
	r.stop(t)

	client, err = st.GetClient(context.Background(), component.KindReceiver, receiverID, "")
	require.NoError(t, err)
	defer client.Close(context.Background())
	legacy, err := client.Get(context.Background(), legacyKey)
	require.NoError(t, err)
	assert.Nil(t, legacy, "the version 1 value is deleted")
	known, alloc, wasLegacy, err := loadCheckpoints(context.Background(), client)
	require.NoError(t, err)
	assert.False(t, wasLegacy)
	assert.Equal(t, slotChunk, alloc.n)
	require.Contains(t, known, id)
	assert.Equal(t, int64(len(content)), known[id].Offset)
	assert.Equal(t, int64(53), known[id].Line)
}

// A file forgotten after rotation has its value deleted, and its slot is
// reused by the next new file.
func TestForgottenFileFreesItsSlot(t *testing.T) {
	lines, _ := captured(t)
	dir, path := newLog(t, joinLines(lines[0]))
	spy := &spyStorage{Extension: newFileStorage(t)}
	r := start(t, Config{Include: []string{path}, Storage: &storageID}, host{storageID: spy}, nil,
		func(tl *Tailer) { tl.forgetAfter = 0 })
	r.waitRecords(t, 1)
	require.NoError(t, os.Rename(path, dir+"/gone.log"))
	eventually(t, func() bool {
		offsets, _ := spy.offsets()
		return len(offsets) == 0
	}, "the checkpoint of the forgotten file deleted")
	require.NoError(t, os.WriteFile(path, joinLines(lines[1]), 0o600))
	r.waitRecords(t, 2)
	eventually(t, func() bool {
		offsets, _ := spy.offsets()
		return offsets[path] == int64(len(lines[1])+1)
	}, "the new file's checkpoint")
	spy.mu.Lock()
	defer spy.mu.Unlock()
	assert.Len(t, spy.saved, 1)
	assert.Contains(t, spy.saved, slotKey(0), "slot 0 reused")
}

func TestCorruptCheckpointIsAnError(t *testing.T) {
	st := newFileStorage(t)
	client, err := st.GetClient(context.Background(), component.KindReceiver, receiverID, "")
	require.NoError(t, err)
	require.NoError(t, client.Set(context.Background(), indexKey, encodeIndex(2)))
	require.NoError(t, client.Set(context.Background(), slotKey(1), []byte(`{"fp":"AA=="}`)))
	require.NoError(t, client.Close(context.Background()))

	cfg := NewDefaultConfig()
	cfg.Include, cfg.Storage = []string{t.TempDir() + "/*.log"}, &storageID
	tl := New(&cfg, componenttest.NewNopTelemetrySettings(), receiverID, nil, nil)
	require.ErrorContains(t, tl.Start(t.Context(), host{storageID: st}), "storage: checkpoint in slot 1 is corrupt")
}
