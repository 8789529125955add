"""The daemon's HTTP surface: health, readiness, Prometheus metrics and a status page."""
