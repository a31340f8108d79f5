package ingest

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// request is one POST the driver repeats.
type request struct {
	url, contentType string
	body             []byte
	headers          map[string]string
}

// drive sends b.N requests, cycling through reqs, over `conns` keep-alive
// connections and reports requests/s and latency percentiles. Every answer
// must be 200.
func drive(b *testing.B, reqs []request, conns int) {
	b.Helper()
	size := 0
	for _, r := range reqs {
		size += len(r.body)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(size / len(reqs)))
	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				req := reqs[i%len(reqs)]
				hr, _ := http.NewRequest(http.MethodPost, req.url, bytes.NewReader(req.body))
				hr.Header.Set("Content-Type", req.contentType)
				for k, v := range req.headers {
					hr.Header.Set(k, v)
				}
				t0 := time.Now()
				resp, err := client.Do(hr)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed", n, b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/req")
}

// processCPU is the CPU time the process used so far, client and server
// together. Other work on shared cores stretches req/s but hardly the CPU
// a request costs, so servers compare by it from run to run too.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
