// Command auditfile-verify checks audit files written by the audit_file
// exporter with hash_chain: true against their hash chains.
//
//	auditfile-verify FILE...
//
// Each FILE is an audit file, active or rotated, plain or .gz; its chain is
// found beside it (FILE without .gz, plus .sha256chain). It prints one line
// per file and exits 1 if any file fails.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/logfile"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: auditfile-verify FILE...  (each FILE is checked against FILE[.gz removed].sha256chain)")
		return 2
	}
	status := 0
	for _, path := range args {
		chain := logfile.ChainPath(strings.TrimSuffix(path, ".gz"))
		lines, last, err := logfile.Verify(path, chain)
		if err != nil {
			fmt.Fprintf(stdout, "FAIL %s: %v\n", path, err)
			status = 1
			continue
		}
		fmt.Fprintf(stdout, "OK   %s: %d lines, last hash %s\n", path, lines, last)
	}
	return status
}
