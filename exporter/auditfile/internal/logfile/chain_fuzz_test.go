package logfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
)

// FuzzChain feeds arbitrary chain files and logs to the verifier's
// parsers: they must never panic, and a chain built for any log must
// verify against that log, while a chain file that parses keeps hashes of
// the declared length.
func FuzzChain(f *testing.F) {
	f.Add([]byte(chainHeader+hex.EncodeToString(make([]byte, sha256.Size))+"\n"), []byte("{\"a\":1}\n{\"b\":2}\n"))
	f.Add([]byte("garbage"), []byte("no newline"))
	f.Add([]byte(chainHeader+"zz\n"), []byte("\n\n"))
	f.Fuzz(func(t *testing.T, chainFile, log []byte) {
		if d, err := readChain(bytes.NewReader(chainFile)); err == nil {
			if d.valid > int64(len(chainFile)) || len(d.hashes) > len(chainFile)/(2*sha256.Size) || d.intentAt > len(d.hashes) {
				t.Fatalf("parsed %d hashes, %d valid bytes from %d bytes", len(d.hashes), d.valid, len(chainFile))
			}
		}

		// Chain the log from a zero start, write the chain file, read it
		// back and verify: the log must match its own chain.
		var prev [sha256.Size]byte
		built := walk(bytes.NewReader(log), prev, nil, 0)
		if built.err != nil {
			t.Fatal(built.err)
		}
		var file bytes.Buffer
		file.WriteString(chainHeader + hex.EncodeToString(prev[:]) + "\n")
		fmt.Fprintf(&file, "+%d\n", len(log))
		for _, h := range built.extra {
			file.WriteString(hex.EncodeToString(h[:]) + "\n")
		}
		d, err := readChain(&file)
		if err != nil {
			t.Fatalf("own chain does not parse: %v", err)
		}
		if d.intent != int64(len(log)) || d.intentAt != 0 {
			t.Fatalf("intent +%d read as %d at %d", len(log), d.intent, d.intentAt)
		}
		res := walk(bytes.NewReader(log), d.prev, d.hashes, d.intentAt)
		if res.err != nil || len(res.extra) != 0 || res.lines != len(built.extra) || res.size != int64(len(log)) {
			t.Fatalf("log does not verify against its own chain: %+v", res)
		}
		// Without its last line's hash the log is explained by the intent,
		// never by a smaller one.
		if n := len(d.hashes); n > 0 {
			d.hashes = d.hashes[:n-1]
			res := walk(bytes.NewReader(log), d.prev, d.hashes, d.intentAt)
			if !explained(d, res, false) {
				t.Fatalf("a crash before the last hash is not explained: %+v", res)
			}
			if d.intent = res.size - res.markOff - 1; explained(d, res, false) {
				t.Fatalf("an intent one byte short explains the tail: %+v", res)
			}
		}
	})
}
