package buildinfo

import "github.com/prometheus/client_golang/prometheus"

// changeproof_build_info is 1, labelled with the running build: dashboards
// show which version serves, alerts can join on it, and a rollout is visible
// as the label changing.
func init() {
	i := Get()
	prometheus.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "changeproof_build_info",
		Help:        "The running build: always 1, labelled with version, VCS revision and Go version.",
		ConstLabels: prometheus.Labels{"version": i.Version, "revision": i.Revision, "goversion": i.GoVersion},
	}, func() float64 { return 1 }))
}
