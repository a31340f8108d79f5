// Command flipt-loadgen sends Flipt-shaped traffic to an otelcol-flipt on
// this machine and reports what was acknowledged; `flipt-loadgen verify`
// counts loss and duplicates in the audit file at the far end.
//
//	flipt-loadgen -mode webhook -target http://127.0.0.1:8088/flipt/audit -secret s3cr3t -count 10000 -concurrency 8
//	flipt-loadgen -mode ndjson -batch 1000 -target http://127.0.0.1:8088/flipt/audit -duration 30s
//	flipt-loadgen -mode otlp-http -target http://127.0.0.1:4318 -batch 50 -rate 5000 -duration 60s
//	flipt-loadgen verify -run RUN -count N flipt-audit.log
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/otelcol-flipt/otelcol-flipt/internal/loadgen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "flipt-loadgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 && args[0] == "verify" {
		return verify(args[1:])
	}
	fs := flag.NewFlagSet("flipt-loadgen", flag.ContinueOnError)
	var cfg loadgen.Config
	fs.StringVar(&cfg.Mode, "mode", loadgen.ModeWebhook, "webhook | ndjson | otlp-http | otlp-grpc")
	fs.StringVar(&cfg.Target, "target", "http://127.0.0.1:8088/flipt/audit", "webhook URL, OTLP/HTTP base URL or OTLP/gRPC host:port (loopback only)")
	fs.StringVar(&cfg.Secret, "secret", os.Getenv("FLIPT_LOADGEN_SECRET"), "webhook signing secret (default $FLIPT_LOADGEN_SECRET)")
	fs.StringVar(&cfg.Run, "run", strconv.FormatInt(time.Now().Unix(), 36), "run name, part of every event key")
	fs.IntVar(&cfg.Count, "count", 0, "events to send (0: until -duration)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "how long to send (0: until -count)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "target events per second (0: flat out)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 1, "parallel senders")
	fs.IntVar(&cfg.Batch, "batch", 1, "events per request (ndjson, otlp-*)")
	fs.IntVar(&cfg.Scale, "scale", 1, "payload size multiplier")
	fs.BoolVar(&cfg.FliptRetry, "flipt-retry", false, "retry webhooks exactly as Flipt's sink does (5 attempts)")
	fs.DurationVar(&cfg.MaxBackoff, "max-backoff", 8*time.Second, "Flipt's audit.sinks.webhook.max_backoff_duration, with -flipt-retry")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "per-request timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkLoopback(cfg.Target); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func verify(args []string) error {
	fs := flag.NewFlagSet("flipt-loadgen verify", flag.ContinueOnError)
	runName := fs.String("run", "", "run name given to the sender")
	count := fs.Int("count", 0, "events the sender had acknowledged")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runName == "" || *count <= 0 || fs.NArg() == 0 {
		return errors.New("usage: flipt-loadgen verify -run RUN -count N FILE [FILE...]")
	}
	var data []byte
	for _, f := range fs.Args() {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		data = append(data, b...)
	}
	tally := loadgen.Verify(data, *runName, *count)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(tally); err != nil {
		return err
	}
	if !tally.OK() {
		return errors.New(tally.String())
	}
	return nil
}

// checkLoopback refuses targets off this machine: load is for loopback only.
func checkLoopback(target string) error {
	host := target
	if u, err := url.Parse(target); err == nil && u.Host != "" {
		host = u.Host
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("target %q is not a loopback address; flipt-loadgen only sends to this machine", target)
}
