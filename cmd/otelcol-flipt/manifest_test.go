package main

import (
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
)

// generatedFiles are the files the builder writes into dist.output_path.
var generatedFiles = []string{"main.go", "main_others.go", "main_windows.go", "components.go"}

// TestManifestMatchesGeneratedCode regenerates the program from
// builder-config.yaml with the pinned builder (tools/go.mod) and fails when
// the committed files differ from its output as gofmt lays it out (the
// builder's own import order is not gofmt's; `make generate` runs gofmt
// after it): edit the manifest, then run `make generate`.
func TestManifestMatchesGeneratedCode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the builder")
	}
	root := e2etest.RepoRoot()
	manifest, err := os.ReadFile(filepath.Join(root, "builder-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	outputPath := regexp.MustCompile(`(?m)^(\s*output_path:).*$`)
	if !outputPath.Match(manifest) {
		t.Fatal("builder-config.yaml has no dist.output_path")
	}
	manifest = outputPath.ReplaceAll(manifest, []byte("${1} "+out))
	tmpManifest := filepath.Join(t.TempDir(), "builder-config.yaml")
	if err := os.WriteFile(tmpManifest, manifest, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("go", "tool", "-modfile="+filepath.Join(root, "tools", "go.mod"),
		"builder", "--config", tmpManifest, "--skip-get-modules", "--skip-compilation")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("builder: %v\n%s", err, b)
	}
	for _, name := range generatedFiles {
		raw, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := format.Source(raw)
		if err != nil {
			t.Fatalf("gofmt of the builder's %s: %v", name, err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("cmd/otelcol-flipt/%s differs from what builder-config.yaml generates; run `make generate`", name)
		}
	}
}
