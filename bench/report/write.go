package main

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/otelcol-flipt/otelcol-flipt/bench/internal/loadresult"
)

type profile struct {
	name   string
	shares []share // the table's rows
	all    []share
}

func (r *report) prof(name string) *profile {
	for i := range r.profiles {
		if r.profiles[i].name == name {
			return &r.profiles[i]
		}
	}
	return nil
}

// goal is one target of the summary and whether this run met it.
type goal struct {
	what, figure, target string
	measured, met        bool
}

func (g goal) verdict() string {
	switch {
	case !g.measured:
		return "not measured"
	case g.met:
		return "met"
	default:
		return "NOT MET"
	}
}

type report struct {
	machine machine
	res     results
	failed  map[string]string
	cmds    map[string]string
	load    map[string]*loadresult.Result
	// groupCommit is the before/after pairs of the group commit, nil when
	// not measured.
	groupCommit *loadresult.GroupCommit
	profiles    []profile
	goals       []goal
	b           bytes.Buffer
}

func (r *report) p(format string, args ...any) { fmt.Fprintf(&r.b, format+"\n", args...) }

// num formats a figure with thousands separators (and digits for small ones).
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v >= 100_000_000:
		return fmt.Sprintf("%.0f M", v/1e6)
	case v >= 10_000_000:
		return fmt.Sprintf("%.1f M", v/1e6)
	case v >= 1000:
		s := fmt.Sprintf("%.0f", v)
		var out []byte
		for i, c := range []byte(s) {
			if i > 0 && (len(s)-i)%3 == 0 {
				out = append(out, ',')
			}
			out = append(out, c)
		}
		return string(out)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// count formats a whole number of things, with thousands separators.
func count(n int) string {
	if n < 1000 {
		return fmt.Sprint(n)
	}
	return num(float64(n))
}

func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// med is the median of unit for name, NaN when the run has none.
func (r *report) med(name, unit string) float64 {
	if v, ok := r.res.median(name, unit); ok {
		return v
	}
	return math.NaN()
}

func (r *report) runs(name, unit string) string {
	vs := r.res.all(name, unit)
	if len(vs) == 0 {
		return "not measured"
	}
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = num(v)
	}
	return strings.Join(s, " · ")
}

// addGoal records a goal; ok is the comparison, measured whether its inputs exist.
func (r *report) addGoal(what, target, figure string, measured, ok bool) {
	r.goals = append(r.goals, goal{what: what, target: target, figure: figure, measured: measured, met: measured && ok})
}

func known(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) {
			return false
		}
	}
	return true
}

func (r *report) cmd(step string) {
	r.p("```sh")
	r.p("%s", r.cmds[step])
	r.p("```")
	if e, ok := r.failed[step]; ok {
		r.p("")
		r.p("**This step failed in this run (%s); its rows are missing or partial.**", e)
	}
	r.p("")
}

func (r *report) write() []byte {
	body := r.sections() // computes the goals the summary shows
	r.b.Reset()
	m := r.machine
	r.p("# Benchmarks")
	r.p("")
	r.p("<!-- Written by `make bench-report` (bench/report); do not edit by hand: rerun it. -->")
	r.p("")
	dirty := ""
	if m.Dirty {
		dirty = " **with uncommitted changes**"
	}
	r.p("Every figure below comes from **one run of `make bench-report` on commit `%s`%s**, %s, %s,", m.Commit, dirty,
		m.Start.Format("2006-01-02 15:04 UTC"), fmtDur(m.Elapsed))
	r.p("on **%d cores (%s), %.1f GiB, %s, %s**. Load average (1 / 5 / 15 min) before: %s; after: %s.",
		m.CPUs, m.CPUModel, m.MemGiB, m.Go, m.OS, m.LoadPre, m.LoadPost)
	r.p("The machine is shared with other work, so absolute numbers move between runs (by up to 2–3x); every")
	r.p("comparison is measured in the same run as its baseline, and the ratios are what to read. Figures are")
	r.p("medians of the repetitions shown. The benchmarks live in the separate module `bench/` so that contrib")
	r.p("baselines stay out of the product's `go.mod`. To rerun and rewrite this file:")
	r.p("")
	r.p("```sh")
	r.p("make bench-report")
	r.p("```")
	r.p("")
	r.p("## Goals")
	r.p("")
	r.p("| goal | this run | verdict |")
	r.p("|---|---|---|")
	for _, g := range r.goals {
		v := g.verdict()
		if v != "met" {
			v = "**" + v + "**"
		}
		r.p("| %s: %s | %s | %s |", g.what, g.target, g.figure, v)
	}
	r.p("")
	var unmet []string
	for _, g := range r.goals {
		if g.verdict() != "met" {
			unmet = append(unmet, g.what+" ("+g.target+")")
		}
	}
	if len(unmet) > 0 {
		r.p("Not met in this run: %s. Where the time goes is under [Profiles](#profiles).", strings.Join(unmet, "; "))
		r.p("")
	}
	if len(r.failed) > 0 {
		names := make([]string, 0, len(r.failed))
		for n := range r.failed {
			names = append(names, n)
		}
		slices.Sort(names)
		r.p("Steps that failed in this run: %s.", strings.Join(names, ", "))
		r.p("")
	}
	r.b.Write(body)
	return bytes.Clone(r.b.Bytes())
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%dm%02ds in all", int(d.Minutes()), int(d.Seconds())%60)
}

