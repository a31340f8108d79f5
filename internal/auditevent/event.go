// Package auditevent is the one mapping between Flipt audit events and OTel
// log records, shared by the flipt_audit receiver/connector (which decodes
// events into records) and the audit_file exporter (which encodes records
// back into Flipt's bytes).
//
// A record's body is a map holding the event whole: top-level keys in the
// order received (unknown extra fields included), metadata and payload as
// nested maps with their key order, numbers as ints or doubles and the
// timestamp as the original string. Encoding that body in one of Flipt's
// formats reproduces Flipt's bytes exactly.
package auditevent

// EventName is the LogRecord event name of every audit record.
const EventName = "flipt.audit"

// Top-level keys of an audit event.
const (
	KeyVersion   = "version"
	KeyType      = "type"
	KeyAction    = "action"
	KeyStatus    = "status"
	KeyMetadata  = "metadata"
	KeyPayload   = "payload"
	KeyTimestamp = "timestamp"
	KeyActor     = "actor"
)

// Attributes set on every audit record, for querying. The body stays the
// source of truth.
const (
	AttrVersion        = "flipt.event.version"
	AttrType           = "flipt.event.type"
	AttrAction         = "flipt.event.action"
	AttrStatus         = "flipt.event.status"
	AttrAuthentication = "flipt.event.actor.authentication"
	AttrActorIP        = "flipt.event.actor.ip"
	AttrActorEmail     = "flipt.event.actor.email"
	AttrActorName      = "flipt.event.actor.name"
	AttrActorPicture   = "flipt.event.actor.picture"
	// AttrClientAddress is the first address of the actor's ip, which may be
	// a comma-joined X-Forwarded-For chain.
	AttrClientAddress = "client.address"
	// AttrSource says how the event reached the collector (Source* values).
	AttrSource = "flipt.audit.source"
)

// Values of AttrSource.
const (
	SourceWebhook = "webhook"
	SourceFile    = "file"
	SourceTrace   = "trace"
)

// StatusDenied marks an authorization denial; such records get severity WARN.
const StatusDenied = "denied"

// versionLegacy is the event version written by Flipt before v1.44: no
// status, and every sink wrote it with encoding/json (HTML-escaped, webhook
// key order).
const versionLegacy = "0.1"
