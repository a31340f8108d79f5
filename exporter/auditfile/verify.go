package auditfile

import (
	"errors"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/logfile"
)

// ChainPath is the hash chain file kept beside the audit file at path when
// hash_chain is on; a rotated file's chain is renamed with it (and stays
// uncompressed when the file is gzipped).
func ChainPath(path string) string { return logfile.ChainPath(path) }

// VerifyChain checks that the audit file at logPath (gzip-compressed when its
// name ends in .gz) is exactly the file its hash chain at chainPath was
// written for: no line changed, inserted, removed or appended.
func VerifyChain(logPath, chainPath string) error {
	_, _, err := logfile.Verify(logPath, chainPath)
	return err
}

// VerifyRotated checks the audit file at path with all its rotated segments
// (the exporter's own, and those logrotate made), each against its chain and
// each linked to the one before it. The error lists every failure found;
// notes (such as the oldest segment's prev, which retention makes
// uncheckable) are not errors.
func VerifyRotated(path string) error {
	findings, err := logfile.VerifyPath(path)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range findings {
		if f.Level == "FAIL" {
			errs = append(errs, errors.New(f.Path+": "+f.Msg))
		}
	}
	return errors.Join(errs...)
}
