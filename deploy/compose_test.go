package deploy

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/clients/openvz"
	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/codec"
	"github.com/cloudflow/cloudflow/starter"
)

// repoRoot is where docker-compose.yml is.
const repoRoot = ".."

// composeOptions are the options `docker compose` loads a project with,
// reading the environment from envFiles only (never the developer's own
// .env or shell), so that a test sees what a fresh checkout gives.
func composeOptions(t *testing.T, envFiles []string, more ...cli.ProjectOptionsFn) *cli.ProjectOptions {
	t.Helper()
	opts := []cli.ProjectOptionsFn{cli.WithWorkingDirectory(repoRoot), cli.WithEnv([]string{"HOME=" + t.TempDir()})}
	if len(envFiles) > 0 {
		for i, f := range envFiles {
			envFiles[i] = filepath.Join(repoRoot, f)
		}
		opts = append(opts, cli.WithEnvFiles(envFiles...), cli.WithDotEnv)
	}
	opts = append(opts, cli.WithDefaultProfiles()) // COMPOSE_PROFILES, from the env files
	o, err := cli.NewProjectOptions([]string{filepath.Join(repoRoot, "docker-compose.yml")}, append(opts, more...)...)
	require.NoError(t, err)
	return o
}

// loadCompose loads docker-compose.yml as `docker compose --env-file F...`
// would, with no other environment.
func loadCompose(t *testing.T, envFiles ...string) *types.Project {
	t.Helper()
	p, err := composeOptions(t, envFiles).LoadProject(context.Background())
	require.NoError(t, err, "docker-compose.yml does not load")
	return p
}

// productionServices are the services of the production shape, in start order.
var productionServices = []string{"postgresql", "temporal-schema", "temporal", "temporal-setup", "temporal-ui", "worker"}