func (r *report) sections() []byte {
	r.b.Reset()
	r.ingest()
	r.ndjson()
	r.auditfile()
	r.cachemetrics()
	r.evaluationmetrics()
	r.decode()
	r.shape()
	r.e2e()
	r.groupCommitSection()
	r.profileSection()
	return bytes.Clone(r.b.Bytes())
}

func (r *report) ingest() {
	r.p("## Webhook ingest beside the `otlp` receiver and a bare handler")
	r.p("")
	r.p("`bench/ingest`: three HTTP servers on loopback, into a no-op consumer:")
	r.p("- `bare net/http`: a handler that reads and discards the body, the ceiling; it gets the webhook's very")
	r.p("  requests, signature header and all, since parsing them is net/http's work whatever the handler;")
	r.p("- `otlp` receiver: the collector's own, each event as the one-record OTLP/HTTP JSON logs request")
	r.p("  `flipt_audit` would make of it;")
	r.p("- `flipt_audit` webhook with `signing_secret`: the event as Flipt sends it, with its real signature;")
	r.p("  decoded, verified and turned into a record.")
	r.p("")
	r.p("Two drivers, each in the same process as the servers (client and server share both cores alike for every row):")
	r.p("the project's, 8 keep-alive connections repeating one captured event (the flag whose description is")
	r.p("`Tom & Jerry <beta> \"quoted\"`); and the captures', 2 connections replaying in turn the 51 bodies a real")
	r.p("Flipt v1.61.1 sent, each with its signature. CPU µs/req is the process's CPU time (client and server) per")
	r.p("request: on shared cores it moves much less between runs than req/s does. The command runs %d times, each", ingestRounds)
	r.p("server once a round, so the three servers take turns rather than one running all its repetitions before the")
	r.p("next; the tables show the medians of the %d.", ingestRounds)
	r.p("")
	r.cmd("ingest")
	for _, d := range []struct{ bench, title string }{
		{"BenchmarkIngest", "8 connections, one event"},
		{"BenchmarkIngestCaptures", "2 connections, the 51 captured bodies"},
	} {
		bare := r.med(d.bench+"/bare_net_http", "req/s")
		otlp := r.med(d.bench+"/otlp_receiver_logs_json", "req/s")
		wh := r.med(d.bench+"/flipt_audit_webhook_signed", "req/s")
		r.p("%s:", d.title)
		r.p("")
		r.p("| server | req/s (runs) | median | vs otlp | vs bare | CPU µs/req | p50 µs | p99 µs |")
		r.p("|---|---|---|---|---|---|---|---|")
		for _, row := range []struct{ name, label string }{
			{"bare_net_http", "bare `net/http`"}, {"otlp_receiver_logs_json", "`otlp` receiver (OTLP/HTTP JSON logs)"},
			{"flipt_audit_webhook_signed", "`flipt_audit` webhook, signed"},
		} {
			n := d.bench + "/" + row.name
			v := r.med(n, "req/s")
			r.p("| %s | %s | %s | %s | %s | %s | %s | %s |", row.label, r.runs(n, "req/s"), num(v), ratio(v, otlp), pct(v, bare),
				num(r.med(n, "cpu-µs/req")), num(r.med(n, "p50-µs")), num(r.med(n, "p99-µs")))
		}
		r.p("")
		r.addGoal("webhook ingest, "+d.title, "≥ 1.2x the `otlp` receiver", ratio(wh, otlp)+" (webhook "+num(wh)+" req/s, otlp "+num(otlp)+")",
			known(wh, otlp), wh >= 1.2*otlp)
		r.addGoal("webhook ingest, "+d.title, "≥ 70% of bare `net/http`", pct(wh, bare)+" (bare "+num(bare)+" req/s)",
			known(wh, bare), wh >= 0.7*bare)
	}
}

