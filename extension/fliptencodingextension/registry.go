package fliptencodingextension

// registryHeaderLen is a schema registry's wire header: magic byte 0, then
// the schema id as a big-endian uint32.
const registryHeaderLen = 5

// stripRegistryHeader returns the value after a schema registry header, or
// data as it is. The test is unambiguous for Flipt's values: a protobuf
// message never starts with 0 (field number 0 is invalid), an Avro event
// would start with 0 only for an empty version (refused as no event), and
// JSON never does. Flipt writes no Confluent message-index bytes after the
// header, even for protobuf, so exactly 5 bytes go.
func stripRegistryHeader(data []byte) []byte {
	if len(data) >= registryHeaderLen && data[0] == 0 {
		return data[registryHeaderLen:]
	}
	return data
}
