package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
)

// Helpers shared by the reliability suite (reliability_*_test.go), which
// answers: what happens to the audit trail when something breaks, and when
// someone sends garbage. See RELIABILITY.md.

// relSecret is the webhook signing secret of the reliability tests. It is
// long and distinctive so that finding it in any output is meaningful.
const relSecret = "rel-s3cr3t-5f1d9c0b7e2a4486a1c3" //nolint:gosec // test secret

// relCollector runs the binary on a config file that stays in place across
// restarts (same ports, same directories), as an operator's service would.
type relCollector struct {
	t       *testing.T
	cfgPath string
	dir     string
	env     []string
	health  string // URL answering 200 once the webhook listens
}

func newRelCollector(t *testing.T, yaml string, health string, env ...string) *relCollector {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return &relCollector{t: t, cfgPath: cfgPath, dir: dir, env: env, health: health}
}

// start runs one process and waits until the webhook answers.
func (r *relCollector) start() *e2etest.Collector {
	r.t.Helper()
	c := e2etest.Start(r.t, e2etest.Options{Args: []string{"--config", r.cfgPath}, Env: r.env, Dir: r.dir})
	if r.health != "" {
		c.WaitHealthy(r.health)
	}
	return c
}

// relProcStatusKiB reads a field such as VmRSS or VmHWM (peak RSS) of
// /proc/<pid>/status in KiB; 0 when the process is gone.
func relProcStatusKiB(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, field+":") {
			continue
		}
		fields := strings.Fields(strings.TrimPrefix(line, field+":"))
		if len(fields) == 0 {
			return 0
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		return n
	}
	return 0
}

// relRssSampler samples a process's RSS every 50ms until stopped and keeps the
// peak; it also reads the kernel's own high-water mark (VmHWM), which sees
// peaks between samples.
type relRssSampler struct {
	pid  int
	stop chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	peakKiB int64
	hwmKiB  int64
	samples int
}

func relSampleRSS(pid int) *relRssSampler {
	s := &relRssSampler{pid: pid, stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *relRssSampler) sample() {
	rss, hwm := relProcStatusKiB(s.pid, "VmRSS"), relProcStatusKiB(s.pid, "VmHWM")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples++
	s.peakKiB = max(s.peakKiB, rss)
	s.hwmKiB = max(s.hwmKiB, hwm)
}

// Stop ends sampling and returns the peak RSS in MiB: the larger of the
// sampled peak and the kernel's high-water mark.
func (s *relRssSampler) Stop() float64 {
	select {
	case <-s.stop:
	default:
		s.sample()
		close(s.stop)
	}
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return float64(max(s.peakKiB, s.hwmKiB)) / 1024
}

// relFileLines splits an audit file into its lines and says whether it ends
// with a newline (no torn tail).
func relFileLines(data []byte) (lines [][]byte, whole bool) {
	if len(data) == 0 {
		return nil, true
	}
	whole = data[len(data)-1] == '\n'
	lines = bytes.Split(bytes.TrimSuffix(data, []byte{'\n'}), []byte{'\n'})
	return lines, whole
}

// relInvalidLines returns the lines that are not one JSON object each.
func relInvalidLines(lines [][]byte) [][]byte {
	var bad [][]byte
	for _, l := range lines {
		if len(l) == 0 || l[0] != '{' || !json.Valid(l) {
			bad = append(bad, l)
		}
	}
	return bad
}

// relWaitFile polls path until cond holds on its content, failing after the
// deadline. It is a bounded wait for a condition, not a timing assertion.
func relWaitFile(t *testing.T, path, what string, deadline time.Duration, cond func([]byte) bool) []byte {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		data, _ := os.ReadFile(path)
		if cond(data) {
			return data
		}
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s in %s (%d bytes)", deadline, what, path, len(data))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
