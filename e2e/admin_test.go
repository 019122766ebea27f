package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHTTPReloadOffByDefault: POST /-/reload is refused (403) unless
// sitedns serve was started with -enable-http-reload, and nothing reloads.
func TestHTTPReloadOffByDefault(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(genA.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	in := start(t, "-config", path)
	if err := os.WriteFile(path, []byte(genB.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body := postReload(t, in)
	if code != http.StatusForbidden || !strings.Contains(body, "-enable-http-reload") {
		t.Errorf("POST /-/reload without -enable-http-reload: %d %q, want 403 naming the flag", code, body)
	}
	if v := version(t, in); v != "A" {
		t.Errorf("serving %s after a refused reload, want A", v)
	}
	if v := metricValue(t, in, `sitedns_config_reloads_total{result="success"}`); v != 0 {
		t.Errorf("%v reloads counted, want 0", v)
	}
}

// TestHTTPReloadEnabled: with -enable-http-reload a good config is loaded
// (200), and a broken one is refused with 500 and a fixed text: the error,
// which names the file, line and field, goes to the log, not to whoever
// can reach the listener.
func TestHTTPReloadEnabled(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(genA.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	in := start(t, "-config", path, "-enable-http-reload")
	if err := os.WriteFile(path, []byte(genB.config()), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := postReload(t, in); code != http.StatusOK {
		t.Fatalf("POST /-/reload: %d %q, want 200", code, body)
	}
	if v := version(t, in); v != "B" {
		t.Errorf("serving %s after the reload, want B", v)
	}

	broken := brokenConfigs[0]
	if err := os.WriteFile(path, []byte(broken.text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body := postReload(t, in)
	if code != http.StatusInternalServerError {
		t.Errorf("POST /-/reload of a broken config: %d, want 500", code)
	}
	for _, leak := range []string{"config.toml", "US-Chicago", "127.2.0.0/33", dir} {
		if strings.Contains(body, leak) {
			t.Errorf("the response %q tells the caller %q: the error belongs in the log only", body, leak)
		}
	}
	// The log is read from the process's stderr as it comes: wait for the
	// line, which was written before the response.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(in.Log(), broken.wantErr) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(in.Log(), broken.wantErr) {
		t.Errorf("the log lacks the error %q:\n%s", broken.wantErr, in.Log())
	}
	if v := version(t, in); v != "B" {
		t.Errorf("serving %s after a refused config, want B", v)
	}
}

func postReload(t *testing.T, in *instance) (int, string) {
	t.Helper()
	resp, err := httpClient.Post("http://"+in.Metrics+"/-/reload", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
