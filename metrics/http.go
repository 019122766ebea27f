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
//	POST /-/reload   calls reload and waits: 200 on success, 500 with the
//	                 error text otherwise; other methods get 405
//
// ready may be nil (always ready); reload may be nil (501). A scrape that
// fails to gather some series still serves the rest and counts the error in
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
			text(w, http.StatusNotImplemented, "reload is not configured")
			return
		}
		if err := reload(); err != nil {
			text(w, http.StatusInternalServerError, err.Error())
			return
		}
		text(w, http.StatusOK, "reloaded")
	})
	return mux
}

func text(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}
