// Package periodic runs a function at a fixed interval on its own goroutine,
// as the connectors flush their series.
package periodic

import "time"

// Loop is a running periodic function.
type Loop struct {
	stop chan struct{}
	done chan struct{}
}

// Start calls f every interval until Stop.
func Start(interval time.Duration, f func()) *Loop {
	l := &Loop{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
				f()
			}
		}
	}()
	return l
}

// Stop ends the loop and returns once a call of f in progress has
// returned; f is not called again. A nil Loop is stopped already.
func (l *Loop) Stop() {
	if l == nil {
		return
	}
	close(l.stop)
	<-l.done
}
