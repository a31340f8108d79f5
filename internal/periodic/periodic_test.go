package periodic

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCallsUntilStopped(t *testing.T) {
	var n atomic.Int64
	l := Start(time.Millisecond, func() { n.Add(1) })
	require.Eventually(t, func() bool { return n.Load() >= 3 }, 10*time.Second, time.Millisecond)
	l.Stop()
	after := n.Load()
	time.Sleep(20 * time.Millisecond)
	require.Equal(t, after, n.Load(), "called after Stop returned")
	var none *Loop
	none.Stop()
}

func TestStopWaitsForTheCallInProgress(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	var once atomic.Bool
	l := Start(time.Millisecond, func() {
		if once.CompareAndSwap(false, true) {
			close(entered)
			<-release
			finished.Store(true)
		}
	})
	<-entered
	stopped := make(chan struct{})
	go func() { l.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a call was in progress")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-stopped
	require.True(t, finished.Load())
}
