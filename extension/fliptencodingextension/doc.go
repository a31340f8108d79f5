//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml

// Package fliptencodingextension is the flipt_encoding extension: Flipt's
// audit event formats as a plog.Unmarshaler and plog.Marshaler, so any
// receiver or exporter that takes `encoding:` (contrib's kafka receiver and
// exporter among them) speaks Flipt's audit trail. Every event decodes into
// the log record internal/auditevent makes from Flipt's webhook, which
// audit_file writes as Flipt's own audit.log line.
package fliptencodingextension