// The production shape loads with nothing set at all: no variable is
// required (no ${VAR:?}), and the simulator is left out.
func TestComposeLoadsWithNoVariableSet(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	require.NoError(t, err)
	require.NotRegexp(t, regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*:?\?`), string(raw), "a required variable (${VAR:?} or ${VAR?})")

	p := loadCompose(t)
	require.ElementsMatch(t, productionServices, p.ServiceNames())
	require.ElementsMatch(t, []string{"cloudsim", "codec-server"}, p.DisabledServiceNames(),
		"only the simulator (profile dev) and the codec server (profile codec) are left out by default")
	require.Equal(t, []string{"dev"}, p.DisabledServices["cloudsim"].Profiles)
}

// Each service starts once what it needs is there: the schema before the
// server, the namespace and search attributes before the worker.
func TestComposeStartOrder(t *testing.T) {
	for _, envFiles := range [][]string{nil, {"deploy/compose/dev.env"}} {
		p := loadCompose(t, envFiles...)
		want := map[string]map[string]string{
			"temporal-schema": {"postgresql": types.ServiceConditionHealthy},
			"temporal":        {"temporal-schema": types.ServiceConditionCompletedSuccessfully},
			"temporal-setup":  {"temporal": types.ServiceConditionHealthy},
			"temporal-ui":     {"temporal": types.ServiceConditionHealthy},
			"worker":          {"temporal-setup": types.ServiceConditionCompletedSuccessfully, "cloudsim": types.ServiceConditionHealthy},
		}
		for name, svc := range p.Services {
			got := map[string]string{}
			for dep, d := range svc.DependsOn {
				got[dep] = d.Condition
				target, enabled := p.Services[dep]
				if !enabled {
					// Only an optional dependency may be on a service left out.
					require.False(t, d.Required, "%s depends on %s, which is not running, and requires it", name, dep)
					continue
				}
				switch d.Condition {
				case types.ServiceConditionHealthy:
					require.NotNil(t, target.HealthCheck, "%s waits for %s to be healthy, which has no healthcheck", name, dep)
					require.False(t, target.HealthCheck.Disable, "%s waits for %s to be healthy, whose healthcheck is disabled", name, dep)
				case types.ServiceConditionCompletedSuccessfully:
					require.NotContains(t, []string{"always", "unless-stopped"}, target.Restart, "%s waits for %s to complete, which restarts forever", name, dep)
				}
			}
			require.Equal(t, want[name], map[string]string(nilIfEmpty(got)), "depends_on of %s (env files %v)", name, envFiles)
		}
		// The worker waits for the simulator only when there is one.
		require.False(t, p.Services["worker"].DependsOn["cloudsim"].Required)
	}
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// The Temporal images are the release the tests run against: the server of
// `make test-cluster` (and of the dev server), and the admin tools of the
// same release.
func TestComposeTemporalImagesMatchTheTestedRelease(t *testing.T) {
	version := strings.TrimPrefix(testedServerVersion(t), "v")
	p := loadCompose(t)
	require.Equal(t, "temporalio/server:"+version, p.Services["temporal"].Image)
	for _, job := range []string{"temporal-schema", "temporal-setup"} {
		require.True(t, strings.HasPrefix(p.Services[job].Image, "temporalio/admin-tools:"+version),
			"%s runs %s, want temporalio/admin-tools:%s...", job, p.Services[job].Image, version)
	}
	for name, svc := range p.Services {
		if svc.Build != nil {
			continue // the cloudflow image, built here
		}
		_, tag, ok := strings.Cut(svc.Image, ":")
		require.True(t, ok && tag != "latest", "%s: image %q is not pinned", name, svc.Image)
	}
}

// The server, the schema job and PostgreSQL agree on where the database is
// and on the credentials, whatever .env sets them to.
func TestComposeTemporalUsesThePostgreSQLService(t *testing.T) {
	for _, env := range [][]string{nil, {"POSTGRES_USER=ops", "POSTGRES_PASSWORD=s3cret"}} {
		p, err := composeOptions(t, nil, cli.WithEnv(env)).LoadProject(context.Background())
		require.NoError(t, err)
		db := p.Services["postgresql"].Environment
		server := p.Services["temporal"].Environment
		schema := p.Services["temporal-schema"].Environment
		require.Equal(t, "postgres12", deref(server["DB"]))
		require.Equal(t, "postgres12", deref(schema["SQL_PLUGIN"]))
		require.Equal(t, "postgresql", deref(server["POSTGRES_SEEDS"]))
		require.Equal(t, "0.0.0.0", deref(server["BIND_ON_IP"]), "the frontend is reachable from the other services")
		require.Equal(t, "5432", deref(server["DB_PORT"]))
		require.Equal(t, "5432", deref(schema["SQL_PORT"]))
		for _, user := range []*string{server["POSTGRES_USER"], schema["SQL_USER"]} {
			require.Equal(t, deref(db["POSTGRES_USER"]), deref(user))
		}
		for _, password := range []*string{server["POSTGRES_PWD"], schema["SQL_PASSWORD"]} {
			require.Equal(t, deref(db["POSTGRES_PASSWORD"]), deref(password))
		}
	}
}

// testedServerVersion is the Temporal server release scripts/test-cluster.sh
// builds and tests against.
func testedServerVersion(t *testing.T) string {
	t.Helper()
	script, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "test-cluster.sh"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^TEMPORAL_SERVER_VERSION=\$\{TEMPORAL_SERVER_VERSION:-(v\d+\.\d+\.\d+)\}$`).FindSubmatch(script)
	require.NotNil(t, m, "no TEMPORAL_SERVER_VERSION default in scripts/test-cluster.sh")
	return string(m[1])
}

// The two admin-tools jobs run the setup scripts that `make test-cluster`
// runs too (so those are tested for real), mounted read-only from
// deploy/temporal; the schema job gets its connection from the environment.
func TestComposeSetupJobsRunTheSharedScripts(t *testing.T) {
	p := loadCompose(t)
	scripts, err := filepath.Abs(filepath.Join(repoRoot, "deploy", "temporal"))
	require.NoError(t, err)
	for job, script := range map[string]string{"temporal-schema": "setup-schema.sh", "temporal-setup": "setup-namespace.sh"} {
		svc := p.Services[job]
		require.Len(t, svc.Volumes, 1, job)
		v := svc.Volumes[0]
		require.Equal(t, types.VolumeTypeBind, v.Type, job)
		require.Equal(t, scripts, v.Source, job)
		require.True(t, v.ReadOnly, "%s mounts the scripts read-only", job)
		require.Equal(t, []string{"/bin/sh"}, []string(svc.Entrypoint), job)
		require.Equal(t, []string{v.Target + "/" + script}, []string(svc.Command), job)
		require.FileExists(t, filepath.Join(scripts, script))
	}
	env := p.Services["temporal-schema"].Environment
	for _, name := range []string{"SQL_PLUGIN", "SQL_HOST", "SQL_PORT", "SQL_USER", "SQL_PASSWORD"} {
		require.NotNil(t, env[name], "temporal-schema has no %s", name)
	}
	require.Equal(t, "postgresql", *env["SQL_HOST"])
	setup := p.Services["temporal-setup"].Environment
	require.Equal(t, "temporal:7233", *setup["TEMPORAL_ADDRESS"])
	require.Equal(t, *p.Services["worker"].Environment["TEMPORAL_NAMESPACE"], *setup["TEMPORAL_NAMESPACE"], "the setup job registers the worker's namespace")
}

