package logfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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
		if _, hashes, valid, err := readChain(bytes.NewReader(chainFile)); err == nil {
			if valid > int64(len(chainFile)) || len(hashes) > len(chainFile)/(2*sha256.Size) {
				t.Fatalf("parsed %d hashes, %d valid bytes from %d bytes", len(hashes), valid, len(chainFile))
			}
		}

		// Chain the log from a zero start, write the chain file, read it
		// back and verify: the log must match its own chain.
		var prev [sha256.Size]byte
		built := walk(bytes.NewReader(log), prev, nil)
		if built.err != nil {
			t.Fatal(built.err)
		}
		var file bytes.Buffer
		file.WriteString(chainHeader + hex.EncodeToString(prev[:]) + "\n")
		for _, h := range built.extra {
			file.WriteString(hex.EncodeToString(h[:]) + "\n")
		}
		p, hashes, _, err := readChain(&file)
		if err != nil {
			t.Fatalf("own chain does not parse: %v", err)
		}
		if res := walk(bytes.NewReader(log), p, hashes); res.err != nil || len(res.extra) != 0 || res.lines != len(built.extra) {
			t.Fatalf("log does not verify against its own chain: %+v", res)
		}
	})
}
