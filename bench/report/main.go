// Command report runs every comparison BENCHMARKS.md reports, in one bounded
// run of one commit, and writes BENCHMARKS.md from the figures: the machine,
// Go version, commit and load average before and after, each ratio beside
// its baseline, and every goal with whether this run met it. From the
// repository root:
//
//	make bench-report        # or: cd bench && go run ./report -out ../BENCHMARKS.md
//
// It takes about 7 minutes on a 2-core machine; every step has a timeout,
// so the whole run is bounded (under 10 minutes). Only loopback is used.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/otelcol-flipt/otelcol-flipt/bench/internal/loadresult"
)

// ingestRounds is how many times the ingest comparison runs, the servers
// taking turns; its tables show the medians.
const ingestRounds = 7

// groupCommitBase is the commit before audit_file's group commit (the
// first parent of its merge), whose binary the end-to-end gain is read
// against.
const groupCommitBase = "3e984afc6fc8"

// The steps, in the order they run. The names are what the document's
// sections look up.
func steps(tmp string) []step {
	b := func(name, pkg, bench, benchtime string, count int, extra ...string) step {
		args := append([]string{"test", "-run", "^$", "-bench", bench, "-benchmem", "-benchtime", benchtime, "-count", fmt.Sprint(count)}, extra...)
		return step{name: name, dir: "bench", args: append(args, pkg), timeout: 4 * time.Minute}
	}
	root := func(s step) step { s.dir = "."; return s }
	interleaved := func(s step, rounds int) step { s.rounds = rounds; return s }
	load := func(name string, rate, seconds, senders int) step {
		return step{name: name, dir: "bench", timeout: 3 * time.Minute,
			args: []string{"test", "-count=1", "-run", "^TestLoadDefaultPipeline$", "-v", "-timeout", "3m", "./e2e/"},
			env: []string{"FLIPT_LOAD=1", fmt.Sprintf("FLIPT_LOAD_RATE=%d", rate), fmt.Sprintf("FLIPT_LOAD_SECONDS=%d", seconds),
				fmt.Sprintf("FLIPT_LOAD_SENDERS=%d", senders), "FLIPT_LOAD_REPORT=" + filepath.Join(tmp, name+".json")}}
	}
	return []step{
		interleaved(b("ingest", "./ingest/", "^BenchmarkIngest", "50000x", 1), ingestRounds),
		b("ndjson", "./ingest/", "NDJSON", "200x", 3),
		b("auditfile", "./auditfile/", ".", "1s", 3),
		b("cachemetrics", "./cachemetrics/", ".", "1s", 3),
		b("evaluationmetrics", "./evaluationmetrics/", ".", "1s", 3),
		root(b("decode", "./internal/auditevent/", "DecodeShapes", "1s", 1)),
		root(b("shape", "./processor/cachemetrics/", "Shape$", "1s", 1)),
		b("profile-webhook", "./ingest/", "IngestCaptures/flipt_audit_webhook_signed", "100000x", 1,
			"-o", filepath.Join(tmp, "ingest.test"), "-cpuprofile", filepath.Join(tmp, "webhook.prof")),
		b("profile-otlp", "./ingest/", "IngestCaptures/otlp_receiver_logs_json", "100000x", 1,
			"-o", filepath.Join(tmp, "ingest.test"), "-cpuprofile", filepath.Join(tmp, "otlp.prof")),
		b("profile-cachemetrics", "./cachemetrics/", "FliptCaptures/cache_metrics_flipt$", "3s", 1,
			"-o", filepath.Join(tmp, "cachemetrics.test"), "-cpuprofile", filepath.Join(tmp, "cachemetrics.prof")),
		load("e2e-rate", 5000, 30, 16),
		load("e2e-64", 0, 15, 64),
		load("e2e-16", 0, 15, 16),
		{name: "groupcommit", dir: "bench", timeout: 5 * time.Minute,
			args: []string{"test", "-count=1", "-run", "^TestGroupCommitGain$", "-v", "-timeout", "5m", "./e2e/"},
			env: []string{"FLIPT_LOAD=1", "FLIPT_GROUP_COMMIT_BASE=" + groupCommitBase, "FLIPT_GROUP_COMMIT_PAIRS=3",
				"FLIPT_LOAD_SECONDS=8", "FLIPT_LOAD_REPORT=" + filepath.Join(tmp, "groupcommit.json")}},
	}
}