// setup-namespace.sh registers every search attribute the starter sets, with
// its type: without them, starting a run fails.
func TestSetupScriptRegistersEverySearchAttribute(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "temporal", "setup-namespace.sh"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^SEARCH_ATTRIBUTES="([^"]*)"$`).FindSubmatch(script)
	require.NotNil(t, m, "no SEARCH_ATTRIBUTES line in setup-namespace.sh")
	registered := map[string]string{}
	for _, attr := range strings.Fields(string(m[1])) {
		name, typ, ok := strings.Cut(attr, "=")
		require.True(t, ok, "%q is not name=type", attr)
		registered[name] = typ
	}
	for name, typ := range starter.SearchAttributeTypes {
		require.Equal(t, typ, registered[name], "search attribute %s", name)
	}
}

// The worker serves metrics and health on the address it is given, logs
// JSON, is checked on /readyz, and stops by itself before compose kills it.
func TestComposeWorker(t *testing.T) {
	p := loadCompose(t)
	w := p.Services["worker"]
	require.NotNil(t, w.Build, "the worker is built from the Dockerfile")
	require.NotNil(t, w.StopGracePeriod)
	port := requireWorkerFlags(t, w.Command, time.Duration(*w.StopGracePeriod))

	require.NotNil(t, w.HealthCheck)
	require.Equal(t, []string{"CMD", "/usr/local/bin/healthcheck", "http://127.0.0.1:" + strconv.Itoa(port) + "/readyz"}, []string(w.HealthCheck.Test))
	require.True(t, slices.ContainsFunc(w.Ports, func(pc types.ServicePortConfig) bool { return pc.Target == uint32(port) }),
		"the metrics port %d is published", port)

	// The worker reaches Temporal inside the project's network, even when the
	// shell exports TEMPORAL_ADDRESS for the host's CLI.
	shell, err := composeOptions(t, nil, cli.WithEnv([]string{"TEMPORAL_ADDRESS=127.0.0.1:7233"})).LoadProject(context.Background())
	require.NoError(t, err)
	require.Equal(t, "temporal:7233", deref(shell.Services["worker"].Environment["TEMPORAL_ADDRESS"]))
}

