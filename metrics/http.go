package metrics

import (
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewMux returns the handler of the metrics listener:
//
//	GET  /metrics    the registry, in any format Prometheus asks for
//	GET  /-/healthy  200 "ok" while the process serves HTTP at all
//	GET  /-/ready    200 when ready() reports true, 503 otherwise
//	POST /-/reload   calls reload and waits: 200 on success, 500 with a
//	                 fixed text otherwise (the error itself is the
//	                 caller's to log: it names files and lines of the
//	                 config, which whoever can reach the listener need not
//	                 see); 403 when reload is nil, i.e. reload over HTTP is
//	                 off; other methods get 405
//
// ready may be nil (always ready). A scrape that fails to gather some
// series still serves the rest and counts the error in
// promhttp_metric_handler_errors_total.
func NewMux(reg *prometheus.Registry, ready func() bool, reload func() error) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(reg,
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{
			ErrorHandling: promhttp.ContinueOnError,
			Registry:      reg,
		})))
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		text(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if ready != nil && !ready() {
			text(w, http.StatusServiceUnavailable, "not ready")
			return
		}
		text(w, http.StatusOK, "ready")
	})
	mux.HandleFunc("POST /-/reload", func(w http.ResponseWriter, _ *http.Request) {
		if reload == nil {
			text(w, http.StatusForbidden, ReloadOff)
			return
		}
		if err := reload(); err != nil {
			text(w, http.StatusInternalServerError, "reload failed; still serving the previous config (the server log says why)")
			return
		}
		text(w, http.StatusOK, "reloaded")
	})
	return mux
}

// ReloadOff is the answer to POST /-/reload when reload over HTTP is off.
const ReloadOff = "reload over HTTP is off: start sitedns serve with -enable-http-reload, or reload with SIGHUP"

func text(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}
