package evaluationmetrics // import "github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"

import (
	"encoding/json"
)

// responseItem is one element of the JSON array Flipt's analytics writes in
// the flipt.evaluation.response attribute of an evaluation_response event
// (Variant, Boolean and Batch calls, when analytics is enabled). It names no
// segment: results read from it carry segment "".
type responseItem struct {
	FlagKey         string  `json:"flagKey"`
	FlagType        string  `json:"flagType"` // VARIANT_FLAG_TYPE, BOOLEAN_FLAG_TYPE
	NamespaceKey    string  `json:"namespaceKey"`
	EnvironmentKey  string  `json:"environmentKey"`
	Reason          string  `json:"reason"`
	Match           *bool   `json:"match"`
	EvaluationValue *string `json:"evaluationValue"`
}

// decodeResponse parses the attribute into items, reusing its capacity.
func decodeResponse(s string, items []responseItem) ([]responseItem, error) {
	items = items[:0]
	err := json.Unmarshal([]byte(s), &items)
	return items, err
}

// fill sets e from the item; e keeps side, latency and weight.
func (it *responseItem) fill(e *eval) {
	e.flag = it.FlagKey
	e.namespace = it.NamespaceKey
	e.environment = it.EnvironmentKey
	e.reason = enumReason(it.Reason)
	e.typ = typeVariant
	if it.FlagType == "BOOLEAN_FLAG_TYPE" {
		e.typ = typeBoolean
	}
	e.value = ""
	if it.EvaluationValue != nil {
		e.value = *it.EvaluationValue
	}
	e.match = ""
	if e.typ == typeVariant {
		e.match = boolString(it.Match != nil && *it.Match)
	}
}
