// Package evaluationmetrics provides the evaluation_metrics connector: it
// reads the flag evaluations in the traces of Flipt v1 and v2 servers and in
// the traces and logs of OpenFeature clients, and emits cumulative
// flipt_evaluations_* metrics under Flipt's own names and labels. It lives
// under connector/ because it is one: it moves data from traces and logs
// pipelines into a metrics pipeline.
//
//go:generate sh -c "cd ../../tools && go tool mdatagen ../connector/evaluationmetrics/metadata.yaml"
package evaluationmetrics // import "github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"
