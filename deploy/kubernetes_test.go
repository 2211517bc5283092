package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The manifests are decoded strictly into the part of the Kubernetes API they
// use: a field these types do not know (a typo, a field at the wrong level)
// fails the test, as `kubectl apply --validate=strict` would. The field names
// are the API's (k8s.io/api, apps/v1, core/v1, policy/v1; the Prometheus
// Operator's monitoring.coreos.com/v1); k8s.io/api itself is not used, since
// it would move the module's protobuf to a pre-release for one test.

type objectMeta struct {
	Name        string            `yaml:"name"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type deployment struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		Replicas int           `yaml:"replicas"`
		Selector labelSelector `yaml:"selector"`
		Strategy struct {
			Type          string `yaml:"type"`
			RollingUpdate struct {
				MaxSurge       string `yaml:"maxSurge"`
				MaxUnavailable string `yaml:"maxUnavailable"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     podSpec    `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	ServiceAccountName            string `yaml:"serviceAccountName"`
	TerminationGracePeriodSeconds *int   `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               struct {
		RunAsNonRoot   bool `yaml:"runAsNonRoot"`
		RunAsUser      int  `yaml:"runAsUser"`
		RunAsGroup     int  `yaml:"runAsGroup"`
		SeccompProfile struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	Containers []container `yaml:"containers"`
}

type container struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	EnvFrom []struct {
		ConfigMapRef *localRef `yaml:"configMapRef"`
		SecretRef    *localRef `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Env []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef     *keyRef `yaml:"secretKeyRef"`
			ConfigMapKeyRef  *keyRef `yaml:"configMapKeyRef"`
			ResourceFieldRef *struct {
				Resource string `yaml:"resource"`
			} `yaml:"resourceFieldRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
}

type localRef struct {
	Name     string `yaml:"name"`
	Optional bool   `yaml:"optional"`
}

type keyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional bool   `yaml:"optional"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"` // a number or a port's name
	} `yaml:"httpGet"`
	InitialDelaySeconds int `yaml:"initialDelaySeconds"`
	PeriodSeconds       int `yaml:"periodSeconds"`
	TimeoutSeconds      int `yaml:"timeoutSeconds"`
	FailureThreshold    int `yaml:"failureThreshold"`
}

type service struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type serviceAccount struct {
	APIVersion                   string     `yaml:"apiVersion"`
	Kind                         string     `yaml:"kind"`
	Metadata                     objectMeta `yaml:"metadata"`
	AutomountServiceAccountToken *bool      `yaml:"automountServiceAccountToken"`
}

