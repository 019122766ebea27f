package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// The container image test builds the image with "make image" into a
// private podman store and runs it the way deploy/kubernetes/deployment.yaml
// runs it: the repository's ConfigMap config mounted read-only where the
// manifest mounts it, the manifest's arguments, its user, capabilities and
// read-only root. Podman runs with what hosts like CI's need: the vfs
// storage driver, runc, cgroupfs, no rlimits (deploy/docker/containers.conf)
// and the host's network, so the server binds port 53 of a 127.x address of
// its own.

// manifest is the part of deploy/kubernetes/deployment.yaml and
// configmap.yaml the image test follows.
type manifest struct {
	image      string
	args       []string
	mountPath  string
	configMap  string
	uid, gid   int64
	readOnly   bool
	noNewPrivs bool
	capDrop    []string
	capAdd     []string
	config     map[string]string // the ConfigMap's data
}

func loadManifest(t *testing.T) manifest {
	t.Helper()
	var d struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Image           string   `json:"image"`
						Args            []string `json:"args"`
						SecurityContext struct {
							RunAsUser                *int64 `json:"runAsUser"`
							RunAsGroup               *int64 `json:"runAsGroup"`
							ReadOnlyRootFilesystem   bool   `json:"readOnlyRootFilesystem"`
							AllowPrivilegeEscalation *bool  `json:"allowPrivilegeEscalation"`
							Capabilities             struct {
								Drop []string `json:"drop"`
								Add  []string `json:"add"`
							} `json:"capabilities"`
						} `json:"securityContext"`
						VolumeMounts []struct {
							Name      string `json:"name"`
							MountPath string `json:"mountPath"`
						} `json:"volumeMounts"`
					} `json:"containers"`
					Volumes []struct {
						Name      string `json:"name"`
						ConfigMap *struct {
							Name string `json:"name"`
						} `json:"configMap"`
					} `json:"volumes"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	readYAML(t, "../deploy/kubernetes/deployment.yaml", &d)
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("deployment.yaml: %d containers, want 1", len(cs))
	}
	c := cs[0]
	sc := c.SecurityContext
	if sc.RunAsUser == nil || sc.RunAsGroup == nil || sc.AllowPrivilegeEscalation == nil {
		t.Fatal("deployment.yaml: the container's securityContext lacks runAsUser, runAsGroup or allowPrivilegeEscalation")
	}
	m := manifest{
		image: c.Image, args: c.Args,
		uid: *sc.RunAsUser, gid: *sc.RunAsGroup,
		readOnly: sc.ReadOnlyRootFilesystem, noNewPrivs: !*sc.AllowPrivilegeEscalation,
		capDrop: sc.Capabilities.Drop, capAdd: sc.Capabilities.Add,
	}
	for _, vm := range c.VolumeMounts {
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == vm.Name && v.ConfigMap != nil {
				m.mountPath, m.configMap = vm.MountPath, v.ConfigMap.Name
			}
		}
	}
	if m.mountPath == "" {
		t.Fatal("deployment.yaml: no ConfigMap volume mounted")
	}
	var cm struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Data map[string]string `json:"data"`
	}
	readYAML(t, "../deploy/kubernetes/configmap.yaml", &cm)
	if cm.Metadata.Name != m.configMap || len(cm.Data) == 0 {
		t.Fatalf("configmap.yaml: ConfigMap %q with %d keys; the Deployment mounts %q", cm.Metadata.Name, len(cm.Data), m.configMap)
	}
	m.config = cm.Data
	return m
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// podman runs podman with the test's private store and the flags this kind
// of host needs.
type podman struct {
	bin   string
	flags []string
	env   []string
}

func newPodman(t *testing.T, dir string) *podman {
	t.Helper()
	bin := need(t, "podman")
	need(t, "runc")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the image test runs podman as root (CI runs as root)")
		}
		t.Skip("the image test runs podman as root")
	}
	conf, err := filepath.Abs("../deploy/docker/containers.conf")
	if err != nil {
		t.Fatal(err)
	}
	return &podman{
		bin: bin,
		flags: []string{
			"--root", filepath.Join(dir, "storage"), "--runroot", filepath.Join(dir, "run"),
			"--storage-driver", "vfs", "--runtime", "runc", "--cgroup-manager", "cgroupfs",
			"--events-backend", "file", "--tmpdir", filepath.Join(dir, "libpod"),
		},
		env: append(os.Environ(), "CONTAINERS_CONF="+conf),
	}
}

// run runs podman with args, bounded by timeout, and returns stdout.
func (p *podman) run(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, append(slices.Clone(p.flags), args...)...)
	cmd.Env = p.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("podman %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// logs returns what the container wrote to stdout and stderr so far.
func (p *podman) logs(name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, append(slices.Clone(p.flags), "logs", name)...)
	cmd.Env = p.env
	out, _ := cmd.CombinedOutput()
	return string(out)
}

func (p *podman) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := p.run(2*time.Minute, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImage builds the container image and runs it as Kubernetes would.
func TestImage(t *testing.T) {
	need(t, "make")
	digPath := need(t, "dig")
	dir := t.TempDir()
	p := newPodman(t, dir)
	m := loadManifest(t)
	repo, _, _ := strings.Cut(m.image, ":")
	image := repo + ":e2e"
	const version, revision = "v0.0.0-e2e", "00000000000000000000000000000000000000e2"

	// make image, as a user would run it, with the test's store.
	build := exec.Command("make", "-C", "..", "image", "ENGINE="+p.bin,
		"ENGINE_FLAGS="+strings.Join(p.flags, " "), "IMAGE="+image,
		"IMAGE_CONTEXT="+filepath.Join(dir, "context"), "VERSION="+version, "REVISION="+revision)
	build.Env = p.env
	out, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	sizeLine := regexp.MustCompile(`(?m)^image \S+: (\d+) bytes$`).FindSubmatch(out)
	if sizeLine == nil {
		t.Fatalf("make image printed no size line:\n%s", out)
	}
	size, _ := strconv.Atoi(string(sizeLine[1]))
	t.Logf("image size %d bytes (%.1f MB; goal under 15 MB)", size, float64(size)/1e6)
	if size >= 15e6 {
		t.Errorf("image of %d bytes, want under 15 MB (docs/deploying.md)", size)
	}
	t.Cleanup(func() { _, _ = p.run(time.Minute, "rmi", "-f", image) })

	t.Run("contents", func(t *testing.T) { checkImageContents(t, p, image, version, revision) })
	t.Run("no config", func(t *testing.T) { checkNoConfig(t, p, image, m) })
	t.Run("serve", func(t *testing.T) { checkImageServes(t, p, image, m, digPath, version) })
	t.Run("no capability", func(t *testing.T) { checkNoCapability(t, p, image, m) })
}

// configMapDir writes the manifest's ConfigMap into a directory of its
// own, a file a key, as the kubelet mounts it, and returns the directory.
func configMapDir(t *testing.T, m manifest) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "configmap")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range m.config {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// checkNoCapability runs the image as the Deployment does but with every
// capability dropped, NET_BIND_SERVICE too. The binary's file capability
// has the effective bit, so the kernel refuses to exec it when the bounding
// set cannot grant the capability (capabilities(7)): the container fails at
// once with "operation not permitted", which shows that the file
// capability is what the server binds port 53 with, and that nothing else
// gives it a privilege.
func checkNoCapability(t *testing.T, p *podman, image string, m manifest) {
	cfgDir := configMapDir(t, m)
	addr := freeLoopback(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append(slices.Clone(p.flags), "run", "--rm", "--network", "host", "--read-only",
		"--security-opt", "no-new-privileges", "--cap-drop", "ALL",
		"--user", fmt.Sprintf("%d:%d", m.uid, m.gid), "-v", cfgDir+":"+m.mountPath+":ro", image)
	args = append(args, containerArgs(t, m, addr)...)
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("without NET_BIND_SERVICE the server did not fail: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "exec /sitedns: operation not permitted") {
		t.Errorf("without NET_BIND_SERVICE: want the kernel to refuse to exec /sitedns (its file capability), got:\n%s", out)
	}
}

// checkImageContents checks the labels and the file system: the binary with
// its file capability, passwd, group and the CA bundle, and nothing else (no
// shell).
func checkImageContents(t *testing.T, p *podman, image, version, revision string) {
	var labels map[string]string
	if err := json.Unmarshal([]byte(p.must(t, "image", "inspect", "--format", "{{json .Labels}}", image)), &labels); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.source":   "https://github.com/sitedns/sitedns",
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.revision": revision,
	} {
		if labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, labels[k], want)
		}
	}
	if u := strings.TrimSpace(p.must(t, "image", "inspect", "--format", "{{.Config.User}}", image)); u != "65532:65532" {
		t.Errorf("image user %q, want 65532:65532", u)
	}

	name := fmt.Sprintf("sitedns-e2e-export-%d", os.Getpid())
	p.must(t, "create", "--name", name, image)
	defer func() { _, _ = p.run(time.Minute, "rm", "-f", name) }()
	tarPath := filepath.Join(t.TempDir(), "fs.tar")
	p.must(t, "export", "-o", tarPath, name)
	f, err := os.Open(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var files []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		name := strings.TrimPrefix(h.Name, "./")
		files = append(files, name)
		switch name {
		case "sitedns":
			capData := h.PAXRecords["SCHILY.xattr.security.capability"]
			if !netBindOnly(capData) {
				t.Errorf("/sitedns: security.capability %x, want cap_net_bind_service=ep", capData)
			}
		case "etc/passwd":
			b, _ := io.ReadAll(tr)
			if !regexp.MustCompile(`(?m)^nonroot:x:65532:65532:`).Match(b) {
				t.Errorf("/etc/passwd has no 65532 line:\n%s", b)
			}
		case "etc/ssl/certs/ca-certificates.crt":
			b, _ := io.ReadAll(tr)
			if n := bytes.Count(b, []byte("BEGIN CERTIFICATE")); n < 50 {
				t.Errorf("/etc/ssl/certs/ca-certificates.crt holds %d certificates", n)
			}
		}
	}
	slices.Sort(files)
	want := []string{"etc/group", "etc/passwd", "etc/ssl/certs/ca-certificates.crt", "sitedns"}
	if !slices.Equal(files, want) {
		t.Errorf("image files %q, want %q (nothing else: no shell)", files, want)
	}
}

// netBindOnly reports whether a security.capability xattr (struct
// vfs_cap_data, revision 2 or 3) grants exactly CAP_NET_BIND_SERVICE,
// permitted and effective.
func netBindOnly(b string) bool {
	if len(b) < 20 {
		return false
	}
	magic := binary.LittleEndian.Uint32([]byte(b[0:4]))
	permLo := binary.LittleEndian.Uint32([]byte(b[4:8]))
	inhLo := binary.LittleEndian.Uint32([]byte(b[8:12]))
	permHi := binary.LittleEndian.Uint32([]byte(b[12:16]))
	const effective, netBindService = 0x1, 1 << 10
	rev := magic &^ effective
	return (rev == 0x02000000 || rev == 0x03000000) && magic&effective != 0 &&
		permLo == netBindService && inhLo == 0 && permHi == 0
}

// checkNoConfig runs the image's default command with nothing mounted: it
// must exit at once saying where to mount a config.
func checkNoConfig(t *testing.T, p *podman, image string, m manifest) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, append(slices.Clone(p.flags), "run", "--rm", "--network", "host", image)...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("the default command without a config: %v, want exit 1\n%s", err, out)
	}
	for _, want := range []string{"no config file at " + m.mountPath + "/", "-v DIR:" + m.mountPath + ":ro"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("without a config the container says %q; want it to contain %q", out, want)
		}
	}
}

// freeLoopback picks a 127.x address on which port 53 (UDP and TCP) is
// free, so that the container can bind it with the host's network.
func freeLoopback(t *testing.T) string {
	t.Helper()
	for range 20 {
		addr := fmt.Sprintf("127.253.%d.%d", rand.IntN(250)+1, rand.IntN(250)+1)
		u, err := net.ListenPacket("udp", addr+":53")
		if err != nil {
			continue
		}
		l, err := net.Listen("tcp", addr+":53")
		u.Close()
		if err != nil {
			continue
		}
		l.Close()
		return addr
	}
	t.Fatal("no free 127.253.x.y:53 after 20 tries")
	return ""
}

// containerArgs is the manifest's args with the listeners moved to addr.
func containerArgs(t *testing.T, m manifest, addr string) []string {
	t.Helper()
	args := slices.Clone(m.args)
	moved := 0
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-listen":
			args[i+1] = addr + ":53"
			moved++
		case "-metrics-listen":
			args[i+1] = addr + ":9153"
			moved++
		}
	}
	if moved != 2 {
		t.Fatalf("deployment.yaml args %q: want one -listen and one -metrics-listen", m.args)
	}
	return args
}

// lameduck is the manifest's -lameduck.
func lameduck(t *testing.T, args []string) time.Duration {
	t.Helper()
	i := slices.Index(args, "-lameduck")
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("deployment.yaml args %q: no -lameduck", args)
	}
	d, err := time.ParseDuration(args[i+1])
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkImageServes runs the image as the Deployment does and checks that it
// answers, exports metrics, holds no privilege but NET_BIND_SERVICE, and
// stops cleanly on SIGTERM after its lame duck.
func checkImageServes(t *testing.T, p *podman, image string, m manifest, digPath, version string) {
	cfgDir := configMapDir(t, m)
	name := fmt.Sprintf("sitedns-e2e-%d", os.Getpid())
	var addr string
	var runErr error
	for range 3 { // another process may take the address between the probe and the run
		addr = freeLoopback(t)
		run := []string{"run", "-d", "--name", name, "--network", "host", "--log-driver", "k8s-file",
			"-v", cfgDir + ":" + m.mountPath + ":ro",
			"--user", fmt.Sprintf("%d:%d", m.uid, m.gid)}
		if m.readOnly {
			run = append(run, "--read-only")
		}
		if m.noNewPrivs {
			run = append(run, "--security-opt", "no-new-privileges")
		}
		for _, c := range m.capDrop {
			run = append(run, "--cap-drop", c)
		}
		for _, c := range m.capAdd {
			run = append(run, "--cap-add", c)
		}
		run = append(run, image)
		run = append(run, containerArgs(t, m, addr)...)
		if _, runErr = p.run(time.Minute, run...); runErr != nil {
			break
		}
		t.Cleanup(func() { _, _ = p.run(time.Minute, "rm", "-f", "-t", "0", name) })
		if runErr = waitServing(p, name, 30*time.Second); runErr == nil {
			break
		}
		logs := p.logs(name)
		_, _ = p.run(time.Minute, "rm", "-f", "-t", "0", name)
		if !strings.Contains(logs, "address already in use") {
			t.Fatalf("%v\n%s", runErr, logs)
		}
	}
	if runErr != nil {
		t.Fatal(runErr)
	}
	metricsURL := "http://" + addr + ":9153"

	// Answers over UDP and TCP: a US-Chicago client gets the US CAS, a
	// client in no site the published address.
	dig := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		full := append([]string{"@" + addr, "-p", "53", "+time=3", "+tries=2", "+short"}, args...)
		out, err := exec.CommandContext(ctx, digPath, full...).CombinedOutput()
		if err != nil {
			t.Fatalf("dig %s: %v\n%s", strings.Join(full, " "), err, out)
		}
		f := strings.Fields(string(out))
		slices.Sort(f)
		return strings.Join(f, " ")
	}
	for _, transport := range []string{"+notcp", "+tcp"} {
		if got, want := dig(transport, "-b", "127.2.1.77", "autodiscover.contoso.lab"), "10.1.1.10 10.2.1.10 10.3.1.10"; got != want {
			t.Errorf("dig %s from US-Chicago: %q, want %q", transport, got, want)
		}
		if got, want := dig(transport, "-b", "127.9.0.5", "autodiscover.contoso.lab"), "203.0.113.10"; got != want {
			t.Errorf("dig %s from no site: %q, want %q", transport, got, want)
		}
	}

	// Metrics: the build and the four answers above.
	_, body := httpGet(t, metricsURL+"/metrics")
	if !strings.Contains(body, `sitedns_build_info{`) || !strings.Contains(body, `version="`+version+`"`) {
		t.Errorf("/metrics has no sitedns_build_info with version %s", version)
	}
	if !regexp.MustCompile(`(?m)^sitedns_responses_total\{[^}]*\} [1-9]`).MatchString(body) {
		t.Errorf("/metrics counts no response:\n%s", grepLines(body, "sitedns_responses_total"))
	}

	// The process: user and group 65532, no capability but NET_BIND_SERVICE.
	pid := strings.TrimSpace(p.must(t, "inspect", "--format", "{{.State.Pid}}", name))
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	checkProcStatus(t, string(status))

	// SIGTERM: readiness fails at once, answers go on through the lame
	// duck, then the process exits 0.
	ld := lameduck(t, m.args)
	start := time.Now()
	p.must(t, "kill", "--signal", "TERM", name)
	if !pollUntil(10*time.Second, func() bool { c, _ := httpGetErr(metricsURL + "/-/ready"); return c == http.StatusServiceUnavailable }) {
		t.Error("/-/ready did not turn 503 after SIGTERM")
	}
	if time.Since(start) < ld {
		if got := dig("-b", "127.9.0.5", "autodiscover.contoso.lab"); got != "203.0.113.10" {
			t.Errorf("during the lame duck: %q", got)
		}
	}
	code := strings.TrimSpace(p.must(t, "wait", name))
	elapsed := time.Since(start)
	t.Logf("SIGTERM to exit: %v (lame duck %v)", elapsed.Round(10*time.Millisecond), ld)
	if code != "0" {
		logs := p.logs(name)
		t.Errorf("exit code %s after SIGTERM, want 0\n%s", code, logs)
	}
	// The Deployment gives terminationGracePeriodSeconds: 30; the lame
	// duck plus draining must fit well inside, and the lame duck is kept.
	if elapsed < ld || elapsed > ld+10*time.Second {
		t.Errorf("exited %v after SIGTERM, want between the lame duck (%v) and %v", elapsed, ld, ld+10*time.Second)
	}
}

// checkProcStatus checks /proc/PID/status of the server: every uid and gid
// 65532, NET_BIND_SERVICE effective and permitted, nothing else in any set,
// no_new_privs.
func checkProcStatus(t *testing.T, status string) {
	t.Helper()
	field := func(name string) []string {
		m := regexp.MustCompile(`(?m)^` + name + `:\s*(.*)$`).FindStringSubmatch(status)
		if m == nil {
			t.Fatalf("/proc status has no %s:\n%s", name, status)
		}
		return strings.Fields(m[1])
	}
	for _, f := range []string{"Uid", "Gid"} {
		if got := field(f); !slices.Equal(got, []string{"65532", "65532", "65532", "65532"}) {
			t.Errorf("%s %q, want 65532 throughout", f, got)
		}
	}
	const netBind = 1 << 10
	for _, f := range []string{"CapPrm", "CapEff", "CapBnd", "CapInh", "CapAmb"} {
		v, err := strconv.ParseUint(field(f)[0], 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		if v&^netBind != 0 {
			t.Errorf("%s %#x: capabilities besides NET_BIND_SERVICE", f, v)
		}
		if (f == "CapPrm" || f == "CapEff") && v != netBind {
			t.Errorf("%s %#x, want NET_BIND_SERVICE (%#x)", f, v, netBind)
		}
	}
	if nnp := field("NoNewPrivs"); nnp[0] != "1" {
		t.Errorf("NoNewPrivs %s, want 1 (allowPrivilegeEscalation: false)", nnp[0])
	}
}

// waitServing waits until the container logs that it is serving, or has
// exited, or timeout passes.
func waitServing(p *podman, name string, timeout time.Duration) error {
	var logs string
	ok := pollUntil(timeout, func() bool {
		logs = p.logs(name)
		if strings.Contains(logs, `"msg":"serving"`) {
			return true
		}
		state, _ := p.run(30*time.Second, "inspect", "--format", "{{.State.Status}}", name)
		return strings.TrimSpace(state) == "exited"
	})
	if !ok || !strings.Contains(logs, `"msg":"serving"`) {
		return fmt.Errorf("container %s is not serving:\n%s", name, logs)
	}
	return nil
}

// pollUntil calls cond every 100ms until it is true or timeout passes.
func pollUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpGetErr(url string) (int, string) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	code, body := httpGetErr(url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	return code, body
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
