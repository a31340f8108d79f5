package evaluationmetrics

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Flipt v1 with analytics enabled: the Batch span names no flag, its
// evaluation_response event lists every result (the JSON Flipt's
// middleware writes). A Variant span with both counts once, from its
// attributes (they name the segment).
func TestV1EvaluationResponse(t *testing.T) {
	h := newHarness(t, nil)
	h.consume(t, traces(
		spanSpec{name: "flipt.evaluation.EvaluationService/Batch", id: 1, durMs: 3, attrs: map[string]any{"rpc.response.status_code": "OK"},
			events: []eventSpec{{v1ResponseEvent, map[string]any{v1ResponseAttr: `[{"flagKey":"color","flagType":"VARIANT_FLAG_TYPE","namespaceKey":"default","reason":"MATCH_EVALUATION_REASON","match":true,"evaluationValue":"blue","timestamp":"2026-11-24T20:00:00Z","entityId":"u1"},` +
				`{"flagKey":"new-checkout","flagType":"BOOLEAN_FLAG_TYPE","namespaceKey":"default","reason":"DEFAULT_EVALUATION_REASON","evaluationValue":"true","timestamp":"2026-11-24T20:00:00Z","entityId":"u1"},` +
				`{"flagKey":"color","flagType":"VARIANT_FLAG_TYPE","namespaceKey":"default","reason":"DEFAULT_EVALUATION_REASON","match":false,"timestamp":"2026-11-24T20:00:00Z","entityId":"u1"}]`}}}},
		spanSpec{name: "flipt.evaluation.EvaluationService/Variant", id: 2, durMs: 1, attrs: map[string]any{
			"flipt.namespace": "default", "flipt.flag": "color", "flipt.match": true, "flipt.value": "blue",
			"flipt.reason": "MATCH_EVALUATION_REASON", "flipt.segments": []any{"beta-users", "internal"}, "flipt.entity_id": "u2", "flipt.request_id": "r2",
		}, events: []eventSpec{{v1ResponseEvent, map[string]any{v1ResponseAttr: `[{"flagKey":"color","flagType":"VARIANT_FLAG_TYPE","namespaceKey":"default","reason":"MATCH_EVALUATION_REASON","match":true,"evaluationValue":"blue"}]`}}}},
		spanSpec{name: "flipt.evaluation.EvaluationService/Batch", id: 3, events: []eventSpec{{v1ResponseEvent, map[string]any{v1ResponseAttr: `[{"flagKey":`}}}},
	))
	got := h.settle(t)
	assert.Equal(t, map[string]float64{
		key("flipt_evaluations_requests_total", "namespace", "default", "flag", "color"):        3,
		key("flipt_evaluations_requests_total", "namespace", "default", "flag", "new-checkout"): 1,
	}, only(got, "flipt_evaluations_requests_total"))
	assert.Equal(t, map[string]float64{
		key("flipt_evaluations_results_total", "namespace", "default", "flag", "color", "match", "true", "segment", "beta-users", "reason", "MATCH_EVALUATION_REASON", "value", "blue", "type", "variant"): 1,
		key("flipt_evaluations_results_total", "namespace", "default", "flag", "color", "match", "true", "reason", "MATCH_EVALUATION_REASON", "value", "blue", "type", "variant"):                          1,
		key("flipt_evaluations_results_total", "namespace", "default", "flag", "color", "match", "false", "reason", "DEFAULT_EVALUATION_REASON", "type", "variant"):                                        1,
		key("flipt_evaluations_results_total", "namespace", "default", "flag", "new-checkout", "reason", "DEFAULT_EVALUATION_REASON", "value", "true", "type", "boolean"):                                  1,
	}, only(got, "flipt_evaluations_results_total"))
	// The batch's results are timed by the whole call: 3 ms.
	assert.Equal(t, 0.0, got[key("flipt_evaluations_latency_milliseconds_bucket", "namespace", "default", "flag", "color", "le", "0")])
	assert.Equal(t, 3.0, got[key("flipt_evaluations_latency_milliseconds_bucket", "namespace", "default", "flag", "color", "le", "5")], "two 3 ms batch results, one 1 ms call")
	assert.Equal(t, int64(1), h.skipped(t)["bad_response"], "a broken JSON attribute is counted, not fatal")
}

