// Package examples holds example configs and manifests; its tests run each one
// through the built binary (or the one OTELCOL_FLIPT_E2E_BINARY names).
package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
)

// run runs the binary with args and env in a fresh directory and returns its
// combined output and error.
func run(t *testing.T, args []string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(e2etest.Binary(t), args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// validate runs `otelcol-flipt validate --config path` with env.
func validate(t *testing.T, path string, env ...string) (string, error) {
	t.Helper()
	path, err := filepath.Abs(path)
	require.NoError(t, err)
	return run(t, []string{"validate", "--config", path}, env...)
}

// exampleEnv is what the examples need from their operator; the rest has defaults.
var exampleEnv = []string{
	"OTELCOL_FLIPT_TRACES_ENDPOINT=tempo.example.com:4317",
	"OTELCOL_FLIPT_LOGS_ENDPOINT=http://loki.example.com:3100/otlp",
	"OTELCOL_FLIPT_WEBHOOK_PASSWORD=change-me",
	"OTELCOL_FLIPT_WEBHOOK_SECRET=change-me",
}

func TestExamplesValidate(t *testing.T) {
	paths, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			out, err := validate(t, p, exampleEnv...)
			require.NoError(t, err, out)
		})
	}
}

// The examples that talk to a backend refuse to start without its address,
// naming the exporter and the field, rather than exporting nowhere.
func TestExamplesNameTheMissingBackend(t *testing.T) {
	for path, exporter := range map[string]string{
		"gateway.yaml":            "otlp/backend",
		"audit-to-otlp-logs.yaml": "otlphttp/logs",
	} {
		t.Run(path, func(t *testing.T) {
			out, err := validate(t, path)
			require.Error(t, err)
			assert.Contains(t, out, exporter)
			assert.Contains(t, out, "endpoint")
		})
	}
}

// manifests reads every YAML document of the Kubernetes examples, keyed by
// "Kind/name".
func manifests(t *testing.T) map[string]map[string]any {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	require.NoError(t, err)
	docs := map[string]map[string]any{}
	for _, p := range paths {
		if filepath.Base(p) == "kustomization.yaml" {
			continue
		}
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		for _, doc := range strings.Split(string(raw), "\n---\n") {
			r, err := confmap.NewRetrievedFromYAML([]byte(doc))
			require.NoError(t, err, p)
			conf, err := r.AsConf()
			require.NoError(t, err, p)
			m := conf.ToStringMap()
			kind, _ := m["kind"].(string)
			name, _ := dig(m, "metadata", "name").(string)
			require.NotEmpty(t, kind, "%s: a document without kind", p)
			require.NotEmpty(t, name, "%s: %s without metadata.name", p, kind)
			require.NotEmpty(t, m["apiVersion"], "%s: %s without apiVersion", p, kind)
			docs[kind+"/"+name] = m
		}
	}
	return docs
}

// dig follows keys (and list indexes as int) through nested maps and lists.
func dig(v any, path ...any) any {
	for _, k := range path {
		switch key := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[key]
		case int:
			l, ok := v.([]any)
			if !ok || key >= len(l) {
				return nil
			}
			v = l[key]
		}
	}
	return v
}

func TestKubernetesManifests(t *testing.T) {
	docs := manifests(t)
	for _, want := range []string{"ConfigMap/otelcol-flipt", "Deployment/otelcol-flipt",
		"Service/otelcol-flipt", "PersistentVolumeClaim/otelcol-flipt-data"} {
		require.Contains(t, docs, want)
	}
	kust, err := os.ReadFile(filepath.Join("kubernetes", "kustomization.yaml"))
	require.NoError(t, err)
	for _, f := range []string{"configmap.yaml", "deployment.yaml", "service.yaml"} {
		assert.Contains(t, string(kust), "- "+f, "kustomization.yaml does not list %s", f)
	}

	dep := docs["Deployment/otelcol-flipt"]
	pod := dig(dep, "spec", "template", "spec")
	assert.Equal(t, dig(dep, "spec", "selector", "matchLabels"), dig(dep, "spec", "template", "metadata", "labels"))
	assert.Equal(t, true, dig(pod, "securityContext", "runAsNonRoot"))
	assert.EqualValues(t, 10001, dig(pod, "securityContext", "runAsUser"), "the image's UID")
	assert.EqualValues(t, 10001, dig(pod, "securityContext", "fsGroup"), "the data volume must be writable by the image's UID")

	containers, _ := dig(pod, "containers").([]any)
	require.Len(t, containers, 1)
	c := containers[0]
	assert.Equal(t, true, dig(c, "securityContext", "readOnlyRootFilesystem"))
	assert.Equal(t, false, dig(c, "securityContext", "allowPrivilegeEscalation"))
	assert.Equal(t, []any{"ALL"}, dig(c, "securityContext", "capabilities", "drop"))

	ports := map[string]int{}
	for _, p := range dig(c, "ports").([]any) {
		ports[dig(p, "name").(string)] = int(toInt(dig(p, "containerPort")))
	}
	for _, probe := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
		port, _ := dig(c, probe, "httpGet", "port").(string)
		assert.Equal(t, "health", port, "%s must probe the health port", probe)
		assert.Equal(t, "/", dig(c, probe, "httpGet", "path"), probe)
	}

	// Every Service port lands on a named container port.
	for _, p := range dig(docs["Service/otelcol-flipt"], "spec", "ports").([]any) {
		target, _ := dig(p, "targetPort").(string)
		assert.Contains(t, ports, target, "Service port %v targets no container port", dig(p, "name"))
	}
	assert.Equal(t, dig(dep, "spec", "selector", "matchLabels"), dig(docs["Service/otelcol-flipt"], "spec", "selector"))

	// The config the pod reads is the ConfigMap's, at the path of its args, and it is valid;
	// its listeners use the ports the container declares and the audit file is on the volume.
	mounts := map[string]string{}
	for _, m := range dig(c, "volumeMounts").([]any) {
		mounts[dig(m, "name").(string)] = dig(m, "mountPath").(string)
	}
	args := dig(c, "args").([]any)
	require.Equal(t, []any{"--config", mounts["config"] + "/config.yaml"}, args)
	assert.Equal(t, "otelcol-flipt", dig(pod, "volumes", 0, "configMap", "name"))
	assert.Equal(t, "otelcol-flipt-data", dig(pod, "volumes", 1, "persistentVolumeClaim", "claimName"))
	cfg := dig(docs["ConfigMap/otelcol-flipt"], "data", "config.yaml").(string)
	for name, port := range ports {
		assert.Contains(t, cfg, "0.0.0.0:"+strconv.Itoa(port), "the config does not listen on container port %s", name)
	}
	assert.Contains(t, cfg, "path: "+mounts["data"]+"/flipt-audit.log")
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	out, err := validate(t, path, "OTELCOL_FLIPT_WEBHOOK_SECRET=change-me")
	require.NoError(t, err, out)
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case uint64:
		return int64(n)
	case float64:
		return int64(n)
	}
	return -1
}
