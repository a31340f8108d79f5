package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/logfile"
)

func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, err := logfile.New(logfile.Options{Path: path, Perm: 0o600, Chain: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]byte("{\"a\":1}\n{\"a\":2}\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := run([]string{path}, &out, &out); code != 0 || !strings.HasPrefix(out.String(), "OK   "+path+": 2 lines") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	if err := os.WriteFile(path, []byte("{\"a\":1}\n{\"a\":3}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{path}, &out, &out); code != 1 || !strings.Contains(out.String(), "line 2 does not match") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	if code := run(nil, &out, &out); code != 2 {
		t.Fatalf("no args: exit %d", code)
	}
}
