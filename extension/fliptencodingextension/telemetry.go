package fliptencodingextension

import "go.opentelemetry.io/otel/attribute"

// encodingAttr labels the extension's counters with its encoding, so two
// instances (one per topic, say) are told apart.
func encodingAttr(encoding string) attribute.KeyValue {
	return attribute.String("encoding", encoding)
}
