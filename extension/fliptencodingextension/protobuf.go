package fliptencodingextension

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/protobuf/encoding/protowire"
)

// decodeProtobuf reads a flipt.audit.Event (rpc/flipt/audit/event.proto)
// into lr's body. Numbers arrive as google.protobuf.Struct doubles, which
// the log sink writes the same way (its payload is a JSON round trip into
// float64); the timestamp keeps whole seconds, written in UTC.
func decodeProtobuf(b []byte, lr plog.LogRecord) error {
	var ev event
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		var err error
		switch num {
		case 1:
			ev.version, err = str(typ, v, "version")
		case 2:
			ev.typ, err = str(typ, v, "type")
		case 3:
			ev.action, err = str(typ, v, "action")
		case 4:
			err = ev.protoMetadata(typ, v)
		case 5:
			if typ != protowire.BytesType {
				return errors.New("payload: wrong wire type")
			}
			ev.payload, ev.hasPayload = pcommon.NewValueEmpty(), true
			err = protoStruct(v, ev.payload.SetEmptyMap(), 1)
		case 6:
			ev.timestamp, err = protoTimestamp(typ, v)
			ev.hasTimestamp = true
		case 7:
			ev.status, err = str(typ, v, "status")
			ev.hasStatus = true
		}
		return err
	})
	if err != nil {
		return err
	}
	ev.build(lr)
	return nil
}

func (ev *event) protoMetadata(typ protowire.Type, v []byte) error {
	if typ != protowire.BytesType {
		return errors.New("metadata: wrong wire type")
	}
	return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 1 {
			return nil
		}
		if typ != protowire.BytesType {
			return errors.New("metadata.actor: wrong wire type")
		}
		err := fields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
			if num < 1 || int(num) > len(actorKeys) {
				return nil
			}
			s, err := str(typ, v, "metadata.actor."+actorKeys[num-1])
			ev.actor[num-1] = s
			return err
		})
		// Flipt writes an empty Actor for an event without one, so an
		// actor with every field empty is no actor.
		ev.hasActor = ev.actor != [5]string{}
		return err
	})
}

// protoTimestamp formats a google.protobuf.Timestamp as Flipt's log sink
// writes its timestamp when Flipt runs in UTC: the zone offset of Flipt's
// string is not in the record.
func protoTimestamp(typ protowire.Type, v []byte) (string, error) {
	if typ != protowire.BytesType {
		return "", errors.New("timestamp: wrong wire type")
	}
	var sec, nanos int64
	err := fields(v, func(num protowire.Number, typ protowire.Type, _ []byte, n uint64) error {
		if typ != protowire.VarintType {
			return nil
		}
		switch num {
		case 1:
			sec = int64(n)
		case 2:
			nanos = int64(int32(n))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("timestamp: %w", err)
	}
	if nanos < 0 || nanos >= 1e9 {
		return "", fmt.Errorf("timestamp: nanos %d out of range", nanos)
	}
	return time.Unix(sec, nanos).UTC().Format(time.RFC3339Nano), nil
}

// protoStruct reads a google.protobuf.Struct into dst, keys sorted.
func protoStruct(b []byte, dst pcommon.Map, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	var members []member
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 1 {
			return nil
		}
		if typ != protowire.BytesType {
			return errors.New("payload: struct entry has the wrong wire type")
		}
		m := member{val: pcommon.NewValueEmpty()}
		err := fields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
			var err error
			switch num {
			case 1:
				m.key, err = str(typ, v, "payload key")
			case 2:
				if typ != protowire.BytesType {
					return errors.New("payload: value has the wrong wire type")
				}
				m.val = pcommon.NewValueEmpty()
				err = protoValue(v, m.val, depth)
			}
			return err
		})
		members = append(members, m)
		return err
	})
	if err != nil {
		return err
	}
	sortedInto(dst, members)
	return nil
}

// protoValue reads a google.protobuf.Value into dst; a Value with no kind
// stays empty, which is written as null, as protojson reads it.
func protoValue(b []byte, dst pcommon.Value, depth int) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			// null_value: dst stays empty.
		case num == 2 && typ == protowire.Fixed64Type:
			dst.SetDouble(math.Float64frombits(n))
		case num == 3:
			s, err := str(typ, v, "payload string")
			if err != nil {
				return err
			}
			dst.SetStr(s)
		case num == 4 && typ == protowire.VarintType:
			dst.SetBool(n != 0)
		case num == 5 && typ == protowire.BytesType:
			return protoStruct(v, dst.SetEmptyMap(), depth+1)
		case num == 6 && typ == protowire.BytesType:
			return protoList(v, dst.SetEmptySlice(), depth+1)
		case num >= 1 && num <= 6:
			return errors.New("payload: value has the wrong wire type")
		}
		return nil
	})
}

// protoList reads a google.protobuf.ListValue into dst.
func protoList(b []byte, dst pcommon.Slice, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 1 {
			return nil
		}
		if typ != protowire.BytesType {
			return errors.New("payload: list element has the wrong wire type")
		}
		return protoValue(v, dst.AppendEmpty(), depth)
	})
}

// fields walks the fields of a message: for bytes fields v is the value,
// for varint and fixed fields n is. Unknown fields are passed on for the
// caller to skip.
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error) error {
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return fmt.Errorf("protobuf: %w", protowire.ParseError(l))
		}
		b = b[l:]
		var v []byte
		var n uint64
		switch typ {
		case protowire.VarintType:
			n, l = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			n, l = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var n32 uint32
			n32, l = protowire.ConsumeFixed32(b)
			n = uint64(n32)
		case protowire.BytesType:
			v, l = protowire.ConsumeBytes(b)
		default:
			l = protowire.ConsumeFieldValue(num, typ, b)
		}
		if l < 0 {
			return fmt.Errorf("protobuf field %d: %w", num, protowire.ParseError(l))
		}
		b = b[l:]
		if err := fn(num, typ, v, n); err != nil {
			return err
		}
	}
	return nil
}

// str reads a proto3 string field, which must be valid UTF-8.
func str(typ protowire.Type, v []byte, field string) (string, error) {
	if typ != protowire.BytesType {
		return "", fmt.Errorf("%s: wrong wire type", field)
	}
	if !utf8.Valid(v) {
		return "", fmt.Errorf("%s: not valid UTF-8", field)
	}
	return string(v), nil
}
