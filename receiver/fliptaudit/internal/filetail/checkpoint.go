package filetail

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// checkpointKey holds all checkpoints in one value, so one write replaces
// them together and files forgotten by the tailer leave nothing behind.
const checkpointKey = "checkpoints"

// checkpointVersion changes when the stored layout does.
const checkpointVersion = 1

// checkpoint is where reading of one file stands: the bytes before Offset
// (Line lines) were accepted by the consumer, or skipped.
type checkpoint struct {
	Path   string `json:"path"`
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	FPLen  int64  `json:"fp_len"`
	FP     []byte `json:"fp"`
	Offset int64  `json:"offset"`
	Line   int64  `json:"line"`
}

type checkpointDoc struct {
	Version int          `json:"version"`
	Files   []checkpoint `json:"files"`
}

func (c checkpoint) id() fileID { return fileID{Dev: c.Dev, Ino: c.Ino} }

func (c checkpoint) fingerprint() fingerprint {
	fp := fingerprint{Len: c.FPLen}
	copy(fp.Sum[:], c.FP)
	return fp
}

// openStorage gets a storage client from the extension named by id; a nil
// id means no checkpoints and a nil client.
func openStorage(ctx context.Context, host component.Host, id *component.ID, owner component.ID) (storage.Client, error) {
	if id == nil {
		return nil, nil
	}
	comp, ok := host.GetExtensions()[*id]
	if !ok {
		return nil, fmt.Errorf("storage: extension %q not found (is it configured and listed under service::extensions?)", id)
	}
	ext, ok := comp.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not a storage extension", id)
	}
	client, err := ext.GetClient(ctx, component.KindReceiver, owner, "")
	if err != nil {
		return nil, fmt.Errorf("storage: extension %q: %w", id, err)
	}
	return client, nil
}

// loadCheckpoints reads the stored checkpoints; a nil client has none.
func loadCheckpoints(ctx context.Context, client storage.Client) (map[fileID]checkpoint, error) {
	out := map[fileID]checkpoint{}
	if client == nil {
		return out, nil
	}
	data, err := client.Get(ctx, checkpointKey)
	if err != nil {
		return nil, fmt.Errorf("storage: reading checkpoints: %w", err)
	}
	if data == nil {
		return out, nil
	}
	var doc checkpointDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("storage: checkpoints are corrupt: %w", err)
	}
	if doc.Version != checkpointVersion {
		return nil, fmt.Errorf("storage: checkpoints have unknown version %d", doc.Version)
	}
	for _, c := range doc.Files {
		if c.FPLen < 0 || c.FPLen > fingerprintSize || len(c.FP) != sha256.Size || c.Offset < 0 || c.Line < 0 {
			return nil, fmt.Errorf("storage: checkpoint of %q is corrupt", c.Path)
		}
		out[c.id()] = c
	}
	return out, nil
}

// saveCheckpoints replaces the stored checkpoints; a nil client keeps none.
func saveCheckpoints(ctx context.Context, client storage.Client, files []checkpoint) error {
	if client == nil {
		return nil
	}
	data, err := json.Marshal(checkpointDoc{Version: checkpointVersion, Files: files})
	if err != nil {
		return err
	}
	return client.Set(ctx, checkpointKey, data)
}
