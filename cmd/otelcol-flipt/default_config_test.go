package main

import (
	"slices"
	"testing"
)

func TestWithDefaultConfig(t *testing.T) {
	const def = "--config=flipt:default"
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"otelcol-flipt"}, []string{"otelcol-flipt", def}},
		{[]string{"otelcol-flipt", "--set=processors.batch.timeout=2s"}, []string{"otelcol-flipt", "--set=processors.batch.timeout=2s", def}},
		{[]string{"otelcol-flipt", "validate"}, []string{"otelcol-flipt", "validate", def}},
		{[]string{"otelcol-flipt", "print-config"}, []string{"otelcol-flipt", "print-config", def}},
		{[]string{"otelcol-flipt", "--config", "c.yaml"}, []string{"otelcol-flipt", "--config", "c.yaml"}},
		{[]string{"otelcol-flipt", "--config=c.yaml"}, []string{"otelcol-flipt", "--config=c.yaml"}},
		{[]string{"otelcol-flipt", "validate", "-config", "c.yaml"}, []string{"otelcol-flipt", "validate", "-config", "c.yaml"}},
		{[]string{"otelcol-flipt", "components"}, []string{"otelcol-flipt", "components"}},
		{[]string{"otelcol-flipt", "featuregate"}, []string{"otelcol-flipt", "featuregate"}},
		// A value that merely contains "config" is not the flag.
		{[]string{"otelcol-flipt", "--set=extensions.config=x"}, []string{"otelcol-flipt", "--set=extensions.config=x", def}},
	}
	for _, tt := range tests {
		if got := withDefaultConfig(tt.args); !slices.Equal(got, tt.want) {
			t.Errorf("withDefaultConfig(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}
