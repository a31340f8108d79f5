package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile"
	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/loadgen"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit"
)

// TestReliabilitySecurityDefaults checks what an operator gets without
// asking: localhost-only listeners, working TLS on the webhook, a private
// audit file, and a signing secret that never reaches the output.
func TestReliabilitySecurityDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("part of the reliability suite, which runs the binary")
	}
	t.Run("default_yaml_listeners_localhost", relTestDefaultYAMLLocalhost)
	t.Run("component_defaults_localhost", relTestComponentDefaultsLocalhost)
	t.Run("tls_file_mode_secret", relTestTLSFileModeSecret)
	t.Run("default_pipeline_signing", relTestDefaultPipelineSigning)
	t.Run("auth_extensions", relTestAuthExtensions)
}

// relIsLoopbackHost accepts the names a listener may bind to by default.
func relIsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var relEnvDefault = regexp.MustCompile(`^\$\{env:[A-Za-z0-9_]+:-(.*)\}$`)

// relTestDefaultYAMLLocalhost parses config/default.yaml: every endpoint, and
// the telemetry host, must default to a loopback address.
func relTestDefaultYAMLLocalhost(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(e2etest.RepoRoot(), "config", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ret, err := confmap.NewRetrievedFromYAML(raw)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := ret.AsConf()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	relWalkConf(conf.ToStringMap(), "", func(path, key string, v any) {
		s, ok := v.(string)
		if !ok || (key != "endpoint" && key != "host") {
			return
		}
		found++
		val := s
		if m := relEnvDefault.FindStringSubmatch(s); m != nil {
			val = m[1]
		} else if strings.Contains(s, "${") {
			t.Errorf("%s: %q has no default in the form ${env:NAME:-default}", path, s)
			return
		}
		host := val
		if key == "endpoint" {
			if host, _, err = net.SplitHostPort(val); err != nil {
				t.Errorf("%s: %q: %v", path, val, err)
				return
			}
		}
		if !relIsLoopbackHost(host) {
			t.Errorf("%s defaults to %q, not localhost", path, val)
		}
		t.Logf("%-70s %s", path, val)
	})
	if found < 5 {
		t.Errorf("only %d listener addresses found in default.yaml", found)
	}
}

func relWalkConf(v any, path string, visit func(path, key string, v any)) {
	switch m := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "::" + k
			}
			visit(p, k, m[k])
			relWalkConf(m[k], p, visit)
		}
	case []any:
		for i, e := range m {
			relWalkConf(e, path+"["+strconv.Itoa(i)+"]", visit)
		}
	}
}

// relTestComponentDefaultsLocalhost builds the default config of every bundled
// receiver and extension, and of the prometheus exporter (a server), and
// checks every Endpoint in it, including sections that are off until
// configured (configoptional defaults), binds a loopback address.
func relTestComponentDefaultsLocalhost(t *testing.T) {
	factories, err := components()
	if err != nil {
		t.Fatal(err)
	}
	type named struct {
		kind string
		typ  component.Type
		cfg  component.Config
	}
	var all []named
	for typ, f := range factories.Receivers {
		all = append(all, named{"receiver", typ, f.CreateDefaultConfig()})
	}
	for typ, f := range factories.Extensions {
		all = append(all, named{"extension", typ, f.CreateDefaultConfig()})
	}
	for typ, f := range factories.Exporters {
		if typ.String() == "prometheus" {
			all = append(all, named{"exporter", typ, f.CreateDefaultConfig()})
		}
	}
	// The Flipt components, whether or not the manifest lists them yet.
	if _, ok := factories.Receivers[fliptaudit.NewFactory().Type()]; !ok {
		t.Errorf("flipt_audit receiver is not in the distribution's manifest")
		all = append(all, named{"receiver", fliptaudit.NewFactory().Type(), fliptaudit.NewFactory().CreateDefaultConfig()})
	}
	if _, ok := factories.Exporters[auditfile.NewFactory().Type()]; !ok {
		t.Errorf("audit_file exporter is not in the distribution's manifest")
	}
	sort.Slice(all, func(i, j int) bool { return all[i].kind+all[i].typ.String() < all[j].kind+all[j].typ.String() })
	checked := 0
	for _, n := range all {
		relWalkEndpoints(reflect.ValueOf(n.cfg), n.kind+"/"+n.typ.String(), 0, func(path, endpoint string) {
			checked++
			host, _, err := net.SplitHostPort(endpoint)
			if err != nil {
				// A unix socket path or a bare host; neither listens on all interfaces.
				host = endpoint
			}
			if !relIsLoopbackHost(host) {
				t.Errorf("%s defaults to %q, not localhost", path, endpoint)
				return
			}
			t.Logf("%-70s %s", path, endpoint)
		})
	}
	if checked < 5 {
		t.Errorf("only %d default endpoints found", checked)
	}
}

