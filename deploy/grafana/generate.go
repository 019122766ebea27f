package grafana

//go:generate go run ./gen -o sitedns-dashboard.json
