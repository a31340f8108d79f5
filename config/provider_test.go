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
