package fliptencodingextension

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-flipt/otelcol-flipt/extension/fliptencodingextension/internal/metadata"
	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

// SourceKafka is the flipt.audit.source of every record this extension
// decodes: its formats are those of Flipt's Kafka sink and of an audit
// hand-off through Kafka.
const SourceKafka = "kafka"

var (
	_ plog.Unmarshaler = (*fliptEncoding)(nil)
	_ plog.Marshaler   = (*fliptEncoding)(nil)
)

type fliptEncoding struct {
	encoding  string
	decode    func(data []byte, lr plog.LogRecord) error
	telemetry *metadata.TelemetryBuilder
	attrs     metric.MeasurementOption
	now       func() time.Time
}

func newExtension(cfg *Config, set extension.Settings) (*fliptEncoding, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e := &fliptEncoding{
		encoding:  cfg.Encoding,
		telemetry: tb,
		attrs:     metric.WithAttributes(encodingAttr(cfg.Encoding)),
		now:       time.Now,
	}
	switch cfg.Encoding {
	case EncodingProtobuf:
		e.decode = decodeProtobuf
	case EncodingAvro:
		e.decode = decodeAvro
	}
	return e, nil
}

func (*fliptEncoding) Start(context.Context, component.Host) error { return nil }

func (e *fliptEncoding) Shutdown(context.Context) error {
	e.telemetry.Shutdown()
	return nil
}

// UnmarshalLogs decodes one value (one Kafka record's, say) into logs.
// Refusals are permanent errors: the same bytes never decode.
func (e *fliptEncoding) UnmarshalLogs(data []byte) (plog.Logs, error) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	records := sl.LogRecords()
	value := stripRegistryHeader(data)
	observed := pcommon.NewTimestampFromTime(e.now())
	n := 1
	var err error
	if e.decode == nil {
		n, err = auditevent.DecodeRecords(value, records.AppendEmpty, SourceKafka, observed)
	} else {
		lr := records.AppendEmpty()
		if err = e.decode(value, lr); err == nil {
			err = auditevent.Fill(lr, SourceKafka, observed)
		}
	}
	ctx := context.Background()
	if err != nil {
		e.telemetry.FliptEncodingEventsRefused.Add(ctx, 1, e.attrs)
		return plog.NewLogs(), consumererror.NewPermanent(fmt.Errorf("flipt_encoding %s: %w", e.encoding, err))
	}
	e.telemetry.FliptEncodingEventsDecoded.Add(ctx, int64(n), e.attrs)
	return ld, nil
}

// errWriteOnlyJSON is returned by MarshalLogs for the binary encodings.
var errWriteOnlyJSON = errors.New("flipt_encoding writes only encoding: json (Flipt's log sink lines); protobuf and avro are read-only")

// MarshalLogs writes every audit record of ld as the line Flipt's log sink
// writes, each followed by a newline: the json encoding's UnmarshalLogs
// reads it back into the same records. A record that is not an audit
// event is refused rather than dropped.
func (e *fliptEncoding) MarshalLogs(ld plog.Logs) ([]byte, error) {
	if e.encoding != EncodingJSON {
		return nil, consumererror.NewPermanent(errWriteOnlyJSON)
	}
	return marshalJSON(ld)
}