// refusals lists a load run's refused requests by status, or "none".
func refusals(l *loadresult.Result) string {
	var parts []string
	for _, x := range []struct {
		what string
		m    map[int]int
	}{{"webhook", l.Webhook.Refused}, {"OTLP", l.OTLP.Refused}} {
		codes := make([]int, 0, len(x.m))
		for c := range x.m {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		for _, c := range codes {
			parts = append(parts, fmt.Sprintf("%s %d × %d", x.what, x.m[c], c))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func pct(a, b float64) string {
	if b == 0 || !known(a, b) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", 100*a/b)
}

func (r *report) ndjson() {
	r.p("## NDJSON bodies of 1,000 events beside one OTLP/JSON logs request of the same 1,000")
	r.p("")
	r.p("`BenchmarkNDJSONBatches`: 2 connections; the webhook gets signed NDJSON bodies of 1,000 events, the `otlp`")
	r.p("receiver the same 1,000 events as the records of one OTLP/HTTP JSON logs request.")
	r.p("")
	r.cmd("ndjson")
	otlp := r.med("BenchmarkNDJSONBatches/otlp_receiver_logs_json", "events/s")
	wh := r.med("BenchmarkNDJSONBatches/flipt_audit_webhook_ndjson", "events/s")
	r.p("| server | events/s (runs) | median | vs otlp | CPU µs/event | p50 ms | p99 ms |")
	r.p("|---|---|---|---|---|---|---|")
	for _, row := range []struct{ name, label string }{
		{"otlp_receiver_logs_json", "`otlp` receiver, 1,000 records per request"},
		{"flipt_audit_webhook_ndjson", "`flipt_audit` webhook, NDJSON × 1,000 events, signed"},
	} {
		n := "BenchmarkNDJSONBatches/" + row.name
		v := r.med(n, "events/s")
		r.p("| %s | %s | %s | %s | %s | %s | %s |", row.label, r.runs(n, "events/s"), num(v), ratio(v, otlp),
			num(r.med(n, "cpu-µs/req")/1000), num(r.med(n, "p50-µs")/1000), num(r.med(n, "p99-µs")/1000))
	}
	r.p("")
	r.addGoal("NDJSON × 1,000 events", "≥ 2x the `otlp` receiver fed the same events as one request",
		ratio(wh, otlp)+" ("+num(wh)+" vs "+num(otlp)+" events/s)", known(wh, otlp), wh >= 2*otlp)
}

func (r *report) auditfile() {
	r.p("## `audit_file` beside contrib's `file` exporter")
	r.p("")
	r.p("`bench/auditfile`: both exporters built from their factories (`format: json` for both; contrib's never")
	r.p("fsyncs). One caller at a time with batches of 100 captured audit records; then 64 concurrent callers of")
	r.p("single-event batches (the webhook's shape under load), where the group commit shares one write and one")
	r.p("fsync among the batches waiting for the disk.")
	r.p("")
	r.cmd("auditfile")
	base := r.med("BenchmarkContribFileExporterJSON", "records/s")
	r.p("| one caller, batches of 100 | records/s (runs) | median | vs contrib | MB/s | allocs/record |")
	r.p("|---|---|---|---|---|---|")
	for _, row := range []struct{ name, label string }{
		{"BenchmarkContribFileExporterJSON", "contrib `file`, `format: json`"},
		{"BenchmarkAuditFile/fsync=never", "`audit_file`, `fsync: never` (buffered, `flush_interval: 1s`)"},
		{"BenchmarkAuditFile/fsync=never/flush_interval=0", "`audit_file`, `fsync: never`, `flush_interval: 0`"},
		{"BenchmarkAuditFile/fsync=on_flush", "`audit_file`, `fsync: on_flush`"},
		{"BenchmarkAuditFile/fsync=every_batch", "`audit_file`, `fsync: every_batch` (the default)"},
		{"BenchmarkAuditFile/fsync=every_batch/hash_chain", "`audit_file`, `every_batch` + `hash_chain`"},
	} {
		v := r.med(row.name, "records/s")
		r.p("| %s | %s | %s | %s | %s | %s |", row.label, r.runs(row.name, "records/s"), num(v), ratio(v, base),
			num(r.med(row.name, "MB/s")), num(r.med(row.name, "allocs/record")))
	}
	r.p("")
	never := r.med("BenchmarkAuditFile/fsync=never", "records/s")
	r.addGoal("`audit_file`, `fsync: never`", "≥ 3x contrib `file`", ratio(never, base)+" ("+num(never)+" vs "+num(base)+" records/s)",
		known(never, base), never >= 3*base)
	cbase := r.med("BenchmarkContribFileExporterJSONConcurrent", "records/s")
	r.p("| 64 concurrent single-event callers | records/s (runs) | median | vs contrib | B/op |")
	r.p("|---|---|---|---|---|")
	for _, row := range []struct{ name, label string }{
		{"BenchmarkContribFileExporterJSONConcurrent", "contrib `file`, `format: json` (never fsyncs)"},
		{"BenchmarkAuditFileConcurrent/fsync=every_batch", "`audit_file`, `fsync: every_batch` (the default), group commit"},
		{"BenchmarkAuditFileConcurrent/fsync=every_batch/hash_chain", "`audit_file`, `every_batch` + `hash_chain`, group commit"},
		{"BenchmarkAuditFileConcurrent/fsync=never", "`audit_file`, `fsync: never`"},
	} {
		v := r.med(row.name, "records/s")
		r.p("| %s | %s | %s | %s | %s |", row.label, r.runs(row.name, "records/s"), num(v), ratio(v, cbase), num(r.med(row.name, "B/op")))
	}
	r.p("")
	one := r.med("BenchmarkAuditFile/fsync=every_batch", "records/s") / 100 // batches/s, each one fsync
	grp := r.med("BenchmarkAuditFileConcurrent/fsync=every_batch", "records/s")
	r.p("With `every_batch` one caller gets %s fsyncs/s (one per batch); 64 concurrent single-event callers get %s", num(one), num(grp))
	r.p("fsynced events/s, %s that fsync rate, which only sharing fsyncs makes possible. The cost of each fsync policy", ratio(grp, one))
	r.p("is the difference between rows; the default pays for \"a 200 means it is on disk\".")
	r.p("")
}

func (r *report) cachemetrics() {
	r.p("## `cache_metrics` beside contrib's `span_metrics`")
	r.p("")
	r.p("`bench/cachemetrics`: both connectors built from their factories, fed through `ConsumeTraces` only.")
	r.p("`FliptCaptures` replays the 8 captured Flipt exports (616 spans) with fresh trace ids each pass (a")
	r.p("replayed id is a re-send `cache_metrics` skips); `AttributeSpans` is 512 spans, every fourth with `cache.hit`.")
	r.p("The renewal of trace ids is the benchmark's setup: it is timed with the clock and subtracted from the rates, the")
	r.p("same for every contender (`bench/internal/spanrate`). `b.StopTimer` is not used for it: it reads the runtime's")
	r.p("memory statistics, which stops the world, and the calls timed right after it run slower for it, the faster")
	r.p("contender the more; add `-args -spanrate.stoptimer` to the command to measure that way instead.")
	r.p("")
	r.cmd("cachemetrics")
	for _, set := range []string{"FliptCaptures", "AttributeSpans"} {
		base := r.med("Benchmark"+set+"/span_metrics", "spans/s")
		r.p("| %s | spans/s (runs) | median | ns/span | B/op | allocs/op | vs span_metrics |", set)
		r.p("|---|---|---|---|---|---|---|")
		for _, row := range []struct{ name, label string }{
			{"cache_metrics_flipt", "`cache_metrics`, `preset: flipt` (the default pipeline's)"},
			{"cache_metrics_attr", "`cache_metrics`, attribute rules (factory default)"},
			{"span_metrics", "contrib `span_metrics`"},
		} {
			n := "Benchmark" + set + "/" + row.name
			v := r.med(n, "spans/s")
			r.p("| %s | %s | %s | %s | %s | %s | %s |", row.label, r.runs(n, "spans/s"), num(v), num(r.med(n, "ns/span")),
				num(r.med(n, "B/op")), num(r.med(n, "allocs/op")), ratio(v, base))
		}
		r.p("")
	}
	fl := r.med("BenchmarkFliptCaptures/cache_metrics_flipt", "spans/s")
	base := r.med("BenchmarkFliptCaptures/span_metrics", "spans/s")
	r.addGoal("`cache_metrics`, `preset: flipt`, Flipt's captures", "≥ 8x contrib `span_metrics`",
		ratio(fl, base)+" ("+num(fl)+" vs "+num(base)+" spans/s)", known(fl, base), fl >= 8*base)
	bop := r.med("BenchmarkFliptCaptures/cache_metrics_flipt", "B/op")
	r.addGoal("`cache_metrics`, `preset: flipt`, Flipt's captures", "0 B allocated per batch in steady state",
		num(bop)+" B per batch (median over the runs; `allocs/op` rounds to "+num(r.med("BenchmarkFliptCaptures/cache_metrics_flipt", "allocs/op"))+")",
		known(bop), bop == 0)
}

func (r *report) evaluationmetrics() {
	r.p("## `evaluation_metrics` beside contrib's `span_metrics`")
	r.p("")
	r.p("`bench/evaluationmetrics`: both built from their factories, fed the captured traces of a real Flipt v1.61.1")
	r.p("(8 bodies, 616 spans, 34 evaluations) and v2.11.0 (4 bodies, 619 spans, 422 evaluation events), with fresh")
	r.p("trace ids each pass. `span_metrics` cannot read span events, so it is not doing the same job; it is the")
	r.p("nearest contrib connector, as a yardstick of cost. The renewal of trace ids before every call is timed apart and")
	r.p("subtracted, as for `cache_metrics` above.")
	r.p("")
	r.cmd("evaluationmetrics")
	for _, set := range []string{"FliptV1Captures", "FliptV2Captures"} {
		base := r.med("Benchmark"+set+"/span_metrics", "spans/s")
		r.p("| %s | spans/s (runs) | median | ns/span | allocs/op | vs span_metrics |", set)
		r.p("|---|---|---|---|---|---|")
		for _, row := range []struct{ name, label string }{
			{"evaluation_metrics", "`evaluation_metrics` (factory default, dedup on)"},
			{"evaluation_metrics_no_dedup", "`evaluation_metrics`, dedup off"},
			{"evaluation_metrics_v2_labels", "`evaluation_metrics`, `labels: v2`"},
			{"span_metrics", "contrib `span_metrics`, defaults"},
			{"span_metrics_flipt_dims", "contrib `span_metrics`, the v1 evaluation attributes as dimensions"},
		} {
			n := "Benchmark" + set + "/" + row.name
			v := r.med(n, "spans/s")
			r.p("| %s | %s | %s | %s | %s | %s |", row.label, r.runs(n, "spans/s"), num(v), num(r.med(n, "ns/span")),
				num(r.med(n, "allocs/op")), ratio(v, base))
		}
		r.p("")
		ev := r.med("Benchmark"+set+"/evaluation_metrics", "spans/s")
		captures := map[string]string{"FliptV1Captures": "Flipt v1.61.1's captures", "FliptV2Captures": "Flipt v2.11.0's captures"}[set]
		r.addGoal("`evaluation_metrics` (factory default), "+captures, "≥ 5x contrib `span_metrics`",
			ratio(ev, base)+" ("+num(ev)+" vs "+num(base)+" spans/s)", known(ev, base), ev >= 5*base)
		allocs := r.med("Benchmark"+set+"/evaluation_metrics", "allocs/op")
		r.addGoal("`evaluation_metrics` (factory default), "+captures, "zero allocations per span in steady state",
			num(allocs)+" allocs per batch (median over the runs)", known(allocs), allocs == 0)
	}
}

func (r *report) decode() {
	r.p("## Decoding cost per body byte beside `encoding/json`")
	r.p("")
	r.p("`internal/auditevent` `BenchmarkDecodeShapes`: memory allocated per body byte decoding Flipt-shaped events and")
	r.p("the worst shapes under the limits into log records, beside `encoding/json` decoding the same body into `any`.")
	r.p("")
	r.cmd("decode")
	var shapes []string
	for name := range r.res {
		if s, ok := strings.CutPrefix(name, "BenchmarkDecodeShapes/"); ok {
			if base, ok := strings.CutSuffix(s, "/flipt"); ok {
				shapes = append(shapes, base)
			}
		}
	}
	slices.Sort(shapes)
	r.p("| shape | B/byte, ours | B/byte, `encoding/json` | MB/s, ours | MB/s, `encoding/json` | speed vs `encoding/json` |")
	r.p("|---|---|---|---|---|---|")
	for _, s := range shapes {
		o, j := "BenchmarkDecodeShapes/"+s+"/flipt", "BenchmarkDecodeShapes/"+s+"/encoding_json"
		r.p("| %s | %s | %s | %s | %s | %s |", s, num(r.med(o, "B/byte")), num(r.med(j, "B/byte")),
			num(r.med(o, "MB/s")), num(r.med(j, "MB/s")), ratio(r.med(o, "MB/s"), r.med(j, "MB/s")))
	}
	r.p("")
	r.p("(`over_max_elements` is refused by the scan before any record is made, so `encoding/json` has no row for it.)")
	r.p("")
}

func (r *report) shape() {
	r.p("## `cache_metrics`: deep parent chains beside flat batches")
	r.p("")
	r.p("`processor/cachemetrics` `BenchmarkShape`: the same spans (one lookup at the root, one backend span, the rest")
	r.p("plain) as one flat batch and as one parent chain, root first or leaf first; the `flipt` preset's inference")
	r.p("must cost about the same per span for all.")
	r.p("")
	r.cmd("shape")
	r.p("| spans | flat ns/span | chain, root first | ratio | chain, leaf first | ratio |")
	r.p("|---|---|---|---|---|---|")
	for _, n := range []string{"2000", "32000"} {
		flat := r.med("BenchmarkShape/flat/"+n, "ns/span")
		rf := r.med("BenchmarkShape/chain_root_first/"+n, "ns/span")
		lf := r.med("BenchmarkShape/chain_leaf_first/"+n, "ns/span")
		r.p("| %s | %s | %s | %s | %s | %s |", num(atof(n)), num(flat), num(rf), ratio(rf, flat), num(lf), ratio(lf, flat))
	}
	r.p("")
}

func atof(s string) float64 {
	var v float64
	fmt.Sscan(s, &v)
	return v
}

func (r *report) e2e() {
	r.p("## End to end: the built binary on its default pipeline")
	r.p("")
	r.p("`bench/e2e` builds `otelcol-flipt`, starts it on its embedded default pipeline (webhook with signing secret →")
	r.p("`audit_file` with `fsync: every_batch`; OTLP traces → `cache_metrics` and `flipt_audit/traces` → the same")
	r.p("file), and drives mixed Flipt traffic with `flipt-loadgen`'s library: half the events as single signed webhook")
	r.p("POSTs through a Flipt-like retrying client (go-retryablehttp, 5 attempts), half as OTLP/HTTP trace exports of")
	r.p("50 audit span events plus 50 cache-lookup spans. Every event carries a unique key; at the end the audit file")
	r.p("(and its rotated copies) is checked: every acknowledged event exactly once. Peak RSS is sampled from")
	r.p("`/proc/<pid>/status` every 100 ms, CPU from `/proc/<pid>/stat`. The test reports the rate it achieved beside")
	r.p("the rate it was asked for, and fails when it falls below 95%% of it.")
	r.p("")
	r.p("```sh")
	for _, s := range []string{"e2e-rate", "e2e-64", "e2e-16"} {
		r.p("%s", r.cmds[s])
	}
	r.p("```")
	r.p("")
	r.p("| run | asked, events/s | achieved, events/s | webhook senders | webhook events/s (p50 / p99) | OTLP events/s (p50 / p99) | acked / sent | refused (after the client's retries) | lost / duplicated | peak RSS | CPU per 1k events |")
	r.p("|---|---|---|---|---|---|---|---|---|---|---|")
	var unacked []string
	for _, s := range []struct{ step, label string }{
		{"e2e-rate", "paced, 30 s"}, {"e2e-64", "flat out, 15 s"}, {"e2e-16", "flat out, 15 s"},
	} {
		l := r.load[s.step]
		if l == nil {
			r.p("| %s | | | | not measured: %s | | | | | | |", s.label, r.failed[s.step])
			continue
		}
		asked := "flat out"
		if l.RateTarget > 0 {
			asked = num(l.RateTarget)
		}
		achieved := num(l.RateAchieved)
		if l.RateTarget > 0 && !l.TargetReached {
			achieved = fmt.Sprintf("**%s: target not reached (%s)**", achieved, pct(l.RateAchieved, l.RateTarget))
		}
		r.p("| %s | %s | %s | %d | %s (%s / %s ms) | %s (%s / %s ms) | %s / %s | %s | %d / %d | %s MiB | %s ms |",
			s.label, asked, achieved, l.Senders,
			num(l.Webhook.EventsPerSec), num(l.Webhook.Latency.P50), num(l.Webhook.Latency.P99),
			num(l.OTLP.EventsPerSec), num(l.OTLP.Latency.P50), num(l.OTLP.Latency.P99),
			num(float64(l.Webhook.Acked+l.OTLP.Acked)), num(float64(l.Webhook.Sent+l.OTLP.Sent)),
			refusals(l), l.Lost(), l.Duplicated(), num(l.PeakRSSMiB), num(l.CPUMsPer1k))
		if l.Webhook.Acked != l.Webhook.Sent || l.OTLP.Acked != l.OTLP.Sent {
			unacked = append(unacked, fmt.Sprintf("%s with %d webhook senders: %s", s.label, l.Senders, refusals(l)))
		}
	}
	r.p("")
	if len(unacked) > 0 {
		r.p("**Not every event was acknowledged** (the test then fails, as it did): %s. A refused request is", strings.Join(unacked, "; "))
		r.p("answered with a retryable status; Flipt's client retries it, here up to 5 attempts, after which the test")
		r.p("counts it as refused. The lost column counts acknowledged events missing from the file.")
		r.p("")
	}
	if l := r.load["e2e-rate"]; l != nil {
		if l.TargetReached {
			r.p("The paced run reached its target: %s events/s asked, %s achieved.", num(l.RateTarget), num(l.RateAchieved))
		} else {
			r.p("**The paced run did not reach its target**: %s events/s asked, %s achieved (%s); the figures above are what",
				num(l.RateTarget), num(l.RateAchieved), pct(l.RateAchieved, l.RateTarget))
			r.p("the collector sustained on this machine in this run, not the target.")
		}
		r.p("")
		r.addGoal("end to end, "+num(l.RateTarget)+" events/s", "the asked rate reached",
			num(l.RateAchieved)+" events/s achieved ("+pct(l.RateAchieved, l.RateTarget)+")", true, l.TargetReached)
		r.addGoal("end to end", "zero loss, zero duplicates, peak RSS < 150 MiB",
			fmt.Sprintf("%d lost, %d duplicated, %s MiB", l.Lost(), l.Duplicated(), num(l.PeakRSSMiB)), true,
			l.Lost() == 0 && l.Duplicated() == 0 && l.PeakRSSMiB < 150)
	} else {
		r.addGoal("end to end", "the asked rate reached; zero loss; RSS < 150 MiB", "not measured", false, false)
	}
	w64, w16 := r.load["e2e-64"], r.load["e2e-16"]
	if w64 != nil && w16 != nil {
		r.p("Flat out, 64 webhook senders reached %s webhook events/s and 16 reached %s (%s): with the group commit more",
			num(w64.Webhook.EventsPerSec), num(w16.Webhook.EventsPerSec), ratio(w64.Webhook.EventsPerSec, w16.Webhook.EventsPerSec))
		r.p("concurrent senders share fsyncs instead of queueing behind them (one caller's fsynced batches/s is in the")
		r.p("`audit_file` table above).")
		r.p("")
	}
}

// groupCommitSection: the end-to-end gain of audit_file's group commit, read
// against the binary of the commit before it, in alternating pairs.
func (r *report) groupCommitSection() {
	const flatGoal, flatWhat = 5.0, "end to end, 64 signed webhook senders flat out"
	const pacedWhat = "end to end, 16 signed webhook senders at 1,000 events/s"
	r.p("## Group commit end to end: before and after")
	r.p("")
	r.p("`TestGroupCommitGain` (`bench/e2e`) builds the binary of commit `%s`, the last before `audit_file`'s group", groupCommitBase)
	r.p("commit, from `git archive`, and runs it and this commit's binary in turn on the default pipeline (`fsync:")
	r.p("every_batch`), each going first in every other pair: 64 signed single-event webhook senders flat out, then 16")
	r.p("paced to 1,000 events/s, the load the collector sustained before. The senders do not retry (a refused event")
	r.p("counts as refused); the figure is acknowledged events per second, and every acknowledged event is checked in")
	r.p("the audit file, once.")
	r.p("")
	r.cmd("groupcommit")
	g := r.groupCommit
	if g == nil || len(g.Pairs) == 0 {
		r.addGoal(flatWhat, fmt.Sprintf("≥ %.0fx the events/s before the group commit", flatGoal), "not measured", false, false)
		r.addGoal(pacedWhat, "p99 no worse than before the group commit", "not measured", false, false)
		return
	}
	r.p("| pair | 64 flat out, before: events/s (p99) | after: events/s (p99) | gain | 16 at 1,000/s, before: p99 | after: p99 |")
	r.p("|---|---|---|---|---|---|")
	var bf, af, bp, ap, gains []float64
	lost, dup, refused := 0, 0, [2]int{}
	for i, p := range g.Pairs {
		bf, af = append(bf, p.Before.Flat.EventsPerSec), append(af, p.After.Flat.EventsPerSec)
		bp, ap = append(bp, p.Before.Paced.P99ms), append(ap, p.After.Paced.P99ms)
		gains = append(gains, p.After.Flat.EventsPerSec/p.Before.Flat.EventsPerSec)
		for _, run := range []loadresult.Run{p.Before.Flat, p.Before.Paced, p.After.Flat, p.After.Paced} {
			lost, dup = lost+run.Lost, dup+run.Duplicated
		}
		for k, side := range []loadresult.Side{p.Before, p.After} {
			refused[k] += side.Flat.Sent - side.Flat.Acked + side.Paced.Sent - side.Paced.Acked
		}
		r.p("| %d | %s (%s ms) | %s (%s ms) | %s | %s ms | %s ms |", i+1,
			num(p.Before.Flat.EventsPerSec), num(p.Before.Flat.P99ms), num(p.After.Flat.EventsPerSec), num(p.After.Flat.P99ms),
			ratio(p.After.Flat.EventsPerSec, p.Before.Flat.EventsPerSec), num(p.Before.Paced.P99ms), num(p.After.Paced.P99ms))
	}
	mbf, maf, mbp, map99 := median(bf), median(af), median(bp), median(ap)
	r.p("| median | %s | %s | %s | %s ms | %s ms |", num(mbf), num(maf), ratio(maf, mbf), num(mbp), num(map99))
	r.p("")
	r.p("Over all %d runs: acknowledged events lost / duplicated %d / %d; events not acknowledged (refused with a",
		4*len(g.Pairs), lost, dup)
	r.p("retryable status, or cut off at the run's end) %s before the group commit, %s with it.", count(refused[0]), count(refused[1]))
	r.p("")
	gainList := make([]string, len(gains))
	for i, v := range gains {
		gainList[i] = fmt.Sprintf("%.2fx", v)
	}
	r.addGoal(flatWhat, fmt.Sprintf("≥ %.0fx the events/s before the group commit", flatGoal),
		fmt.Sprintf("%s (%s vs %s events/s, medians of %d pairs; the pairs: %s)", ratio(maf, mbf), num(maf), num(mbf),
			len(g.Pairs), strings.Join(gainList, ", ")), true, maf >= flatGoal*mbf && lost == 0 && dup == 0)
	r.addGoal(pacedWhat, "p99 no worse than before the group commit",
		fmt.Sprintf("%s ms vs %s ms before (medians)", num(map99), num(mbp)), true, map99 <= mbp && lost == 0 && dup == 0)
}

// median of vs (not empty), which it sorts.
func median(vs []float64) float64 {
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2]
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
}

func (r *report) profileSection() {
	r.p("## Profiles")
	r.p("")
	r.p("CPU profiles taken in the same run (`-cpuprofile`, then `go tool pprof -top -cum`), cumulative shares of all")
	r.p("samples for the functions that explain the rows above (client and server share the process in the ingest")
	r.p("benchmarks, so the driver's own functions are listed too).")
	r.p("")
	titles := map[string]string{
		"webhook":      "`flipt_audit` webhook, the captures' driver (step `profile-webhook`)",
		"otlp":         "`otlp` receiver, the captures' driver, for comparison (step `profile-otlp`)",
		"cachemetrics": "`cache_metrics`, `preset: flipt`, Flipt's captures (step `profile-cachemetrics`)",
	}
	if w, o := r.prof("webhook"), r.prof("otlp"); w != nil && o != nil {
		r.p("Where the ingest time goes, from these profiles. In the webhook run the server's connection loop")
		r.p("(`net/http.(*conn).serve`) takes %.0f%% of all samples; inside it the collector's HTTP middleware chain",
			cumOf(w.all, "net/http.(*conn).serve"))
		r.p("(`confighttp`; the webhook skips `otelhttp` when the collector keeps nothing it records, as at its default")
		r.p("telemetry settings here, see the receiver's README, while the `otlp` receiver runs it) %.0f%%, of which the receiver's own handler",
			cumOf(w.all, "confighttp.(*clientInfoHandler).ServeHTTP"))
		r.p("%.0f%%: building the records %.0f%%, the scan before it %.0f%%, the signature %.0f%%, the hand-off to the next consumer (its watchdog and the receiver's metrics) %.0f%%. In the `otlp` run its chain",
			cumOf(w.all, "fliptaudit.(*webhookHandler).ServeHTTP"), cumOf(w.all, "fliptaudit.decodeWebhookBody"),
			cumOf(w.all, "auditevent.Limits.Check"), cumOf(w.all, "fliptaudit.validSignature")+cumOf(w.all, "fliptaudit.(*signer).valid"),
			cumOf(w.all, "fliptaudit.handOff")+cumOf(w.all, "fliptaudit.(*webhookHandler).arm")+
				cumOf(w.all, "fliptaudit.(*webhookHandler).disarm")+cumOf(w.all, "fliptaudit.(*auditReceiver).consumer.func1"))
		r.p("takes %.0f%%, its handler %.0f%% (unmarshalling %.0f%%). The rest is net/http's request reading and response",
			cumOf(o.all, "confighttp.(*clientInfoHandler).ServeHTTP"), cumOf(o.all, "otlpreceiver.handleLogs"),
			cumOf(o.all, "plogotlp.ExportRequest.UnmarshalJSON"))
		r.p("writing, the client driver in the same process (`ingest.drive`, the transport's read and write loops), the")
		chain := cumOf(w.all, "confighttp.(*clientInfoHandler).ServeHTTP") - cumOf(w.all, "fliptaudit.(*webhookHandler).ServeHTTP")
		r.p("scheduler and the garbage collector, which a bare handler pays too: the gap to bare `net/http` is the")
		r.p("middleware chain (%.0f%% without the handler) plus the handler (%.0f%%).",
			chain, cumOf(w.all, "fliptaudit.(*webhookHandler).ServeHTTP"))
		r.p("")
	}
	if c := r.prof("cachemetrics"); c != nil {
		r.p("In the `cache_metrics` run, `ConsumeTraces` takes %.0f%% of all samples: the one pass over each span's",
			cumOf(c.all, "cachemetrics.(*cacheConnector).ConsumeTraces"))
		r.p("attributes (`attrIndex.scan`) %.0f%%, the inference's per-span bookkeeping (`inferrer.observe`: fingerprints,",
			cumOf(c.all, "cachemetrics.(*attrIndex).scan"))
		r.p("the batch's parent graph) %.0f%% and its marks from backend spans (`batch.markParent`) %.0f%%, the dedup table",
			cumOf(c.all, "cachemetrics.(*inferrer).observe"), cumOf(c.all, "cachemetrics.(*batch).markParent"))
		r.p("(`dedup.first`) %.0f%%, the decisions and", cumOf(c.all, "cachemetrics.(*dedup).first"))
		r.p("frontier under the lock (`inferrer.endBatch`) %.0f%%; the benchmark's own rewrite of trace ids (`newPass`, timed",
			cumOf(c.all, "cachemetrics.(*inferrer).endBatch"))
		r.p("apart and subtracted for both contenders, so in the profile but not in the rates) %.0f%%.",
			cumOf(c.all, "cachemetrics_test.newPass"))
		r.p("")
	}
	for _, name := range []string{"webhook", "otlp", "cachemetrics"} {
		pr := r.prof(name)
		r.p("%s:", titles[name])
		r.p("")
		r.cmd("profile-" + name)
		if pr == nil || len(pr.shares) == 0 {
			r.p("not measured in this run.")
			r.p("")
			continue
		}
		r.p("| cumulative share | function |")
		r.p("|---|---|")
		for _, s := range pr.shares {
			r.p("| %.1f%% | `%s` |", s.Cum, s.Func)
		}
		r.p("")
	}
}
