package fliptaudit

import (
	"errors"
	"net/http"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// memoryLimiterRefusal is the text of the error the memory_limiter processor
// returns when it refuses data (memorylimiter.ErrDataRefused, in a module
// internal to the collector and so not importable): the text is the only
// way to recognise it.
const memoryLimiterRefusal = "data refused due to high memory usage"

// Seconds a refused sender is asked to wait (Retry-After).
const (
	retryAfterUnavailable = "1"
	retryAfterThrottled   = "5"
)

// downstreamStatus maps an error of the next consumer to the answer for
// Flipt's retrying webhook client, which retries 429 and 5xx except 501 and
// gives up on other 4xx:
//   - a permanent error: 400, so Flipt does not retry. The same body would
//     be refused again, and Flipt delivers serially: a 500 would hold back
//     every later event for up to 15 s of retries, and would re-send data the
//     pipeline has already dropped;
//   - refused for memory pressure (memory_limiter, or an error carrying gRPC
//     RESOURCE_EXHAUSTED or HTTP 429): 429, so Flipt retries later;
//   - any other error: 503, so Flipt retries.
func downstreamStatus(err error) (code int, retryAfter string) {
	if consumererror.IsPermanent(err) {
		return http.StatusBadRequest, ""
	}
	if isMemoryPressure(err) {
		return http.StatusTooManyRequests, retryAfterThrottled
	}
	return http.StatusServiceUnavailable, retryAfterUnavailable
}

func isMemoryPressure(err error) bool {
	var ce *consumererror.Error
	if errors.As(err, &ce) && consumererror.ToHTTPStatus(ce) == http.StatusTooManyRequests {
		return true
	}
	for e := range chain(err) {
		if e.Error() == memoryLimiterRefusal {
			return true
		}
		if s, ok := status.FromError(e); ok && s.Code() == codes.ResourceExhausted {
			return true
		}
	}
	return false
}

// downstreamMessage is the one-line reason sent with a downstream refusal.
func downstreamMessage(code int) string {
	switch code {
	case http.StatusTooManyRequests:
		return "not accepted: the collector is short of memory; retry later"
	case http.StatusServiceUnavailable:
		return "not accepted by the pipeline for now; retry later"
	}
	return "rejected by the pipeline; retrying will not help"
}

// chain yields err and every error it wraps, depth first.
func chain(err error) func(yield func(error) bool) {
	return func(yield func(error) bool) {
		var walk func(error) bool
		walk = func(e error) bool {
			if e == nil {
				return true
			}
			if !yield(e) {
				return false
			}
			switch u := e.(type) {
			case interface{ Unwrap() error }:
				return walk(u.Unwrap())
			case interface{ Unwrap() []error }:
				for _, x := range u.Unwrap() {
					if !walk(x) {
						return false
					}
				}
			}
			return true
		}
		walk(err)
	}
}
