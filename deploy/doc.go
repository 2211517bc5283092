// Package deploy holds cloudflow's production shapes beyond the repository's
// docker-compose.yml: the Kubernetes manifests (kubernetes/), the Temporal
// setup scripts that compose and `make test-cluster` share (temporal/), the
// compose development environment (compose/) and the image's health probe
// (healthcheck/). Its tests parse the compose file and the manifests and
// check what production relies on.
package deploy