type configMap struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   objectMeta        `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
}

type podDisruptionBudget struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		MaxUnavailable string        `yaml:"maxUnavailable"`
		Selector       labelSelector `yaml:"selector"`
	} `yaml:"spec"`
}

type serviceMonitor struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		Selector  labelSelector `yaml:"selector"`
		Endpoints []struct {
			Port     string `yaml:"port"`
			Path     string `yaml:"path"`
			Interval string `yaml:"interval"`
		} `yaml:"endpoints"`
	} `yaml:"spec"`
}

type kustomization struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Resources  []string `yaml:"resources"`
	Images     []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
	} `yaml:"images"`
}

// manifests holds deploy/kubernetes, each file decoded by its kind.
type manifests struct {
	kustomization   kustomization
	deployment      deployment
	service         service
	serviceAccount  serviceAccount
	configMap       configMap
	pdb             podDisruptionBudget
	serviceMonitor  serviceMonitor
	files           []string       // every manifest's file name
	kindOf          map[string]int // how many manifests of each kind
	applied, others []string       // files kustomization applies, and the rest
}

var kinds = map[string]string{
	"Kustomization":       "kustomize.config.k8s.io/v1beta1",
	"Deployment":          "apps/v1",
	"Service":             "v1",
	"ServiceAccount":      "v1",
	"ConfigMap":           "v1",
	"PodDisruptionBudget": "policy/v1",
	"ServiceMonitor":      "monitoring.coreos.com/v1",
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	dir := filepath.Join(repoRoot, "deploy", "kubernetes")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	m := manifests{kindOf: map[string]int{}}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		var meta struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
		}
		require.NoError(t, yaml.Unmarshal(raw, &meta), e.Name())
		require.Equal(t, kinds[meta.Kind], meta.APIVersion, "%s: kind %q, apiVersion %q", e.Name(), meta.Kind, meta.APIVersion)
		into := map[string]any{
			"Kustomization":       &m.kustomization,
			"Deployment":          &m.deployment,
			"Service":             &m.service,
			"ServiceAccount":      &m.serviceAccount,
			"ConfigMap":           &m.configMap,
			"PodDisruptionBudget": &m.pdb,
			"ServiceMonitor":      &m.serviceMonitor,
		}[meta.Kind]
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		require.NoError(t, dec.Decode(into), "%s does not decode strictly as a %s", e.Name(), meta.Kind)
		m.kindOf[meta.Kind]++
		if meta.Kind != "Kustomization" {
			m.files = append(m.files, e.Name())
		}
	}
	for _, f := range m.files {
		if slices.Contains(m.kustomization.Resources, f) {
			m.applied = append(m.applied, f)
		} else {
			m.others = append(m.others, f)
		}
	}
	return m
}

// Every manifest decodes strictly, once per kind, and the kustomization
// applies all of them but the ServiceMonitor, which needs the Prometheus
// Operator's CRDs.
func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	m := loadManifests(t)
	for kind := range kinds {
		require.Equal(t, 1, m.kindOf[kind], "manifests of kind %s", kind)
	}
	require.ElementsMatch(t, m.kustomization.Resources, m.applied, "kustomization.yaml lists a file that is not there")
	require.Equal(t, []string{"servicemonitor.yaml"}, m.others)
}

// The worker's Deployment: the worker flags production relies on, probes on
// /healthz and /readyz on the metrics port, Prometheus scrape annotations on
// the same port, a grace period that covers --shutdown-timeout, resources,
// and a locked-down security context.
func TestKubernetesWorkerDeployment(t *testing.T) {
	d := loadManifests(t).deployment
	pod := d.Spec.Template.Spec
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	require.NotNil(t, pod.TerminationGracePeriodSeconds)
	port := requireWorkerFlags(t, c.Args, time.Duration(*pod.TerminationGracePeriodSeconds)*time.Second)

	require.Len(t, c.Ports, 1)
	require.Equal(t, "metrics", c.Ports[0].Name)
	require.Equal(t, port, c.Ports[0].ContainerPort, "the container port is --metrics-listen's")
	for path, p := range map[string]*probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
		require.NotNil(t, p, "no probe on %s", path)
		require.NotNil(t, p.HTTPGet, path)
		require.Equal(t, path, p.HTTPGet.Path)
		require.Contains(t, []string{"metrics", strconv.Itoa(port)}, p.HTTPGet.Port, path)
		require.Positive(t, p.PeriodSeconds, path)
		require.Positive(t, p.TimeoutSeconds, path)
	}
	ann := d.Spec.Template.Metadata.Annotations
	require.Equal(t, "true", ann["prometheus.io/scrape"])
	require.Equal(t, strconv.Itoa(port), ann["prometheus.io/port"])
	require.Equal(t, "/metrics", ann["prometheus.io/path"])

	for _, r := range []string{"cpu", "memory"} {
		require.NotEmpty(t, c.Resources.Requests[r], "requests.%s", r)
		require.NotEmpty(t, c.Resources.Limits[r], "limits.%s", r)
	}
	require.True(t, pod.SecurityContext.RunAsNonRoot)
	require.Equal(t, 65532, pod.SecurityContext.RunAsUser, "the image's nonroot user")
	require.True(t, c.SecurityContext.ReadOnlyRootFilesystem)
	require.NotNil(t, c.SecurityContext.AllowPrivilegeEscalation)
	require.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	require.Equal(t, []string{"ALL"}, c.SecurityContext.Capabilities.Drop)

	require.GreaterOrEqual(t, d.Spec.Replicas, 2, "a run whose worker dies resumes on another")
	require.Equal(t, "0", d.Spec.Strategy.RollingUpdate.MaxUnavailable, "a rollout never leaves fewer ready workers")
	require.Equal(t, d.Spec.Selector.MatchLabels, pick(d.Spec.Template.Metadata.Labels, d.Spec.Selector.MatchLabels), "the selector matches the pods")
}

// Configuration comes by reference: where Temporal is from the ConfigMap,
// secrets from Secrets, one per cloud and one for Temporal, each optional (a
// cloud whose Secret is absent is not configured). No value is written in
// the Deployment, and the ConfigMap holds no secret.
func TestKubernetesWorkerConfigurationIsByReference(t *testing.T) {
	m := loadManifests(t)
	c := m.deployment.Spec.Template.Spec.Containers[0]
	var configMaps, secrets []string
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			configMaps = append(configMaps, from.ConfigMapRef.Name)
		case from.SecretRef != nil:
			require.True(t, from.SecretRef.Optional, "Secret %s is required: the worker would not start without it", from.SecretRef.Name)
			secrets = append(secrets, from.SecretRef.Name)
		}
	}
	require.Equal(t, []string{m.configMap.Metadata.Name}, configMaps)
	require.ElementsMatch(t, []string{"cloudflow-temporal", "cloudflow-crusoe", "cloudflow-kraftcloud", "cloudflow-cloudmc", "cloudflow-openvz", "cloudflow-codec"}, secrets)
	for _, e := range c.Env {
		require.Empty(t, e.Value, "%s is written in the Deployment", e.Name)
		require.NotNil(t, e.ValueFrom, e.Name)
	}
	require.NotEmpty(t, m.configMap.Data["TEMPORAL_ADDRESS"])
	require.NotEmpty(t, m.configMap.Data["TEMPORAL_NAMESPACE"])
	for k := range m.configMap.Data {
		require.True(t, strings.HasPrefix(k, "TEMPORAL_") && !strings.Contains(k, "KEY"), "%s does not belong in a ConfigMap", k)
	}
	require.Equal(t, m.serviceAccount.Metadata.Name, m.deployment.Spec.Template.Spec.ServiceAccountName)
	require.NotNil(t, m.serviceAccount.AutomountServiceAccountToken)
	require.False(t, *m.serviceAccount.AutomountServiceAccountToken, "the worker calls no Kubernetes API")
}

// The Service, the ServiceMonitor and the PodDisruptionBudget all find the
// worker pods, and Prometheus scrapes the metrics port.
func TestKubernetesMetricsScraping(t *testing.T) {
	m := loadManifests(t)
	pods := m.deployment.Spec.Template.Metadata.Labels
	require.Equal(t, m.service.Spec.Selector, pick(pods, m.service.Spec.Selector), "the Service selects the worker pods")
	require.Equal(t, m.pdb.Spec.Selector.MatchLabels, pick(pods, m.pdb.Spec.Selector.MatchLabels), "the PodDisruptionBudget selects the worker pods")
	require.Equal(t, m.serviceMonitor.Spec.Selector.MatchLabels, pick(m.service.Metadata.Labels, m.serviceMonitor.Spec.Selector.MatchLabels), "the ServiceMonitor selects the Service")

	require.Len(t, m.service.Spec.Ports, 1)
	sp := m.service.Spec.Ports[0]
	require.Equal(t, "metrics", sp.Name)
	require.Equal(t, "metrics", sp.TargetPort, "the Service targets the container's metrics port")
	require.Len(t, m.serviceMonitor.Spec.Endpoints, 1)
	require.Equal(t, "metrics", m.serviceMonitor.Spec.Endpoints[0].Port)
	require.Equal(t, "/metrics", m.serviceMonitor.Spec.Endpoints[0].Path)
}

// pick returns the entries of labels named in selector: equal to selector
// when labels match it (an empty selector matches nothing here).
func pick(labels, selector map[string]string) map[string]string {
	if len(selector) == 0 {
		return nil
	}
	out := map[string]string{}
	for k := range selector {
		if v, ok := labels[k]; ok {
			out[k] = v
		}
	}
	return out
}