// Failed v1 evaluations: with a flag (an evaluator error) they count as
// requests and errors; without one (404, 401) they are skipped, as Flipt's
// own counters skip them.
func TestV1Errors(t *testing.T) {
	h := newHarness(t, nil)
	h.consume(t, traces(
		spanSpec{name: "flipt.evaluation.EvaluationService/Variant", id: 1, status: ptrace.StatusCodeError, attrs: map[string]any{"flipt.namespace": "default", "flipt.flag": "color"}},
		spanSpec{name: "flipt.evaluation.EvaluationService/Variant", id: 2, attrs: map[string]any{"rpc.response.status_code": "NOT_FOUND"}},
		spanSpec{name: "flipt.Flipt/Evaluate", id: 3, attrs: map[string]any{"flipt.namespace": "default", "flipt.flag": "legacy", "flipt.match": true,
			"flipt.value": "on", "flipt.reason": "MATCH_EVALUATION_REASON", "flipt.segment": "everyone"}},
		spanSpec{name: "flipt.Flipt/GetFlag", id: 4, attrs: map[string]any{"flipt.namespace": "default", "flipt.flag": "color", "flipt.flag_enabled": true}},
	))
	got := h.settle(t)
	assert.Equal(t, map[string]float64{
		key("flipt_evaluations_errors_total", "namespace", "default", "flag", "color"): 1,
	}, only(got, "flipt_evaluations_errors_total"))
	assert.Equal(t, map[string]float64{
		key("flipt_evaluations_requests_total", "namespace", "default", "flag", "color"):  1,
		key("flipt_evaluations_requests_total", "namespace", "default", "flag", "legacy"): 1,
	}, only(got, "flipt_evaluations_requests_total"))
	assert.Equal(t, 1.0, got[key("flipt_evaluations_results_total", "namespace", "default", "flag", "legacy", "match", "true", "segment", "everyone",
		"reason", "MATCH_EVALUATION_REASON", "value", "on", "type", "variant")], "legacy Evaluate: singular flipt.segment")
	assert.Equal(t, int64(1), h.skipped(t)["failed_without_flag"])
}

// OpenFeature's feature_flag.evaluation event, as a span event and as a log
// record, current and deprecated names: client-side series.
func TestOpenFeatureSpanEventsAndLogRecords(t *testing.T) {
	h := newHarness(t, nil)
	h.consume(t, traces(
		spanSpec{name: "GET /checkout", id: 1, service: "shop", events: []eventSpec{
			{ofEventName, map[string]any{"feature_flag.key": "color", "feature_flag.result.variant": "blue", "feature_flag.result.reason": "targeting_match",
				"feature_flag.provider.name": "flipt-client", "feature_flag.context.id": "u1", "feature_flag.set.id": "web"}},
			{ofEventName, map[string]any{"feature_flag.key": "dark_mode", "feature_flag.result.value": true, "feature_flag.result.reason": "DEFAULT"}},
			{ofEventName, map[string]any{"feature_flag.key": "color", "error.type": "flag_not_found", "feature_flag.result.reason": "error", "feature_flag.set.id": "web"}},
			// Deprecated names (OpenFeature Go hook before semconv 1.27).
			{ofEventNameOld, map[string]any{"feature_flag.key": "color", "feature_flag.variant": "red", "feature_flag.provider_name": "flipt", "feature_flag.set.id": "web"}},
			{"exception", map[string]any{"feature_flag.key": "color"}},
		}},
	))
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "shop")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	lr := lrs.AppendEmpty()
	lr.SetEventName(ofEventName)
	lr.Attributes().PutStr("feature_flag.key", "color")
	lr.Attributes().PutStr("feature_flag.result.variant", "blue")
	lr.Attributes().PutStr("feature_flag.result.reason", "targeting_match")
	lr.Attributes().PutStr("feature_flag.set.id", "web")
	old := lrs.AppendEmpty() // event.name attribute, deprecated reason, value in the body
	old.Attributes().PutStr("event.name", ofEventName)
	old.Attributes().PutStr("feature_flag.key", "dark_mode")
	old.Attributes().PutStr("feature_flag.evaluation.reason", "static")
	old.Body().SetEmptyMap().PutBool("value", false)
	lrs.AppendEmpty().Body().SetStr("an ordinary log line")
	require.NoError(t, h.c.ConsumeLogs(context.Background(), ld))

	got := h.settle(t)
	// The side label stays in for this check.
	h.clock.Advance(time.Second)
	h.c.flush(context.Background())
	all := seriesOf(t, h.sink.AllMetrics()[len(h.sink.AllMetrics())-1])
	for k := range all {
		assert.Contains(t, k, `evaluation_side="client"`)
	}
	assert.Equal(t, map[string]float64{
		key("flipt_evaluations_requests_total", "namespace", "web", "flag", "color"):         4,
		key("flipt_evaluations_requests_total", "namespace", "default", "flag", "dark_mode"): 2,
	}, only(got, "flipt_evaluations_requests_total"))
	assert.Equal(t, map[string]float64{
		key("flipt_evaluations_errors_total", "namespace", "web", "flag", "color"): 1,
	}, only(got, "flipt_evaluations_errors_total"))
	assert.Equal(t, map[string]float64{
		key("flipt_evaluations_results_total", "namespace", "web", "flag", "color", "match", "true", "reason", "MATCH_EVALUATION_REASON", "value", "blue", "type", "variant"):   2,
		key("flipt_evaluations_results_total", "namespace", "web", "flag", "color", "match", "false", "reason", "UNKNOWN_EVALUATION_REASON", "value", "red", "type", "variant"): 1,
		key("flipt_evaluations_results_total", "namespace", "default", "flag", "dark_mode", "reason", "DEFAULT_EVALUATION_REASON", "value", "true", "type", "boolean"):          1,
		key("flipt_evaluations_results_total", "namespace", "default", "flag", "dark_mode", "reason", "STATIC_EVALUATION_REASON", "value", "false", "type", "boolean"):          1,
	}, only(got, "flipt_evaluations_results_total"))
	assert.Empty(t, only(got, "flipt_evaluations_latency"), "client evaluations have no server latency")
}

