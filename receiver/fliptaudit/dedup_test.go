package fliptaudit

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"
)

func key(i int) [sha256.Size]byte { return sha256.Sum256([]byte(fmt.Sprint(i))) }

// Entries expire after the window, and memory stays bounded by max.
func TestDedupWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	d := newDedupWindow(10*time.Second, 3)
	d.now = func() time.Time { return now }

	if d.seenRecently(key(1)) {
		t.Fatal("seen before remembered")
	}
	d.remember(key(1))
	now = now.Add(9 * time.Second)
	if !d.seenRecently(key(1)) {
		t.Fatal("forgotten within the window")
	}
	now = now.Add(time.Second)
	if d.seenRecently(key(1)) || d.len() != 0 {
		t.Fatalf("kept past the window (%d entries)", d.len())
	}

	for i := range 100 {
		d.remember(key(i))
		if d.len() > 3 {
			t.Fatalf("%d entries, bound is 3", d.len())
		}
	}
	for i := range 100 {
		if want := i >= 97; d.seenRecently(key(i)) != want {
			t.Errorf("key %d: seen %v, want %v (the newest 3 stay)", i, !want, want)
		}
	}
	// Remembering a key again refreshes its expiry without a second entry.
	d.remember(key(99))
	if d.len() != 3 {
		t.Fatalf("%d entries after a refresh", d.len())
	}
	if len(d.order) != 3 {
		t.Fatalf("queue holds %d keys", len(d.order))
	}
}
