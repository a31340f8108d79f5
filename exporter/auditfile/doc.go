//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml

// Package auditfile is the audit_file exporter: it writes the log records
// made by flipt_audit to a file, each audit event as the exact line Flipt's
// own log sink would have written, with size and age rotation, retention,
// fsync policies, crash repair and an optional tamper-evident hash chain.
package auditfile
