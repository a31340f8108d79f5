package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

// fliptRules recognise the cached reads of an unmodified Flipt v1 (in-memory
// cache). Only GetFlag among the flipt.Flipt reads goes through Flipt's
// cache; matching other Get* methods would count every call as a miss.
func fliptRules() []InferenceRule {
	return []InferenceRule{
		{
			SpanNames: []string{"flipt.evaluation.EvaluationService/*", "flipt.ofrep.OFREPService/*"},
			Cache:     "memory",
			Type:      "evaluation",
		},
		{
			SpanNames: []string{"flipt.Flipt/GetFlag"},
			Cache:     "memory",
			Type:      "flag",
		},
	}
}