// The healthchecks of the services built from the Dockerfile run programs
// its final image holds: it has no shell to fall back on.
func TestComposeHealthchecksRunWhatTheImageHolds(t *testing.T) {
	dockerfile, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	require.NoError(t, err)
	text := string(dockerfile)
	final := text[strings.LastIndex(text, "\nFROM "):]
	held := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^COPY\s.*\s(/\S+)$`).FindAllStringSubmatch(final, -1) {
		held[m[1]] = true
	}
	require.NotEmpty(t, held)
	for name, svc := range loadCompose(t, "deploy/compose/dev.env").Services {
		if svc.Build == nil || svc.HealthCheck == nil {
			continue
		}
		test := svc.HealthCheck.Test
		require.Equal(t, "CMD", test[0], "%s: the image has no shell for CMD-SHELL", name)
		require.True(t, held[test[1]], "%s's healthcheck runs %s, which the image does not hold", name, test[1])
	}
}

// requireWorkerFlags checks a `cloudflow worker` command line (compose's or
// Kubernetes') for the flags production relies on, and returns the metrics
// port. grace is how long the worker has between SIGTERM and SIGKILL.
func requireWorkerFlags(t *testing.T, args []string, grace time.Duration) int {
	t.Helper()
	require.NotEmpty(t, args)
	require.Equal(t, "worker", args[0])
	flags := map[string]string{}
	for _, a := range args[1:] {
		name, value, ok := strings.Cut(a, "=")
		require.True(t, ok && strings.HasPrefix(name, "--"), "write flags as --name=value: %q", a)
		flags[name] = value
	}
	host, portText, ok := strings.Cut(flags["--metrics-listen"], ":")
	require.True(t, ok, "--metrics-listen=HOST:PORT is missing")
	require.Equal(t, "0.0.0.0", host, "metrics and health listen beyond the container's loopback, for probes and scrapers")
	port, err := strconv.Atoi(portText)
	require.NoError(t, err)
	require.Equal(t, "json", flags["--log-format"])
	require.Contains(t, []string{"debug", "info", "warn", "error"}, flags["--log-level"])
	stop, err := time.ParseDuration(flags["--shutdown-timeout"])
	require.NoError(t, err, "--shutdown-timeout")
	require.Positive(t, stop)
	require.Less(t, stop, grace, "the worker's own stop timeout ends before the kill")
	require.LessOrEqual(t, grace-stop, 15*time.Second, "the grace period is --shutdown-timeout and a margin, no more")
	return port
}

// workerVariables are the variables the worker reads its clouds and codec
// from (clients/*, codec).
var workerVariables = []string{
	crusoe.EnvAPIEndpoint, crusoe.EnvAccessKeyID, crusoe.EnvSecretKey, crusoe.EnvProjectID,
	kraftcloud.EnvAPIEndpoint, kraftcloud.EnvMetro, kraftcloud.EnvToken,
	cloudmc.EnvAPIEndpoint, cloudmc.EnvAPIKey, cloudmc.EnvServiceCode, cloudmc.EnvEnvironment, cloudmc.EnvOrgID,
	openvz.EnvAPIEndpoint,
	codec.EnvKey, codec.EnvKeyID,
}

// Each cloud is optional: the worker is handed every cloud's variables from
// .env or the shell when they are set, and none when they are not, so a
// cloud left out is simply not configured. No secret is written in the file.
func TestComposeCloudsAreOptionalAndSecretsComeFromOutside(t *testing.T) {
	env := loadCompose(t).Services["worker"].Environment
	for _, name := range workerVariables {
		v, listed := env[name]
		require.True(t, listed, "the worker is not passed %s", name)
		require.Nil(t, v, "%s is set with nothing in .env: %q", name, deref(v))
	}
	require.Nil(t, env["TEMPORAL_API_KEY"], "TEMPORAL_API_KEY")

	// In the file as written: a secret's value is an interpolation at most.
	model, err := composeOptions(t, nil, cli.WithInterpolation(false)).LoadModel(context.Background())
	require.NoError(t, err)
	secret := regexp.MustCompile(`SECRET|TOKEN|PASSWORD|PWD|_KEY$|_KEY_DATA$|API_KEY`)
	services := model["services"].(map[string]any)
	for name, svc := range services {
		environment, _ := svc.(map[string]any)["environment"].(map[string]any)
		for k, v := range environment {
			if !secret.MatchString(k) || v == nil {
				continue
			}
			s, _ := v.(string)
			require.True(t, strings.HasPrefix(s, "${"), "%s: %s is written in docker-compose.yml; take it from .env", name, k)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// deploy/compose/dev.env turns the dev profile on and points every cloud at
// the simulator, with its default credentials.
func TestComposeDevProfileRunsOnTheSimulator(t *testing.T) {
	p := loadCompose(t, "deploy/compose/dev.env")
	require.ElementsMatch(t, append([]string{"cloudsim"}, productionServices...), p.ServiceNames())
	sim := p.Services["cloudsim"]
	require.Equal(t, []string{"sim", "--listen", "0.0.0.0:8787"}, []string(sim.Command))
	require.NotNil(t, sim.HealthCheck)
	require.True(t, p.Services["worker"].DependsOn["cloudsim"].Condition == types.ServiceConditionHealthy)

	env := p.Services["worker"].Environment
	want := map[string]string{
		crusoe.EnvAPIEndpoint:     "http://cloudsim:8787/v1alpha5",
		crusoe.EnvAccessKeyID:     cloudsim.DefaultCrusoeAccessKeyID,
		crusoe.EnvSecretKey:       cloudsim.DefaultCrusoeSecretKey,
		crusoe.EnvProjectID:       cloudsim.DefaultCrusoeProjectID,
		kraftcloud.EnvAPIEndpoint: "http://cloudsim:8787/v1",
		kraftcloud.EnvToken:       cloudsim.DefaultKraftCloudToken,
		cloudmc.EnvAPIEndpoint:    "http://cloudsim:8787/api/v2",
		cloudmc.EnvAPIKey:         cloudsim.DefaultCloudMCAPIKey,
		cloudmc.EnvServiceCode:    cloudsim.DefaultCloudMCServiceCode,
		cloudmc.EnvEnvironment:    cloudsim.DefaultCloudMCEnvironment,
		openvz.EnvAPIEndpoint:     "http://cloudsim:8787/v0.1",
	}
	for name, value := range want {
		require.Equal(t, value, deref(env[name]), name)
	}
}

// Nothing is published beyond loopback, and PostgreSQL not at all.
func TestComposePortsStayOnLoopback(t *testing.T) {
	p := loadCompose(t, "deploy/compose/dev.env")
	for name, svc := range p.Services {
		for _, port := range svc.Ports {
			require.Equal(t, "127.0.0.1", port.HostIP, "%s publishes port %d beyond loopback", name, port.Target)
		}
	}
	require.Empty(t, p.Services["postgresql"].Ports)
}

// The codec profile adds the codec server: loopback-published, bound
// beyond loopback only inside the container (--allow-remote), the UI's
// origin allowed, its key and token passed on from .env and never written
// here, and a healthcheck the image can run.
func TestComposeCodecProfile(t *testing.T) {
	p, err := composeOptions(t, nil, cli.WithProfiles([]string{"codec"})).LoadProject(context.Background())
	require.NoError(t, err)
	svc, err := p.GetService("codec-server")
	require.NoError(t, err)
	cmd := strings.Join(svc.Command, " ")
	for _, want := range []string{"codec-server", "--listen=0.0.0.0:8888", "--allow-remote", "--cors-origin=http://127.0.0.1:8080"} {
		require.Contains(t, cmd, want)
	}
	for _, v := range []string{"CLOUDFLOW_PAYLOAD_KEY", "CLOUDFLOW_CODEC_TOKEN"} {
		val, ok := svc.Environment[v]
		require.True(t, ok, "%s passed on", v)
		require.Nil(t, val, "%s has no value in the file", v)
	}
	require.Len(t, svc.Ports, 1)
	require.Equal(t, "127.0.0.1", svc.Ports[0].HostIP)
	require.NotNil(t, svc.HealthCheck)
	require.Equal(t, "/usr/local/bin/healthcheck", svc.HealthCheck.Test[1])
	ui, err := p.GetService("temporal-ui")
	require.NoError(t, err)
	require.Contains(t, ui.Environment, "TEMPORAL_CODEC_ENDPOINT")
}

// The server runs with cloudflow's dynamic configuration, mounted read-only
// from deploy/temporal/dynamicconfig: the file `make test-cluster` gives its
// server too, and it turns eager activity execution on.
func TestComposeTemporalDynamicConfig(t *testing.T) {
	p := loadCompose(t)
	svc := p.Services["temporal"]
	dir, err := filepath.Abs(filepath.Join(repoRoot, "deploy", "temporal", "dynamicconfig"))
	require.NoError(t, err)
	require.Len(t, svc.Volumes, 1)
	v := svc.Volumes[0]
	require.Equal(t, types.VolumeTypeBind, v.Type)
	require.Equal(t, dir, v.Source)
	require.True(t, v.ReadOnly, "the dynamic config is mounted read-only")
	// The image's server runs in /etc/temporal and reads the path relative to it.
	path := deref(svc.Environment["DYNAMIC_CONFIG_FILE_PATH"])
	require.Equal(t, v.Target, filepath.Join("/etc/temporal", filepath.Dir(path)), "DYNAMIC_CONFIG_FILE_PATH lies in the mount")
	file := filepath.Join(dir, filepath.Base(path))

	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var dc map[string][]struct {
		Value       any            `yaml:"value"`
		Constraints map[string]any `yaml:"constraints"`
	}
	require.NoError(t, yaml.Unmarshal(data, &dc), "%s does not parse as dynamic config", file)
	eager := dc["system.enableActivityEagerExecution"]
	require.Len(t, eager, 1)
	require.Equal(t, true, eager[0].Value)
	require.Empty(t, eager[0].Constraints, "on for every namespace")

	script, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "test-cluster.sh"))
	require.NoError(t, err)
	require.Contains(t, string(script), "CLUSTER_DYNAMIC_CONFIG=$ROOT/deploy/temporal/dynamicconfig/"+filepath.Base(path), "make test-cluster runs its server on the same file")
	server, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "cluster", "temporal-server.yaml"))
	require.NoError(t, err)
	require.Contains(t, string(server), `filepath: "{{ env "CLUSTER_DYNAMIC_CONFIG" }}"`)
}
