// Command auditfile-verify checks audit files written by the audit_file
// exporter with hash_chain: true against their hash chains, and the links
// between rotated segments.
//
//	auditfile-verify -path /var/log/flipt/audit.log
//	auditfile-verify FILE...
//
// With -path it finds the rotated set of that audit file by itself: the
// exporter's own rotated files, the files logrotate made of it (matched to
// the chains the exporter set aside, by content), and the active file. With
// FILEs it checks those, in the order given (oldest first): each is an audit
// file, plain or .gz, with its chain beside it (FILE without .gz, plus
// .sha256chain), or a chain file alone. Every segment's prev must be the
// last hash of the one before it, so a missing, reordered or replaced
// segment is reported. It prints one line per finding (OK, NOTE, FAIL) and
// exits 1 if any is a FAIL, 2 on a usage error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/logfile"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("auditfile-verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("path", "", "the audit file's `path` (as configured): verify it and all its rotated segments")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: auditfile-verify -path PATH | auditfile-verify FILE...  (FILEs oldest first)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var findings []logfile.Finding
	switch {
	case *path != "" && fs.NArg() == 0:
		var err error
		if findings, err = logfile.VerifyPath(*path); err != nil {
			fmt.Fprintln(stderr, "auditfile-verify:", err)
			return 2
		}
	case *path == "" && fs.NArg() > 0:
		segs := make([]logfile.Segment, fs.NArg())
		for i, a := range fs.Args() {
			segs[i] = logfile.SegmentOf(a)
		}
		findings = logfile.VerifySegments(segs)
	default:
		fs.Usage()
		return 2
	}
	for _, f := range findings {
		fmt.Fprintln(stdout, f)
	}
	if logfile.Failed(findings) {
		return 1
	}
	return 0
}
