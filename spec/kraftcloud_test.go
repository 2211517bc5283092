package spec

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/workflows"
)

func TestKraftCloudExampleLoads(t *testing.T) {
	s, err := LoadKraftCloud(filepath.Join("..", "examples", "kraftcloud-app.yaml"))
	require.NoError(t, err)
	assert.Equal(t, workflows.DeployInstanceInput{
		Volume: &workflows.KraftCloudVolumeSpec{Name: "demo-app-data", SizeMB: 512, At: "/data"},
		ServiceGroup: &workflows.KraftCloudServiceGroupSpec{
			Name:     "demo-app-web",
			Services: []workflows.KraftCloudServiceSpec{{Port: 443, DestinationPort: 8080, Handlers: []string{"tls", "http"}}},
			Domains:  []string{"demo.example.com"},
		},
		Instance: workflows.KraftCloudInstanceSpec{
			Name: "demo-app", Image: "nginx:latest", MemoryMB: 256, VCPUs: 1, Env: map[string]string{"LOG_LEVEL": "info"},
		},
		Timeouts: workflows.Timeouts{Operation: 5 * time.Minute},
	}, s.DeployInput())
	assert.Equal(t, workflows.UndeployInstanceInput{
		InstanceName: "demo-app", ServiceGroupName: "demo-app-web", VolumeName: "demo-app-data",
		Timeouts: workflows.Timeouts{Operation: 5 * time.Minute},
	}, s.DeprovisionInput())
	require.NoError(t, s.DeployInput().Validate())
}

// kcHead is a valid spec of an instance alone; it takes lines 1-4, so the
// first line a case adds is line 5.
const kcHead = `provider: kraftcloud
instance:
  name: web
  image: nginx:latest
`

func TestKraftCloudMinimalAndJSON(t *testing.T) {
	s, err := ParseKraftCloud([]byte(kcHead), "app.yaml")
	require.NoError(t, err)
	in := s.DeployInput()
	assert.Nil(t, in.Volume)
	assert.Nil(t, in.ServiceGroup)
	assert.Equal(t, workflows.KraftCloudInstanceSpec{Name: "web", Image: "nginx:latest"}, in.Instance)
	assert.Equal(t, workflows.UndeployInstanceInput{InstanceName: "web"}, s.DeprovisionInput())

	js := `{"provider": "kraftcloud",
	"instance": {"name": "API", "image": "app:1", "memoryMB": 512, "args": ["-v"], "env": {"TOKEN": "x"}},
	"volume": {"name": "Data", "sizeMB": 64, "at": "/var/lib/app", "readOnly": true},
	"serviceGroup": {"name": "web", "services": [{"port": 80, "handlers": ["redirect"]}]}}`
	s, err = ParseKraftCloud([]byte(js), "-")
	require.NoError(t, err)
	in = s.DeployInput()
	assert.Equal(t, "api", in.Instance.Name, "names are lower-cased, as the cloud stores them")
	assert.Equal(t, []string{"-v"}, in.Instance.Args)
	assert.Equal(t, &workflows.KraftCloudVolumeSpec{Name: "api-data", SizeMB: 64, At: "/var/lib/app", ReadOnly: true}, in.Volume)
	assert.Equal(t, "api-web", in.ServiceGroup.Name)
	assert.Equal(t, []workflows.KraftCloudServiceSpec{{Port: 80, Handlers: []string{"redirect"}}}, in.ServiceGroup.Services)

	// A section left empty counts as absent.
	s, err = ParseKraftCloud([]byte(kcHead+"volume:\nserviceGroup:\n"), "app.yaml")
	require.NoError(t, err)
	assert.Nil(t, s.Volume)
	assert.Nil(t, s.ServiceGroup)
}

func parseKraftErrors(t *testing.T, src string) Errors {
	t.Helper()
	s, err := ParseKraftCloud([]byte(src), "app.yaml")
	require.Error(t, err, "spec should be rejected")
	assert.Nil(t, s)
	var errs Errors
	require.True(t, errors.As(err, &errs), "error is %T, want Errors", err)
	return errs
}

