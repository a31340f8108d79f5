package fliptencodingextension

import (
	"fmt"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

// marshalJSON writes one Flipt log sink line per audit record.
func marshalJSON(ld plog.Logs) ([]byte, error) {
	var out []byte
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for i, lr := range sl.LogRecords().All() {
				body, ok := auditevent.Body(lr)
				if !ok {
					return nil, consumererror.NewPermanent(fmt.Errorf("flipt_encoding json: record %d is not a Flipt audit event", i))
				}
				out = auditevent.Append(out, body, auditevent.FormatJSON)
				out = append(out, '\n')
			}
		}
	}
	return out, nil
}
