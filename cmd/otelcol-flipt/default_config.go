package main

import (
	"os"
	"strings"
	"testing"

	"github.com/otelcol-flipt/otelcol-flipt/config"
)

// The generated main.go passes os.Args to the collector's command unchanged,
// and the collector refuses to start without --config. Adding the embedded
// default pipeline here, before main runs, keeps the generated files
// untouched (the manifest drift test compares them byte for byte).
func init() {
	if testing.Testing() {
		return // a test binary's arguments are test flags
	}
	os.Args = withDefaultConfig(os.Args)
}

// withDefaultConfig appends --config=flipt:default when args name no config
// and run the collector itself or a subcommand that reads a config.
func withDefaultConfig(args []string) []string {
	for _, a := range args[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "config" {
			return args
		}
	}
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") {
		switch args[1] {
		case "validate", "print-config":
		default:
			return args
		}
	}
	out := append([]string{}, args...)
	return append(out, "--config="+config.DefaultURI)
}
