// Package e2etest runs the built otelcol-flipt binary as a real process for
// end-to-end tests: it builds the binary once (or takes the one CI built,
// see BinaryEnv), starts it on free loopback ports with a given config,
// waits for health and always stops it.
package e2etest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	errBuild  error
)

// RepoRoot is the repository root, found from this source file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// BinaryEnv names a prebuilt otelcol-flipt for the end-to-end tests. `make
// test` sets it to the release build it has just made, so the tests run the
// binary that is shipped and the distribution is not compiled twice.
const BinaryEnv = "OTELCOL_FLIPT_E2E_BINARY"

// Binary returns the binary named by BinaryEnv, or builds ./cmd/otelcol-flipt
// once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv(BinaryEnv); p != "" {
			binPath, errBuild = prebuilt(p)
			return
		}
		dir, err := os.MkdirTemp("", "otelcol-flipt-e2e-")
		if err != nil {
			errBuild = err
			return
		}
		binPath = filepath.Join(dir, "otelcol-flipt")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/otelcol-flipt")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			errBuild = fmt.Errorf("go build ./cmd/otelcol-flipt: %w\n%s", err, out)
		}
	})
	if errBuild != nil {
		t.Fatal(errBuild)
	}
	return binPath
}

// prebuilt resolves p against the repository root (make runs from there, go
// test from each package's directory) and checks it is an executable file.
func prebuilt(p string) (string, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(RepoRoot(), p)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("%s: %w", BinaryEnv, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s=%s is not an executable file", BinaryEnv, p)
	}
	return p, nil
}

// Collector is a running otelcol-flipt process.
type Collector struct {
	t    testing.TB
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
	// Dir is the process's working directory, a fresh temp dir.
	Dir string
}

// Options say how to start the collector.
type Options struct {
	// Args are passed after the binary name, e.g. "--config", path.
	Args []string
	// Env is added to the environment as KEY=VALUE.
	Env []string
	// Dir is the working directory; a fresh temp dir when empty.
	Dir string
	// Binary is the otelcol-flipt to run instead of this tree's (Binary),
	// e.g. an earlier commit's build to compare with.
	Binary string
}

// Start runs the binary with opts and registers a cleanup that stops it.
func Start(t testing.TB, opts Options) *Collector {
	t.Helper()
	dir := opts.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	bin := opts.Binary
	if bin == "" {
		bin = Binary(t)
	}
	cmd := exec.Command(bin, opts.Args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), opts.Env...)
	out := &syncBuffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start collector: %v", err)
	}
	c := &Collector{t: t, cmd: cmd, out: out, done: make(chan struct{}), Dir: dir}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			t.Logf("collector output:\n%s", c.Output())
		}
	})
	return c
}

// StartConfig writes yaml to a file in a fresh directory and starts the
// collector with --config pointing at it.
func StartConfig(t testing.TB, yaml string, env ...string) *Collector {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return Start(t, Options{Args: []string{"--config", path}, Env: env, Dir: dir})
}

// PID is the process id.
func (c *Collector) PID() int { return c.cmd.Process.Pid }

// Output is everything the process wrote to stdout and stderr so far.
func (c *Collector) Output() string { return c.out.String() }

// Exited reports whether the process has ended.
func (c *Collector) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for the process to end and returns its error.
func (c *Collector) Wait(timeout time.Duration) error {
	select {
	case <-c.done:
		return c.err
	case <-time.After(timeout):
		return fmt.Errorf("collector still running after %s", timeout)
	}
}

// Signal sends sig to the process.
func (c *Collector) Signal(sig os.Signal) {
	if !c.Exited() {
		_ = c.cmd.Process.Signal(sig)
	}
}

// Stop sends SIGTERM, and SIGKILL if the process has not ended in 20s.
func (c *Collector) Stop() {
	if c.Exited() {
		return
	}
	c.Signal(syscall.SIGTERM)
	if err := c.Wait(20 * time.Second); err != nil && !c.Exited() {
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// WaitHealthy polls the health check URL until it answers 200.
func (c *Collector) WaitHealthy(url string) {
	c.t.Helper()
	c.WaitFor(url+" to answer 200", func() bool {
		resp, err := http.Get(url) //nolint:noctx // short poll on loopback
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// WaitFor polls cond until it holds, failing the test after 60s or when the
// process ends first.
func (c *Collector) WaitFor(what string, cond func() bool) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for !cond() {
		if c.Exited() {
			c.t.Fatalf("collector exited while waiting for %s: %v\n%s", what, c.err, c.Output())
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("timed out waiting for %s\n%s", what, c.Output())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitLog waits until the collector's output contains s.
func (c *Collector) WaitLog(s string) {
	c.t.Helper()
	c.WaitFor(fmt.Sprintf("log %q", s), func() bool { return strings.Contains(c.Output(), s) })
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
