package auditevent

// interned returns the constant string equal to b when b is one of the keys
// or enumerated values of Flipt's audit events, so that the decoder need not
// allocate a copy of each (every event repeats them). ok is false for any
// other b; the switch on string(b) itself does not allocate.
func interned(b []byte) (s string, ok bool) {
	switch string(b) {
	// The event's own fields and metadata.
	case "version":
		return "version", true
	case "type":
		return "type", true
	case "action":
		return "action", true
	case "metadata":
		return "metadata", true
	case "actor":
		return "actor", true
	case "authentication":
		return "authentication", true
	case "ip":
		return "ip", true
	case "email":
		return "email", true
	case "picture":
		return "picture", true
	case "payload":
		return "payload", true
	case "timestamp":
		return "timestamp", true
	case "status":
		return "status", true
	// Payload keys of Flipt's resources.
	case "namespace_key":
		return "namespace_key", true
	case "id":
		return "id", true
	case "key":
		return "key", true
	case "name":
		return "name", true
	case "description":
		return "description", true
	case "flag_key":
		return "flag_key", true
	case "segment_key":
		return "segment_key", true
	case "segment_keys":
		return "segment_keys", true
	case "value":
		return "value", true
	case "rank":
		return "rank", true
	case "rule_id":
		return "rule_id", true
	case "variant_id":
		return "variant_id", true
	case "enabled":
		return "enabled", true
	case "operator":
		return "operator", true
	case "property":
		return "property", true
	case "rollout":
		return "rollout", true
	case "distributions":
		return "distributions", true
	case "attachment":
		return "attachment", true
	case "constraints":
		return "constraints", true
	case "match_type":
		return "match_type", true
	case "threshold":
		return "threshold", true
	case "percentage":
		return "percentage", true
	case "protected":
		return "protected", true
	case "segment_operator":
		return "segment_operator", true
	case "default_variant":
		return "default_variant", true
	case "segment":
		return "segment", true
	// Values: event version, resource types, actions, statuses, the
	// authentication methods and the default namespace.
	case "0.2":
		return "0.2", true
	case "namespace":
		return "namespace", true
	case "flag":
		return "flag", true
	case "variant":
		return "variant", true
	case "constraint":
		return "constraint", true
	case "rule":
		return "rule", true
	case "distribution":
		return "distribution", true
	case "token":
		return "token", true
	case "created":
		return "created", true
	case "updated":
		return "updated", true
	case "deleted":
		return "deleted", true
	case "success":
		return "success", true
	case "denied":
		return "denied", true
	case "default":
		return "default", true
	}
	return "", false
}