func TestKraftCloudSpecProblems(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		wants []want
	}{
		{"empty", "", []want{{"", "the spec is empty; start from examples/kraftcloud-app.yaml", 0}}},
		{"two documents", kcHead + "---\n" + kcHead, []want{{"", "put one instance in each spec file", 5}}},
		{"missing everything", "provider: kraftcloud\n", []want{
			{"instance.name", "is required", 1},
			{"instance.image", "is required", 1},
		}},
		{"no provider", "instance:\n  name: web\n  image: x\n", []want{{"provider", "add provider: kraftcloud", 1}}},
		{"unknown provider", strings.Replace(kcHead, "kraftcloud", "aws", 1), []want{{"provider", `"aws" is not a supported provider`, 1}}},
		{"cloudmc spec", strings.Replace(kcHead, "kraftcloud", "cloudmc", 1), []want{{"provider", "is a CloudMC instance spec, which `cloudflow instances deploy` does not run; provision it with `cloudflow vm provision -f FILE`", 1}}},
		{"bad names and numbers", `provider: kraftcloud
instance:
  name: 9web
  image: nginx
  memoryMB: 0
  vcpus: two
`, []want{
			{"instance.name", `"9web" is not a valid instance name: label 1 ("9web") must start with a letter`, 3},
			{"instance.memoryMB", `"0" must be more than zero`, 5},
			{"instance.vcpus", `"two" is not a whole number; write it as vcpus: 1`, 6},
		}},
		{"unknown fields", kcHead + "  memoryMb: 256\nvolumes: []\n", []want{
			{"instance.memoryMb", "is not a known field; did you mean memoryMB?", 5},
			{"volumes", "did you mean volume?", 6},
		}},
		{"volume", kcHead + `volume:
  name: da--ta
  at: data
  readOnly: maybe
`, []want{
			{"volume.sizeMB", "is required", 5},
			{"volume.name", `"da--ta" is not a valid volume name: label 1 ("da--ta") has consecutive hyphens`, 6},
			{"volume.at", `"data" is not an absolute path`, 7},
			{"volume.readOnly", `must be true or false, not the value "maybe"`, 8},
		}},
		{"volume size", kcHead + "volume: {name: data, sizeMB: -5, at: /data}\n", []want{
			{"volume.sizeMB", `"-5" must be more than zero`, 5},
		}},
		{"derived name too long", strings.Replace(kcHead, "name: web", "name: "+strings.Repeat("a", 60), 1) + "volume: {name: data, sizeMB: 5, at: /d}\n", []want{
			{"volume.name", `makes the volume name "` + strings.Repeat("a", 60) + `-data" invalid: label 1 is 65 characters`, 5},
		}},
		{"service group", kcHead + `serviceGroup:
  name: web
  services:
    - port: 0
      destinationPort: 70000
      handlers: [tls, https, tls]
    - destinationPort: 80
    - port: 443
    - port: 443
  domains: [ok.example.com, "bad_domain.com", ok.example.com]
`, []want{
			{"serviceGroup.services[0].port", `"0" is not a port`, 8},
			{"serviceGroup.services[0].destinationPort", `"70000" is not a port`, 9},
			{"serviceGroup.services[0].handlers[1]", `"https" is not allowed here; use one of: tls, http, redirect`, 10},
			{"serviceGroup.services[0].handlers[2]", `"tls" is listed twice`, 10},
			{"serviceGroup.services[1].port", "is required", 11},
			{"serviceGroup.services[3].port", `"443" is published by serviceGroup.services[2] too`, 13},
			{"serviceGroup.domains[1]", `"bad_domain.com" is not a domain name`, 14},
			{"serviceGroup.domains[2]", `"ok.example.com" is listed by serviceGroup.domains[0] too`, 14},
		}},
		{"service group without services", kcHead + "serviceGroup:\n  name: web\n", []want{
			{"serviceGroup.services", "is required", 5},
		}},
		{"env", kcHead + `  env:
    GOOD: fine
    1BAD: x
    NESTED: {a: b}
`, []want{
			{"instance.env.1BAD", `"1BAD" is not an environment variable name`, 7},
			{"instance.env.NESTED", "must be a single value, not a mapping", 8},
		}},
		{"timeouts", kcHead + "timeouts: {operation: soon}\n", []want{{"timeouts.operation", `"soon" is not a duration`, 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertErrors(t, parseKraftErrors(t, tt.src), tt.wants)
		})
	}
}

// Env values may be secrets: no message repeats them.
func TestKraftCloudEnvValuesAreNeverEchoed(t *testing.T) {
	errs := parseKraftErrors(t, kcHead+"  env:\n    TOKEN: [hunter2-secret]\n    TOKEN: again-secret\n")
	require.NotEmpty(t, errs)
	for _, e := range errs {
		assert.NotContains(t, e.Error(), "secret")
	}
}

// A spec for the other command says which command runs it, and nothing else.
func TestSpecForTheOtherCommand(t *testing.T) {
	errs := parseErrors(t, kcHead+"volume: {name: data, sizeMB: 5, at: /d}\n", "app.yaml")
	assertErrors(t, errs, []want{{"provider", "deploy it with `cloudflow instances deploy -f FILE`", 1}})

	crusoe, err := readSpec(filepath.Join("..", "examples", "crusoe-vm.yaml"))
	require.NoError(t, err)
	assertErrors(t, parseKraftErrors(t, string(crusoe)), []want{{"provider", "provision it with `cloudflow vm provision -f FILE`", 0}})
}
