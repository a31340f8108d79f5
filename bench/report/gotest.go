package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// step is one `go test` invocation of the run.
type step struct {
	name    string
	dir     string // relative to the repository root
	args    []string
	env     []string
	timeout time.Duration
	// rounds runs the command this many times (once if 0): with -count 1,
	// the servers of one comparison take turns instead of each running all
	// its repetitions back to back, so a drift in the machine's load falls
	// on all of them alike.
	rounds int
}

// results holds every benchmark line of the run: name (without the -GOMAXPROCS
// suffix) → one map of unit → value per -count repetition.
type results map[string][]map[string]float64

var procSuffix = regexp.MustCompile(`-\d+$`)

// parse adds the benchmark lines of a go test output to r.
func (r results) parse(out []byte) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			m[f[i+1]] = v
		}
		name := procSuffix.ReplaceAllString(f[0], "")
		r[name] = append(r[name], m)
	}
}

// median of unit over the runs of name; ok is false when none reported it.
func (r results) median(name, unit string) (float64, bool) {
	var vs []float64
	for _, m := range r[name] {
		if v, ok := m[unit]; ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	return median(vs), true
}

// all returns unit of every run of name, in run order.
func (r results) all(name, unit string) []float64 {
	var vs []float64
	for _, m := range r[name] {
		if v, ok := m[unit]; ok {
			vs = append(vs, v)
		}
	}
	return vs
}

// run executes a step under its timeout, logging its output to log, and
// returns the output. A failed step is reported, not fatal: the document
// says what it could not measure.
func (s step) run(root string, log io.Writer) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", s.args...)
	cmd.Dir = root + "/" + s.dir
	cmd.Env = append(os.Environ(), s.env...)
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, log)
	cmd.Stderr = io.MultiWriter(&out, log)
	fmt.Fprintf(log, "\n$ (cd %s && %s go %s)\n", s.dir, strings.Join(s.env, " "), strings.Join(s.args, " "))
	start := time.Now()
	err := cmd.Run()
	fmt.Fprintf(os.Stderr, "bench-report: %-28s %6.1fs", s.name, time.Since(start).Seconds())
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %s", s.timeout)
		}
		fmt.Fprintf(os.Stderr, "  FAILED: %v", err)
	}
	fmt.Fprintln(os.Stderr)
	return out.Bytes(), err
}

// command is the shell form of a step, as the document prints it.
func (s step) command() string {
	var b strings.Builder
	if s.dir != "." {
		fmt.Fprintf(&b, "cd %s && ", s.dir)
	}
	for _, e := range s.env {
		b.WriteString(e + " ")
	}
	b.WriteString("go")
	for _, a := range s.args {
		if strings.ContainsAny(a, "^$|*() ") {
			a = "'" + a + "'"
		}
		b.WriteString(" " + a)
	}
	if s.rounds > 1 {
		fmt.Fprintf(&b, "   # %d times", s.rounds)
	}
	return b.String()
}