// sources: {flipt: false} counts client evaluations only, the default
// pipeline's choice when Flipt pushes its own counters.
func TestSourcesSwitch(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Sources.Flipt = false })
	h.consume(t, traces(
		spanSpec{name: "flipt.evaluation.EvaluationService/Boolean", id: 1, attrs: map[string]any{"flipt.namespace": "default", "flipt.flag": "f", "flipt.value": true, "flipt.reason": "DEFAULT_EVALUATION_REASON"}},
		spanSpec{name: "flipt.evaluation.EvaluationService/Variant", id: 2, events: []eventSpec{{v2EventName, map[string]any{"flipt.key": "g", "flipt.type": "variant"}}}},
		spanSpec{name: "GET /", id: 3, service: "app", events: []eventSpec{{ofEventName, map[string]any{"feature_flag.key": "h", "feature_flag.result.value": true}}}},
	))
	got := h.settle(t)
	assert.Equal(t, map[string]float64{key("flipt_evaluations_requests_total", "namespace", "default", "flag", "h"): 1}, only(got, "flipt_evaluations_requests_total"))

	h2 := newHarness(t, func(c *Config) { c.Sources.OpenFeature = false })
	h2.consume(t, traces(spanSpec{name: "GET /", id: 3, service: "app", events: []eventSpec{{ofEventName, map[string]any{"feature_flag.key": "h"}}}}))
	assert.Empty(t, h2.settle(t))
}

// labels: v2 renders v1 spans and OpenFeature events with Flipt v2's label
// names; v2 events under labels: v1 keep their environment.
func TestLabelModes(t *testing.T) {
	v1span := spanSpec{name: "flipt.evaluation.EvaluationService/Variant", id: 1, attrs: map[string]any{
		"flipt.namespace": "default", "flipt.flag": "color", "flipt.match": true, "flipt.value": "blue",
		"flipt.reason": "MATCH_EVALUATION_REASON", "flipt.segments": []any{"a", "b"},
	}}
	v2span := spanSpec{name: "flipt.evaluation.EvaluationService/Boolean", id: 2, events: []eventSpec{{v2EventName, map[string]any{
		"flipt.key": "dark", "flipt.type": "boolean", "flipt.environment": "production", "flipt.namespace": "default",
		"flipt.result.variant": false, "flipt.result.reason": "match", "flipt.result.segments": []any{"x"},
	}}}}
	h := newHarness(t, func(c *Config) { c.Labels = LabelsV2 })
	h.consume(t, traces(v1span, v2span))
	got := only(h.settle(t), "flipt_evaluations_results_total")
	assert.Equal(t, map[string]float64{
		key("flipt_evaluations_results_total", "flipt_namespace", "default", "flipt_flag", "color", "flipt_match", "true", "flipt_segments", `[\"a\",\"b\"]`,
			"flipt_reason", "MATCH_EVALUATION_REASON", "flipt_value", "blue", "flipt_flag_type", "variant"): 1,
		key("flipt_evaluations_results_total", "flipt_environment", "production", "flipt_namespace", "default", "flipt_flag", "dark", "flipt_segments", `[\"x\"]`,
			"flipt_reason", "MATCH_EVALUATION_REASON", "flipt_value", "false", "flipt_flag_type", "boolean"): 1,
	}, got)

	h1 := newHarness(t, nil)
	h1.consume(t, traces(v2span))
	assert.Equal(t, map[string]float64{
		key("flipt_evaluations_results_total", "environment", "production", "namespace", "default", "flag", "dark", "reason", "MATCH_EVALUATION_REASON", "value", "false", "type", "boolean"): 1,
	}, only(h1.settle(t), "flipt_evaluations_results_total"))
}