func main() {
	out := flag.String("out", "../BENCHMARKS.md", "the document to write")
	only := flag.String("only", "", "run only the steps whose name matches this regexp (the document then lacks the others)")
	logPath := flag.String("log", "", "where to keep every step's output (default: a temporary file, printed at the end)")
	flag.Parse()

	rootB, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-report: run inside the repository:", err)
		os.Exit(1)
	}
	root := strings.TrimSpace(string(rootB))
	tmp, err := os.MkdirTemp("", "bench-report-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-report:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(tmp)
	if *logPath == "" {
		*logPath = filepath.Join(os.TempDir(), "bench-report.log")
	}
	log, err := os.Create(*logPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-report:", err)
		os.Exit(1)
	}
	defer log.Close()

	m := probe(root)
	if m.Dirty {
		fmt.Fprintln(os.Stderr, "bench-report: warning: the work tree has uncommitted changes; the document will say so")
	}
	rep := &report{machine: m, res: results{}, failed: map[string]string{}, cmds: map[string]string{}, load: map[string]*loadresult.Result{}}
	onlyRe := regexp.MustCompile(*only)
	for _, s := range steps(tmp) {
		rep.cmds[s.name] = strings.ReplaceAll(s.command(), tmp, os.TempDir())
		if !onlyRe.MatchString(s.name) {
			rep.failed[s.name] = "not run (-only)"
			continue
		}
		var outp []byte
		var err error
		for range max(s.rounds, 1) {
			outp, err = s.run(root, log)
			if !strings.HasPrefix(s.name, "profile-") { // profiled runs are slower; their figures stay out of the tables
				rep.res.parse(outp)
			}
			if err != nil {
				break
			}
		}
		if err != nil {
			rep.failed[s.name] = err.Error()
		}
		if s.name == "groupcommit" {
			if gc, err := loadresult.ReadGroupCommit(filepath.Join(tmp, "groupcommit.json")); err == nil {
				rep.groupCommit = gc
			} else if rep.failed[s.name] == "" {
				rep.failed[s.name] = err.Error()
			}
		}
		if strings.HasPrefix(s.name, "e2e-") {
			if lr, err := loadresult.Read(filepath.Join(tmp, s.name+".json")); err == nil {
				rep.load[s.name] = lr
			} else if rep.failed[s.name] == "" {
				rep.failed[s.name] = err.Error()
			}
		}
	}
	for name, p := range map[string]struct {
		file string
		re   string
	}{
		"webhook":      {"webhook.prof", `fliptaudit|auditevent|confighttp|otelhttp|net/http\.\(\*conn\)\.(serve|readRequest)|net/http\.\(\*response\)|runtime\.(mallocgc|gcBgMarkWorker)$|ingest\.drive|persistConn`},
		"otlp":         {"otlp.prof", `otlpreceiver|plogotlp|confighttp|otelhttp|net/http\.\(\*conn\)\.(serve|readRequest)|net/http\.\(\*response\)|runtime\.(mallocgc|gcBgMarkWorker)$|ingest\.drive|persistConn`},
		"cachemetrics": {"cachemetrics.prof", `cachemetrics\.|internal/glob|runtime\.(mallocgc|mapaccess)`},
	} {
		all, top, err := topCum(root, filepath.Join(tmp, p.file), regexp.MustCompile(p.re), 14)
		if err != nil {
			rep.failed["profile-"+name+"-pprof"] = err.Error()
			continue
		}
		rep.profiles = append(rep.profiles, profile{name: name, shares: top, all: all})
	}
	rep.machine.LoadPost = loadavg()
	rep.machine.Elapsed = time.Since(m.Start)

	doc := rep.write()
	if err := os.WriteFile(*out, doc, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench-report:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "bench-report: wrote %s in %s (step output: %s)\n", *out, rep.machine.Elapsed.Round(time.Second), *logPath)
	for _, g := range rep.goals {
		fmt.Fprintf(os.Stderr, "  %-7s %s: %s\n", g.verdict(), g.what, g.figure)
	}
	if len(rep.failed) > 0 {
		fmt.Fprintf(os.Stderr, "bench-report: %d step(s) failed; the document says which\n", len(rep.failed))
		os.RemoveAll(tmp)
		os.Exit(1)
	}
}
