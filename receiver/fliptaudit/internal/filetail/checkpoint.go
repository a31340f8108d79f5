package filetail

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// Layout of the checkpoints in storage: each file's checkpoint under its
// own slot key, so saving one file writes one small value whatever the
// number of files; the index key holds how many slots exist (storage
// clients cannot list their keys). Slots of forgotten files are deleted
// and reused.
const (
	indexKey      = "files"
	slotKeyPrefix = "file."
	// legacyKey held all checkpoints in one value (version 1); it is read
	// once and replaced by slots.
	legacyKey     = "checkpoints"
	legacyVersion = 1
	indexVersion  = 2
	// loadChunk is how many slots are read in one storage batch.
	loadChunk = 1024
	// slotChunk is how many slots are added at a time.
	slotChunk = 64
)

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

type legacyDoc struct {
	Version int          `json:"version"`
	Files   []checkpoint `json:"files"`
}

type indexDoc struct {
	Version int `json:"version"`
	Slots   int `json:"slots"`
}

// stored is a checkpoint loaded from its slot (-1: from the legacy value).
type stored struct {
	checkpoint
	slot int
}

func (c checkpoint) id() fileID { return fileID{Dev: c.Dev, Ino: c.Ino} }

func (c checkpoint) fingerprint() fingerprint {
	fp := fingerprint{Len: c.FPLen}
	copy(fp.Sum[:], c.FP)
	return fp
}

func (c checkpoint) valid() bool {
	return c.FPLen >= 0 && c.FPLen <= fingerprintSize && len(c.FP) == sha256.Size && c.Offset >= 0 && c.Line >= 0
}

func slotKey(slot int) string { return slotKeyPrefix + strconv.Itoa(slot) }

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

// slots is the allocation of storage slots.
type slots struct {
	n     int   // slots 0..n-1 may be in use
	grown bool  // n changed since the index was written
	free  []int // unused slots below n
}

func (s *slots) take() int {
	if k := len(s.free); k > 0 {
		slot := s.free[k-1]
		s.free = s.free[:k-1]
		return slot
	}
	// Grow by a chunk, so the index is not rewritten for every new file.
	first := s.n
	s.n, s.grown = s.n+slotChunk, true
	for slot := s.n - 1; slot > first; slot-- {
		s.free = append(s.free, slot)
	}
	return first
}

// loadCheckpoints reads the stored checkpoints; a nil client has none.
// legacy reports checkpoints read from the version 1 value, which the
// first save replaces.
func loadCheckpoints(ctx context.Context, client storage.Client) (known map[fileID]stored, alloc slots, legacy bool, err error) {
	known = map[fileID]stored{}
	if client == nil {
		return known, alloc, false, nil
	}
	data, err := client.Get(ctx, indexKey)
	if err != nil {
		return nil, alloc, false, fmt.Errorf("storage: reading checkpoints: %w", err)
	}
	if data == nil {
		return loadLegacy(ctx, client)
	}
	var idx indexDoc
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, alloc, false, fmt.Errorf("storage: checkpoints are corrupt: %w", err)
	}
	if idx.Version != indexVersion {
		return nil, alloc, false, fmt.Errorf("storage: checkpoints have unknown version %d", idx.Version)
	}
	if idx.Slots < 0 {
		return nil, alloc, false, fmt.Errorf("storage: checkpoints are corrupt: %d slots", idx.Slots)
	}
	alloc.n = idx.Slots
	for first := 0; first < idx.Slots; first += loadChunk {
		ops := make([]*storage.Operation, 0, min(loadChunk, idx.Slots-first))
		for slot := first; slot < first+cap(ops); slot++ {
			ops = append(ops, storage.GetOperation(slotKey(slot)))
		}
		if err := client.Batch(ctx, ops...); err != nil {
			return nil, alloc, false, fmt.Errorf("storage: reading checkpoints: %w", err)
		}
		for i, op := range ops {
			slot := first + i
			if op.Value == nil {
				alloc.free = append(alloc.free, slot)
				continue
			}
			var c checkpoint
			if err := json.Unmarshal(op.Value, &c); err != nil || !c.valid() {
				return nil, alloc, false, fmt.Errorf("storage: checkpoint in slot %d is corrupt", slot)
			}
			known[c.id()] = stored{c, slot}
		}
	}
	return known, alloc, false, nil
}

func loadLegacy(ctx context.Context, client storage.Client) (map[fileID]stored, slots, bool, error) {
	known := map[fileID]stored{}
	data, err := client.Get(ctx, legacyKey)
	if err != nil {
		return nil, slots{}, false, fmt.Errorf("storage: reading checkpoints: %w", err)
	}
	if data == nil {
		return known, slots{}, false, nil
	}
	var doc legacyDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, slots{}, false, fmt.Errorf("storage: checkpoints are corrupt: %w", err)
	}
	if doc.Version != legacyVersion {
		return nil, slots{}, false, fmt.Errorf("storage: checkpoints have unknown version %d", doc.Version)
	}
	for _, c := range doc.Files {
		if !c.valid() {
			return nil, slots{}, false, fmt.Errorf("storage: checkpoint of %q is corrupt", c.Path)
		}
		known[c.id()] = stored{c, -1}
	}
	return known, slots{}, true, nil
}

// encode is a file's checkpoint as stored in its slot.
func encode(c checkpoint) []byte {
	data, _ := json.Marshal(c) // plain fields: cannot fail
	return data
}

func encodeIndex(n int) []byte {
	data, _ := json.Marshal(indexDoc{Version: indexVersion, Slots: n})
	return data
}
