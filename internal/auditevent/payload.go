package auditevent

import "go.opentelemetry.io/collector/pdata/pcommon"

// DecodePayloadValue decodes data, exactly one JSON value found at the top
// level of an event's payload, into dst with object keys in byte order: the
// shape Flipt's sinks give a payload after their JSON round trip. Formats
// that carry nested payload values as JSON text (Flipt's Avro records) read
// them back through here, under the same limits as any other event.
func (l Limits) DecodePayloadValue(data []byte, dst pcommon.Value) error {
	l = l.orDefault()
	const depth = depthPayload + 1 // event > payload > value
	s := newScanner(data, l)
	if err := s.oneValue(depth); err != nil {
		return err
	}
	d := decoder{data: data, sortKeys: true, lim: l, facts: s.facts}
	return d.oneValue(dst, depth)
}
