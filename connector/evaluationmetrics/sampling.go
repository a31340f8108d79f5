package evaluationmetrics // import "github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"

import (
	"strings"
)

// maxThreshold is 2^56, the range of OpenTelemetry's sampling threshold.
const maxThreshold = float64(1 << 56)

// sampler turns a span's sampling probability into its weight: an
// evaluation from a span kept with probability p counts 1/p, which makes
// the sums unbiased estimates of what happened.
type sampler struct {
	defaultWeight float64
	weights       map[string]float64 // by service.name
	tracestate    bool
}

func newSampler(cfg Sampling) *sampler {
	s := &sampler{defaultWeight: 1 / cfg.DefaultRatio, weights: map[string]float64{}, tracestate: cfg.Tracestate}
	for svc, r := range cfg.Ratios {
		s.weights[svc] = 1 / r
	}
	return s
}

// serviceWeight is the weight configured for a service.
func (s *sampler) serviceWeight(service string) float64 {
	if w, ok := s.weights[service]; ok {
		return w
	}
	return s.defaultWeight
}

// spanWeight reads the threshold in the tracestate when there is one.
func (s *sampler) spanWeight(tracestate string, service float64) float64 {
	if !s.tracestate || tracestate == "" {
		return service
	}
	if p, ok := thresholdProbability(tracestate); ok {
		return 1 / p
	}
	return service
}

// thresholdProbability parses the W3C tracestate member ot=...;th:HEX;...
// (OpenTelemetry's consistent probability sampling): th is the rejection
// threshold as up to 14 hex digits with trailing zeros dropped, and the
// span was kept with probability (2^56 - th) / 2^56.
func thresholdProbability(ts string) (float64, bool) {
	for ts != "" {
		member := ts
		if i := strings.IndexByte(ts, ','); i >= 0 {
			member, ts = ts[:i], ts[i+1:]
		} else {
			ts = ""
		}
		member = strings.TrimSpace(member)
		if !strings.HasPrefix(member, "ot=") {
			continue
		}
		ot := member[3:]
		for ot != "" {
			kv := ot
			if i := strings.IndexByte(ot, ';'); i >= 0 {
				kv, ot = ot[:i], ot[i+1:]
			} else {
				ot = ""
			}
			if !strings.HasPrefix(kv, "th:") {
				continue
			}
			return parseThreshold(kv[3:])
		}
		return 0, false
	}
	return 0, false
}

func parseThreshold(h string) (float64, bool) {
	if len(h) == 0 || len(h) > 14 {
		return 0, false
	}
	var t uint64
	for i := range len(h) {
		c := h[i]
		var d uint64
		switch {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case 'a' <= c && c <= 'f':
			d = uint64(c-'a') + 10
		default:
			return 0, false
		}
		t = t<<4 | d
	}
	t <<= 4 * uint(14-len(h))
	p := (maxThreshold - float64(t)) / maxThreshold
	if p <= 0 {
		return 0, false
	}
	return p, true
}