// relWalkEndpoints visits every non-empty string field named Endpoint,
// reading unexported fields too (a configoptional section keeps its default
// in one).
func relWalkEndpoints(v reflect.Value, path string, depth int, visit func(path, endpoint string)) {
	if depth > 12 || !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			relWalkEndpoints(v.Elem(), path, depth+1, visit)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			fv := v.Field(i)
			p := path
			if !f.Anonymous && f.Name != "value" {
				p += "." + f.Name
			}
			if f.Name == "Endpoint" && fv.Kind() == reflect.String {
				if s := fv.String(); s != "" {
					visit(p, s)
				}
				continue
			}
			relWalkEndpoints(fv, p, depth+1, visit)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			relWalkEndpoints(v.Index(i), path, depth+1, visit)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			relWalkEndpoints(it.Value(), path, depth+1, visit)
		}
	}
}

// relTestTLSFileModeSecret runs the webhook with TLS and debug logs: HTTPS with
// the CA trusted works, plain HTTP and an untrusted client do not; the audit
// file, its chain and its directory are private; the signing secret is in
// neither the logs (after good and bad-signature requests) nor print-config.
func relTestTLSFileModeSecret(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := e2etest.SelfSignedCert(t, dir)
	webhook := e2etest.FreeAddr(t)
	auditPath := filepath.Join(dir, "new-dir", "flipt-audit.log")
	cfg := `
receivers:
  flipt_audit:
    webhook:
      endpoint: ${env:WEBHOOK}
      signing_secret: ${env:SECRET}
      tls:
        cert_file: ` + certFile + `
        key_file: ` + keyFile + `
exporters:
  audit_file:
    path: ${env:AUDIT_FILE}
    hash_chain: true
service:
  telemetry:
    logs:
      level: debug
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [flipt_audit]
      exporters: [audit_file]
`
	env := []string{"WEBHOOK=" + webhook, "SECRET=" + relSecret, "AUDIT_FILE=" + auditPath}
	rc := newRelCollector(t, cfg, "", env...)
	col := rc.start()
	url := "https://" + webhook + "/flipt/audit"
	trusted := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	col.WaitFor("the HTTPS webhook", func() bool {
		resp, err := trusted.Get(url + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	post := func(c *http.Client, url string, body []byte, sig string) (int, error) {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(loadgen.SignatureHeader, sig)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	run := "tls"
	ev0 := loadgen.WebhookEvent(run, 0, 1, time.Now())
	if st, err := post(trusted, url, ev0, loadgen.Sign(relSecret, ev0)); err != nil || st != 200 {
		t.Fatalf("HTTPS with the CA trusted: %d %v", st, err)
	}
	// Bad signatures (logged at debug level, if anything is).
	for i, sig := range []string{"", "00", loadgen.Sign("wrong", ev0), strings.Repeat("z", 64)} {
		if st, err := post(trusted, url, loadgen.WebhookEvent("bad", i, 1, time.Now()), sig); err != nil || st != 401 {
			t.Errorf("bad signature %d: %d %v", i, st, err)
		}
	}
	ev1 := loadgen.WebhookEvent("plain", 0, 1, time.Now())
	plain := &http.Client{Timeout: 10 * time.Second}
	st, err := post(plain, "http://"+webhook+"/flipt/audit", ev1, loadgen.Sign(relSecret, ev1))
	t.Logf("plain HTTP to the TLS port: status %d, err %v", st, err)
	if err == nil && st == 200 {
		t.Error("plain HTTP was accepted by the TLS webhook")
	}
	untrusted := &http.Client{Timeout: 10 * time.Second}
	if _, err := post(untrusted, url, ev1, loadgen.Sign(relSecret, ev1)); err == nil {
		t.Error("a client that does not trust the certificate connected")
	}
	old := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if _, err := post(old, url, ev1, loadgen.Sign(relSecret, ev1)); err == nil {
		t.Error("TLS 1.1 was accepted (confighttp's default minimum is 1.2)")
	}

	data := relWaitFile(t, auditPath, "the HTTPS event", 30*time.Second, func(b []byte) bool {
		return loadgen.Verify(b, run, 1).OK()
	})
	if strings.Contains(string(data), "plain") || strings.Contains(string(data), "lg-bad-") {
		t.Error("a refused request was written")
	}
	for path, want := range map[string]os.FileMode{
		auditPath:                      0o600,
		auditfile.ChainPath(auditPath): 0o600,
		filepath.Dir(auditPath):        0o700,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
		t.Logf("RESULT mode %v %s", fi.Mode().Perm(), filepath.Base(path))
	}

	col.Stop()
	out := col.Output()
	if !strings.Contains(out, "\tdebug\t") {
		t.Error("no debug-level entry in the output: the log level was not applied")
	}
	if strings.Contains(out, relSecret) {
		t.Errorf("the signing secret is in the collector's output")
	}
	t.Logf("RESULT secret: %d bytes of debug-level output, secret found: %v", len(out), strings.Contains(out, relSecret))

	// print-config (redacted, the default mode) must not print it either.
	cmd := exec.Command(e2etest.Binary(t), "print-config", "--config", rc.cfgPath)
	cmd.Env = append(os.Environ(), env...)
	pc, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("print-config: %v\n%s", err, pc)
	}
	if strings.Contains(string(pc), relSecret) {
		t.Errorf("print-config shows the signing secret:\n%s", pc)
	}
	if !strings.Contains(string(pc), "signing_secret") {
		t.Errorf("print-config output has no signing_secret at all:\n%s", pc)
	}
	t.Logf("RESULT print-config: secret found %v; signing_secret line: %s", strings.Contains(string(pc), relSecret), relGrepLine(string(pc), "signing_secret"))
}

// relTestDefaultPipelineSigning runs the embedded default pipeline (no
// --config). Without OTELCOL_FLIPT_WEBHOOK_SECRET it accepts unsigned
// events and says so in a warning; with it, unsigned events get 401, the
// audit file is 0600 and the secret is not in the output.
func relTestDefaultPipelineSigning(t *testing.T) {
	for _, withSecret := range []bool{false, true} {
		dir := t.TempDir()
		webhook, health := e2etest.FreeAddr(t), e2etest.FreeAddr(t)
		auditPath := filepath.Join(dir, "flipt-audit.log")
		env := []string{
			"OTELCOL_FLIPT_HEALTH_ENDPOINT=" + health,
			"OTELCOL_FLIPT_PROMETHEUS_ENDPOINT=" + e2etest.FreeAddr(t),
			"OTELCOL_FLIPT_OTLP_GRPC_ENDPOINT=" + e2etest.FreeAddr(t),
			"OTELCOL_FLIPT_OTLP_HTTP_ENDPOINT=" + e2etest.FreeAddr(t),
			"OTELCOL_FLIPT_WEBHOOK_ENDPOINT=" + webhook,
			"OTELCOL_FLIPT_AUDIT_FILE=" + auditPath,
			"OTELCOL_FLIPT_TELEMETRY_HOST=127.0.0.1",
			"OTELCOL_FLIPT_TELEMETRY_PORT=" + strconv.Itoa(e2etest.FreePort(t)),
		}
		if withSecret {
			env = append(env, "OTELCOL_FLIPT_WEBHOOK_SECRET="+relSecret)
		}
		col := e2etest.Start(t, e2etest.Options{Env: env, Dir: dir})
		col.WaitHealthy("http://" + health)
		url := "http://" + webhook + "/flipt/audit"
		col.WaitHealthy(url + "/health")
		run := fmt.Sprintf("default-secret%v", withSecret)
		unsigned := e2etest.Post(t, url, "application/json", loadgen.WebhookEvent(run, 0, 1, time.Now()))
		warned := strings.Contains(col.Output(), "has no signing_secret")
		if withSecret {
			if unsigned.Status != 401 || warned {
				t.Errorf("default pipeline with a secret: unsigned event answered %d, warning logged %v", unsigned.Status, warned)
			}
			if r := relPostSigned(t, url, loadgen.WebhookEvent(run, 1, 1, time.Now())); r.Status != 200 {
				t.Errorf("default pipeline with a secret: signed event answered %d %s", r.Status, r.Body)
			}
			relWaitFile(t, auditPath, "the signed event", 30*time.Second, func(b []byte) bool {
				return len(loadgen.KeysIn(b, run)) == 1
			})
			if fi, err := os.Stat(auditPath); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("default pipeline's audit file: %v %v", fi, err)
			}
		} else if unsigned.Status != 200 || !warned {
			t.Errorf("default pipeline without a secret: unsigned event answered %d, warning logged %v", unsigned.Status, warned)
		}
		col.Stop()
		if strings.Contains(col.Output(), relSecret) {
			t.Error("the signing secret is in the default pipeline's output")
		}
		t.Logf("RESULT default pipeline, secret set %v: unsigned event answered %d, warning about the missing secret %v",
			withSecret, unsigned.Status, warned)
	}
}

func relGrepLine(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// relTestAuthExtensions checks that a server authenticator is bundled for
// the webhook (basicauth; TestE2EWebhookBasicAuth shows it at work).
func relTestAuthExtensions(t *testing.T) {
	factories, err := components()
	if err != nil {
		t.Fatal(err)
	}
	var auth []string
	for typ := range factories.Extensions {
		if strings.Contains(typ.String(), "auth") {
			auth = append(auth, typ.String())
		}
	}
	sort.Strings(auth)
	t.Logf("RESULT auth extensions bundled: %v", auth)
	if !slices.Contains(auth, "basicauth") {
		t.Errorf("no basicauth extension bundled: %v", auth)
	}
}
