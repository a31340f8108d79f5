package fliptencodingextension

import (
	"errors"
	"fmt"
)

// Encodings of the values read and written.
const (
	// EncodingProtobuf is Flipt's Kafka sink with encoding: protobuf, a
	// flipt.audit.Event message.
	EncodingProtobuf = "protobuf"
	// EncodingAvro is Flipt's Kafka sink with encoding: avro, Avro binary of
	// Flipt's event.avsc.
	EncodingAvro = "avro"
	// EncodingJSON is Flipt's audit JSON: one event, an array, or lines of
	// events (Flipt's log sink and webhook bodies); the marshaler writes
	// Flipt's log sink lines.
	EncodingJSON = "json"
)

// Config is the flipt_encoding extension's configuration.
type Config struct {
	// Encoding is the format of each value: protobuf (Flipt's default for
	// its Kafka sink), avro or json. A schema registry's 5-byte header in
	// front of a value is recognised and skipped in every encoding.
	Encoding string `mapstructure:"encoding"`

	_ struct{}
}

// Validate names the field at fault.
func (c *Config) Validate() error {
	switch c.Encoding {
	case EncodingProtobuf, EncodingAvro, EncodingJSON:
		return nil
	case "":
		return errors.New("encoding: must be set (protobuf, avro or json)")
	}
	return fmt.Errorf("encoding: unknown value %q (want protobuf, avro or json)", c.Encoding)
}
