package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func do(t *testing.T, h http.Handler, method, path string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, string(body), rec.Header()
}

func TestMuxMetrics(t *testing.T) {
	mux := NewMux(testRegistry(t), nil, nil)
	code, body, h := do(t, mux, http.MethodGet, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	for _, want := range []string{
		`sitedns_build_info{goversion="go`,
		`sitedns_queries_total{qtype="A",transport="udp"} 1`,
		`sitedns_answers_first_total{name="autodiscover.contoso.lab."`,
		"go_goroutines ",
		"go_sched_latencies_seconds_bucket{le=",
		"process_cpu_seconds_total ",
		"promhttp_metric_handler_requests_total",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code, _, _ := do(t, mux, http.MethodPost, "/metrics"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %d, want 405", code)
	}
	if code, _, _ := do(t, mux, http.MethodGet, "/nothing"); code != http.StatusNotFound {
		t.Errorf("GET /nothing: %d, want 404", code)
	}
}

func TestMuxHealthyReady(t *testing.T) {
	var ready atomic.Bool
	mux := NewMux(testRegistry(t), ready.Load, nil)
	if code, body, _ := do(t, mux, http.MethodGet, "/-/healthy"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/-/healthy: %d %q", code, body)
	}
	if code, _, _ := do(t, mux, http.MethodHead, "/-/healthy"); code != http.StatusOK {
		t.Errorf("HEAD /-/healthy: %d", code)
	}
	if code, _, _ := do(t, mux, http.MethodGet, "/-/ready"); code != http.StatusServiceUnavailable {
		t.Errorf("/-/ready while not ready: %d, want 503", code)
	}
	ready.Store(true)
	if code, _, _ := do(t, mux, http.MethodGet, "/-/ready"); code != http.StatusOK {
		t.Errorf("/-/ready when ready: %d, want 200", code)
	}
	if code, _, _ := do(t, NewMux(testRegistry(t), nil, nil), http.MethodGet, "/-/ready"); code != http.StatusOK {
		t.Errorf("/-/ready with no ready func: %d, want 200", code)
	}
}

func TestMuxReload(t *testing.T) {
	var calls int
	var fail error
	mux := NewMux(testRegistry(t), nil, func() error { calls++; return fail })

	if code, body, _ := do(t, mux, http.MethodPost, "/-/reload"); code != http.StatusOK || calls != 1 {
		t.Errorf("POST /-/reload: %d %q, %d calls", code, body, calls)
	}
	fail = errors.New(`zones: lab.toml: site "US-Chicago": subnet "10.2.0.0/33": bad prefix length`)
	code, body, _ := do(t, mux, http.MethodPost, "/-/reload")
	if code != http.StatusInternalServerError || strings.Contains(body, "US-Chicago") || strings.Contains(body, "lab.toml") || calls != 2 {
		t.Errorf("POST /-/reload failing: %d %q, %d calls; want 500 without the error text", code, body, calls)
	}
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		code, _, h := do(t, mux, m, "/-/reload")
		if code != http.StatusMethodNotAllowed || !strings.Contains(h.Get("Allow"), http.MethodPost) {
			t.Errorf("%s /-/reload: %d Allow=%q, want 405 Allow: POST", m, code, h.Get("Allow"))
		}
	}
	if calls != 2 {
		t.Errorf("reload called %d times, want 2", calls)
	}
	if code, body, _ := do(t, NewMux(testRegistry(t), nil, nil), http.MethodPost, "/-/reload"); code != http.StatusForbidden || !strings.Contains(body, "-enable-http-reload") {
		t.Errorf("POST /-/reload with reload off: %d %q, want 403 naming the flag", code, body)
	}
}

// TestMuxServer goes through a real listener, as Prometheus scrapes.
func TestMuxServer(t *testing.T) {
	srv := httptest.NewServer(NewMux(testRegistry(t), func() bool { return true }, func() error { return nil }))
	defer srv.Close()
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/metrics"}, {http.MethodGet, "/-/healthy"}, {http.MethodGet, "/-/ready"}, {http.MethodPost, "/-/reload"},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s: %d", c.method, c.path, resp.StatusCode)
		}
	}
}
