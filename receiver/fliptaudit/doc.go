//go:generate go tool -modfile=../../tools/go.mod mdatagen metadata.yaml

// Package fliptaudit turns Flipt's audit trail into OTel log records, from
// all three places Flipt ships it: the signed webhook and the audit log file
// (the flipt_audit receiver) and the span events inside its traces (the
// flipt_audit traces-to-logs connector). The mapping is internal/auditevent's.
package fliptaudit // import "github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit"
