package fliptaudit

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// signatureWarnInterval is the least time between two warnings about
// refused signatures: a misconfigured secret refuses every request.
const signatureWarnInterval = time.Minute

// signatureWarner logs refused signatures at most once an interval, with
// how many there were. It never logs the secret, the signature or the body.
type signatureWarner struct {
	logger *zap.Logger
	now    func() time.Time

	mu      sync.Mutex
	last    time.Time // of the last warning
	pending int       // refusals since the last warning
}

func (s *signatureWarner) refused(remote string) {
	s.mu.Lock()
	s.pending++
	now := s.now()
	if !s.last.IsZero() && now.Sub(s.last) < signatureWarnInterval {
		s.mu.Unlock()
		return
	}
	n := s.pending
	s.last, s.pending = now, 0
	s.mu.Unlock()
	s.logger.Warn("Webhook requests refused for a missing or invalid "+signatureHeader+
		"; check that signing_secret matches Flipt's audit.sinks.webhook.signing_secret",
		zap.String("remote_address", remote), zap.Int("refusals", n), zap.Duration("interval", signatureWarnInterval))
}
