package fliptencodingextension

import (
	"errors"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/xpdata"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

// maxDepth bounds the nesting of a binary payload as auditevent bounds a
// JSON one, so hostile input cannot recurse without end.
const maxDepth = auditevent.DefaultMaxDepth

var errTooDeep = errors.New("payload nested deeper than the limit")

// actorKeys are the actor's fields in Flipt's order (the protobuf field
// numbers 1..5 and the Avro record's order).
var actorKeys = [5]string{"authentication", "ip", "email", "name", "picture"}

// event holds the fields of a binary record until the body is built in
// the order Flipt's log sink writes them.
type event struct {
	version, typ, action, timestamp string
	hasTimestamp                    bool
	status                          string
	hasStatus                       bool
	actor                           [5]string
	hasActor                        bool
	payload                         pcommon.Value
	hasPayload                      bool
}

// build sets lr's body to the event as internal/auditevent makes it from
// Flipt's JSON: empty actor fields left out (the log sink omits them),
// payload keys in byte order.
func (ev *event) build(lr plog.LogRecord) {
	body := lr.Body().SetEmptyMap()
	body.EnsureCapacity(7)
	body.PutStr(auditevent.KeyVersion, ev.version)
	body.PutStr(auditevent.KeyType, ev.typ)
	body.PutStr(auditevent.KeyAction, ev.action)
	if ev.hasStatus {
		body.PutStr(auditevent.KeyStatus, ev.status)
	}
	md := body.PutEmptyMap(auditevent.KeyMetadata)
	if ev.hasActor {
		actor := md.PutEmptyMap(auditevent.KeyActor)
		for i, v := range ev.actor {
			if v != "" {
				actor.PutStr(actorKeys[i], v)
			}
		}
	}
	p := body.PutEmpty(auditevent.KeyPayload)
	if ev.hasPayload {
		ev.payload.MoveTo(p)
	}
	if ev.hasTimestamp {
		body.PutStr(auditevent.KeyTimestamp, ev.timestamp)
	}
}

// member is an object member before sorting.
type member struct {
	key string
	val pcommon.Value
}

// sortedInto writes members into dst in byte order of their keys, as Go's
// encoding/json writes a map; of two equal keys the last wins, as both
// protobuf maps and JSON objects read into Go maps keep it.
func sortedInto(dst pcommon.Map, members []member) {
	slices.SortStableFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	var mb xpdata.MapBuilder
	mb.EnsureCapacity(len(members))
	for i, m := range members {
		if i+1 < len(members) && members[i+1].key == m.key {
			continue
		}
		m.val.MoveTo(mb.AppendEmpty(m.key))
	}
	mb.UnsafeIntoMap(dst)
}
