package config

import (
	"context"
	"os"
	"reflect"
	"testing"

	"go.opentelemetry.io/collector/confmap"
)

func TestProviderServesDefaultFile(t *testing.T) {
	p := NewFactory().Create(confmap.ProviderSettings{})
	if p.Scheme() != "flipt" {
		t.Fatalf("scheme %q", p.Scheme())
	}
	ret, err := p.Retrieve(context.Background(), DefaultURI, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ret.AsConf()
	if err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile("default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := confmap.NewRetrievedFromYAML(onDisk)
	if err != nil {
		t.Fatal(err)
	}
	want, err := fromFile.AsConf()
	if err != nil {
		t.Fatal(err)
	}
	if len(want.AllKeys()) == 0 || !reflect.DeepEqual(got.ToStringMap(), want.ToStringMap()) {
		t.Fatalf("served config differs from default.yaml:\n%v\n%v", got.ToStringMap(), want.ToStringMap())
	}
	if _, err := p.Retrieve(context.Background(), "flipt:other", nil); err == nil {
		t.Fatal("flipt:other was served")
	}
}

func TestSettingFieldsSayWhereItListensButNotTheSecret(t *testing.T) {
	env := map[string]string{"OTELCOL_FLIPT_WEBHOOK_ENDPOINT": "0.0.0.0:9999", "OTELCOL_FLIPT_WEBHOOK_SECRET": "hunter2"}
	got := map[string]string{}
	for _, f := range settingFields(func(k string) (string, bool) { v, ok := env[k]; return v, ok }) {
		got[f.Key] = f.String
	}
	want := map[string]string{
		"OTELCOL_FLIPT_WEBHOOK_ENDPOINT":    "0.0.0.0:9999",
		"OTELCOL_FLIPT_WEBHOOK_SECRET":      "set",
		"OTELCOL_FLIPT_AUDIT_FILE":          "./flipt-audit.log",
		"OTELCOL_FLIPT_PROMETHEUS_ENDPOINT": "localhost:8889",
		"OTELCOL_FLIPT_OTLP_GRPC_ENDPOINT":  "localhost:4317",
		"OTELCOL_FLIPT_HEALTH_ENDPOINT":     "localhost:13133",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, v := range got {
		if v == "hunter2" {
			t.Fatal("the secret is in the start log")
		}
	}
}
