package deploy

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// containerfile is the one image definition; make image builds it and
// e2e/image_test.go runs what it builds.
const containerfile = "docker/Containerfile"

// instruction is one Containerfile instruction, continuation lines joined.
type instruction struct {
	line int    // 1-based line where it starts
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// stage is one FROM ... section of a Containerfile.
type stage struct {
	from   string // image reference, as written
	name   string // AS name, or ""
	instrs []instruction
	args   map[string]string // ARG defaults declared in the stage
}

type parsedContainerfile struct {
	globalArgs map[string]string // ARGs before the first FROM
	stages     []*stage
}

// parseContainerfile splits a Containerfile into stages and instructions. It knows
// what this repository's Containerfile uses: comments, backslash continuations,
// ARG defaults, FROM ... AS name.
func parseContainerfile(t *testing.T, src string) *parsedContainerfile {
	t.Helper()
	p := &parsedContainerfile{globalArgs: map[string]string{}}
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			line = strings.TrimSuffix(line, `\`)
			i++
			next := strings.TrimSpace(lines[i])
			if strings.HasPrefix(next, "#") {
				next = `\` // a comment inside a continuation is dropped
			}
			line += " " + next
		}
		line = strings.TrimSuffix(line, `\`)
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		switch in.cmd {
		case "FROM":
			f := strings.Fields(in.args)
			st := &stage{args: map[string]string{}}
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				f = f[1:]
			}
			if len(f) == 0 {
				t.Fatalf("%s:%d: FROM without an image", containerfile, start)
			}
			st.from = f[0]
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			p.stages = append(p.stages, st)
			continue
		case "ARG":
			target := p.globalArgs
			if len(p.stages) > 0 {
				target = p.stages[len(p.stages)-1].args
			}
			for _, a := range strings.Fields(in.args) {
				k, v, _ := strings.Cut(a, "=")
				target[k] = v
			}
		}
		if len(p.stages) == 0 {
			if in.cmd != "ARG" {
				t.Fatalf("%s:%d: %s before the first FROM", containerfile, start, in.cmd)
			}
			continue
		}
		st := p.stages[len(p.stages)-1]
		st.instrs = append(st.instrs, in)
	}
	if len(p.stages) == 0 {
		t.Fatalf("%s: no FROM", containerfile)
	}
	return p
}

func (s *stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// shellSplit splits a POSIX shell command line into simple commands (at &&,
// ||, ;, |) of words, removing quotes and expanding $NAME and ${NAME} from
// vars. It covers the quoting the deployment files use; anything else is an error.
func shellSplit(s string, vars map[string]string) ([][]string, error) {
	var (
		cmds   [][]string
		words  []string
		word   strings.Builder
		inWord bool
	)
	endWord := func() {
		if inWord {
			words = append(words, word.String())
			word.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
			words = nil
		}
	}
	expand := func(i int) (int, error) { // s[i] == '$'
		j := i + 1
		var name string
		if j < len(s) && s[j] == '{' {
			k := strings.IndexByte(s[j:], '}')
			if k < 0 {
				return 0, fmt.Errorf("unclosed ${ in %q", s)
			}
			name = s[j+1 : j+k]
			j += k + 1
		} else {
			k := j
			for k < len(s) && (s[k] == '_' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= 'a' && s[k] <= 'z' || s[k] >= '0' && s[k] <= '9') {
				k++
			}
			name = s[j:k]
			j = k
		}
		if name == "" || strings.ContainsAny(name, ":-+?#%/") {
			return 0, fmt.Errorf("unsupported expansion at %q", s[i:])
		}
		v, ok := vars[name]
		if !ok {
			return 0, fmt.Errorf("variable %s is not set", name)
		}
		word.WriteString(v)
		inWord = true
		return j, nil
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			endWord()
			i++
		case c == '&' || c == '|' || c == ';':
			endCmd()
			i++
			if i < len(s) && (s[i] == '&' || s[i] == '|') {
				i++
			}
		case c == '\\':
			if i+1 < len(s) {
				word.WriteByte(s[i+1])
			}
			inWord = true
			i += 2
		case c == '\'':
			k := strings.IndexByte(s[i+1:], '\'')
			if k < 0 {
				return nil, fmt.Errorf("unclosed ' in %q", s)
			}
			word.WriteString(s[i+1 : i+1+k])
			inWord = true
			i += k + 2
		case c == '"':
			inWord = true
			i++
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("unclosed \" in %q", s)
				}
				if s[i] == '"' {
					i++
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\$`, s[i+1]) >= 0 {
					word.WriteByte(s[i+1])
					i += 2
					continue
				}
				if s[i] == '$' {
					j, err := expand(i)
					if err != nil {
						return nil, err
					}
					i = j
					continue
				}
				word.WriteByte(s[i])
				i++
			}
		case c == '$':
			j, err := expand(i)
			if err != nil {
				return nil, err
			}
			i = j
		case c == '`' || c == '(' || c == ')' || c == '<' || c == '>':
			return nil, fmt.Errorf("unsupported shell syntax %q in %q", c, s)
		default:
			word.WriteByte(c)
			inWord = true
			i++
		}
	}
	endCmd()
	return cmds, nil
}

// checkStatic fails unless the ELF file at path is statically linked: no
// program interpreter and no shared libraries needed.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a program interpreter (PT_INTERP): not static", path)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) > 0 {
		t.Errorf("%s needs shared libraries (DT_NEEDED): %v", path, libs)
	}
}

// TestShellSplit pins the small shell parser the deployment tests rely on.
func TestShellSplit(t *testing.T) {
	got, err := shellSplit(`A=1 go build -ldflags "-X m.v=${V} -X 'm.r=$R'" -o /out/x ./cmd/x && setcap 'x=+ep' /out/x`,
		map[string]string{"V": "1.2", "R": "abc"})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"A=1", "go", "build", "-ldflags", "-X m.v=1.2 -X 'm.r=abc'", "-o", "/out/x", "./cmd/x"},
		{"setcap", "x=+ep", "/out/x"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("shellSplit = %q, want %q", got, want)
	}
	if _, err := shellSplit(`echo $UNSET`, nil); err == nil {
		t.Error("an unset variable was expanded")
	}
	if _, err := shellSplit(`echo "open`, nil); err == nil {
		t.Error("an unclosed quote was accepted")
	}
}

// makeImage is what "make image" would run, from make -n with vars set.
type makeImage struct {
	goBuild string            // the go build command line
	setcap  []string          // the setcap command, split
	files   map[string]string // context file name -> where make copies it from ("" for the binary)
}

// dryRunImage runs "make -n image" with a fixed engine and context and
// collects the commands that fill the build context.
func dryRunImage(t *testing.T, ctx string, vars ...string) makeImage {
	t.Helper()
	args := append([]string{"-n", "-C", root, "image", "ENGINE=podman", "IMAGE_CONTEXT=" + ctx}, vars...)
	out, err := exec.Command("make", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	mi := makeImage{files: map[string]string{}}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		cmds, err := shellSplit(line, map[string]string{})
		if err != nil || len(cmds) != 1 {
			continue // the engine's build and the size line
		}
		w := cmds[0]
		switch {
		case strings.Contains(line, "go build"):
			if mi.goBuild != "" {
				t.Fatalf("make image runs go build twice:\n%s", out)
			}
			mi.goBuild = line
			for i, a := range w {
				if a == "-o" && i+1 < len(w) && filepath.Dir(w[i+1]) == ctx {
					mi.files[filepath.Base(w[i+1])] = ""
				}
			}
		case w[0] == "setcap":
			mi.setcap = w
		case w[0] == "cp" && len(w) >= 3:
			dst := w[len(w)-1]
			if strings.HasSuffix(dst, "/") {
				for _, src := range w[1 : len(w)-1] {
					mi.files[filepath.Base(src)] = src
				}
			} else if len(w) == 3 {
				mi.files[filepath.Base(dst)] = w[1]
			}
		}
	}
	if mi.goBuild == "" {
		t.Fatalf("make -n image runs no go build:\n%s", out)
	}
	return mi
}

// TestMakeImageBuild runs make image's go build step here, into a temporary
// context, and checks that the binary is static and carries the version; and
// that make fills the context with exactly the files the Containerfile
// copies, the binary with its capability.
func TestMakeImageBuild(t *testing.T) {
	need(t, "make")
	const version, revision = "v0.0.0-imagetest", "0123456789abcdef"
	ctx := filepath.Join(tmpRoot, "image")
	mi := dryRunImage(t, ctx, "VERSION="+version, "REVISION="+revision)

	for _, want := range []string{"CGO_ENABLED=0 ", "-trimpath", "./cmd/sitedns"} {
		if !strings.Contains(mi.goBuild, want) {
			t.Errorf("make image: %q lacks %q", mi.goBuild, want)
		}
	}
	if err := os.MkdirAll(ctx, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", mi.goBuild)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", mi.goBuild, err, out)
	}
	bin := filepath.Join(ctx, "sitedns")
	checkStatic(t, bin)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", bin, err, out)
	}
	if !strings.Contains(string(out), version) || !strings.Contains(string(out), revision) {
		t.Errorf("sitedns version = %q, want it to name %s and %s", strings.TrimSpace(string(out)), version, revision)
	}
	if !slices.Equal(mi.setcap, []string{"setcap", "cap_net_bind_service=+ep", bin}) {
		t.Errorf("make image: setcap step %q, want setcap cap_net_bind_service=+ep %s: as 65532 under Kubernetes the binary could not bind port 53", mi.setcap, bin)
	}

	df := parseContainerfile(t, string(readFile(t, containerfile)))
	copied := map[string]bool{}
	for _, in := range df.stages[len(df.stages)-1].all("COPY") {
		f := strings.Fields(in.args)
		for _, src := range f[:len(f)-1] {
			copied[src] = true
		}
	}
	for name := range copied {
		if _, ok := mi.files[name]; !ok {
			t.Errorf("%s copies %s, which make image does not put in the context", containerfile, name)
		}
	}
	for name, from := range mi.files {
		if !copied[name] {
			t.Errorf("make image puts %s (from %q) in the context; %s does not copy it", name, from, containerfile)
		}
		if from != "" && !strings.HasPrefix(from, "/") {
			if _, err := os.Stat(filepath.Join(root, from)); err != nil {
				t.Errorf("make image copies %s: %v", from, err)
			}
		}
	}
	// The CA bundle's origin is named in the Containerfile.
	src := string(readFile(t, containerfile))
	if ca := mi.files["ca-certificates.crt"]; ca == "" || !strings.Contains(src, ca) || !strings.Contains(src, "ca-certificates") {
		t.Errorf("make image copies the CA bundle from %q; %s must name that file and its Debian package", ca, containerfile)
	}
}

// TestContainerfile checks the image definition: no base image and no shell,
// the numeric non-root user with passwd and group entries, the OCI labels,
// the ports, and a default command that serves the config where the
// Kubernetes manifests mount it.
func TestContainerfile(t *testing.T) {
	df := parseContainerfile(t, string(readFile(t, containerfile)))
	if len(df.stages) != 1 || df.stages[0].from != "scratch" {
		t.Fatalf("%s: want one stage FROM scratch (no registry to pull a base from), got %d starting FROM %s", containerfile, len(df.stages), df.stages[0].from)
	}
	st := df.stages[0]
	if runs := st.all("RUN"); len(runs) > 0 {
		t.Errorf("%s:%d: RUN in an image without a shell", containerfile, runs[0].line)
	}
	users := st.all("USER")
	if len(users) != 1 || users[0].args != "65532:65532" {
		t.Errorf("USER %v, want the numeric 65532:65532 (runAsNonRoot needs a numeric user)", users)
	}
	for file, want := range map[string]string{
		"docker/passwd": "nonroot:x:65532:65532:",
		"docker/group":  "nonroot:x:65532:",
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want)).Match(readFile(t, file)) {
			t.Errorf("%s has no line starting %q", file, want)
		}
	}

	labels := map[string]string{}
	for _, in := range st.all("LABEL") {
		words, err := shellSplit(in.args, map[string]string{"VERSION": "$VERSION", "REVISION": "$REVISION"})
		if err != nil || len(words) != 1 {
			t.Fatalf("%s:%d: LABEL %s: %v", containerfile, in.line, in.args, err)
		}
		for _, kv := range words[0] {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = v
		}
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.source":   "https://github.com/sitedns/sitedns",
		"org.opencontainers.image.version":  "$VERSION",
		"org.opencontainers.image.revision": "$REVISION",
	} {
		if labels[k] != want {
			t.Errorf("LABEL %s=%q, want %q", k, labels[k], want)
		}
	}
	for _, arg := range []string{"VERSION", "REVISION"} {
		if _, ok := st.args[arg]; !ok {
			t.Errorf("%s: no ARG %s for the label (make image passes --build-arg %s)", containerfile, arg, arg)
		}
	}

	exposed := map[string]bool{}
	for _, in := range st.all("EXPOSE") {
		for _, p := range strings.Fields(in.args) {
			exposed[p] = true
		}
	}
	for _, want := range []string{"53/udp", "53/tcp", "9153/tcp"} {
		if !exposed[want] {
			t.Errorf("EXPOSE lacks %s", want)
		}
	}

	if ep := jsonForm(t, st, "ENTRYPOINT"); !slices.Equal(ep, []string{"/sitedns"}) {
		t.Errorf("ENTRYPOINT %q, want [\"/sitedns\"]", ep)
	}
	cmd := jsonForm(t, st, "CMD")
	if len(cmd) == 0 || cmd[0] != "serve" {
		t.Fatalf("CMD %q, want serve ...", cmd)
	}
	sa := parseServeArgs(t, containerfile+" CMD", cmd[1:])
	checkServeFlags(t, containerfile+" CMD", sa)
	if got, want := sa.last("config"), k8sConfigPath(t); got != want {
		t.Errorf("CMD -config %q, want %q, where the Deployment mounts the ConfigMap", got, want)
	}
	if l := sa.values["listen"]; len(l) == 0 {
		t.Error("CMD has no -listen: the server would bind its loopback default")
	}
	for _, l := range sa.values["listen"] {
		if portOf(t, l) != 53 || strings.HasPrefix(l, "127.") {
			t.Errorf("CMD -listen %q, want port 53 on every address", l)
		}
	}
	if ml := sa.last("metrics-listen"); portOf(t, ml) != 9153 || strings.HasPrefix(ml, "127.") {
		t.Errorf("CMD -metrics-listen %q, want :9153", ml)
	}
}

// jsonForm returns the exec (JSON) form of the stage's only cmd instruction.
func jsonForm(t *testing.T, st *stage, cmd string) []string {
	t.Helper()
	ins := st.all(cmd)
	if len(ins) != 1 {
		t.Fatalf("%s: %d %s, want 1", containerfile, len(ins), cmd)
	}
	var v []string
	if err := json.Unmarshal([]byte(ins[0].args), &v); err != nil {
		t.Fatalf("%s:%d: %s %s: want the JSON (exec) form: %v", containerfile, ins[0].line, cmd, ins[0].args, err)
	}
	return v
}

// k8sConfigPath is the path of the config file inside the sitedns pods: the
// ConfigMap volume's mount point and the key the config is stored under.
func k8sConfigPath(t *testing.T) string {
	t.Helper()
	d := decodeFile[*appsv1.Deployment](t, filepath.Join(k8sDir, "deployment.yaml"))
	for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil && v.ConfigMap.Name == configMapName {
				return filepath.Join(m.MountPath, configKey)
			}
		}
	}
	t.Fatalf("%s/deployment.yaml: no volume mount of the ConfigMap %s", k8sDir, configMapName)
	return ""
}

// TestImageNames checks that make image, the Kubernetes manifests (after
// kustomize's images rewrite) and deploy/docker-compose.yml name the same
// image and tag, and that compose mounts its config where the image looks.
func TestImageNames(t *testing.T) {
	mk := string(readFile(t, "../Makefile"))
	def := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `\s*\?=\s*(\S+)\s*$`).FindStringSubmatch(mk)
		if m == nil {
			t.Fatalf("Makefile: no %s ?= default", name)
		}
		return m[1]
	}
	want := def("IMAGE_REPO") + ":" + def("IMAGE_TAG")

	d := decodeFile[*appsv1.Deployment](t, filepath.Join(k8sDir, "deployment.yaml"))
	k8sImage := d.Spec.Template.Spec.Containers[0].Image
	repo, tag, _ := strings.Cut(k8sImage, ":")
	var k kustomization
	if err := yaml.UnmarshalStrict(stripComments(readFile(t, filepath.Join(k8sDir, "kustomization.yaml"))), &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", k8sDir, err)
	}
	for _, img := range k.Images {
		if img.Name == repo {
			if img.NewName != "" {
				repo = img.NewName
			}
			if img.NewTag != "" {
				tag = img.NewTag
			}
		}
	}
	if got := repo + ":" + tag; got != want {
		t.Errorf("the Deployment runs %s (after kustomization.yaml), make image builds %s", got, want)
	}
	if k8sImage != want {
		t.Errorf("deployment.yaml names %s, make image builds %s", k8sImage, want)
	}

	var compose struct {
		Services map[string]struct {
			Image   string          `json:"image"`
			Build   json.RawMessage `json:"build"`
			Volumes []string        `json:"volumes"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(readFile(t, "docker-compose.yml"), &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	svc, ok := compose.Services["sitedns"]
	if !ok {
		t.Fatal("docker-compose.yml: no service sitedns")
	}
	if svc.Image != want {
		t.Errorf("docker-compose.yml: service sitedns image %q, make image builds %s", svc.Image, want)
	}
	if len(svc.Build) > 0 && string(svc.Build) != "null" {
		t.Errorf("docker-compose.yml: service sitedns has a build section; the image comes from make image")
	}
	cfg := k8sConfigPath(t)
	mounted := false
	for _, v := range svc.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == cfg {
			mounted = true
			if _, err := os.Stat(parts[0]); err != nil {
				t.Errorf("docker-compose.yml mounts %s: %v", parts[0], err)
			}
			if len(parts) < 3 || parts[2] != "ro" {
				t.Errorf("docker-compose.yml mounts %s read-write; want :ro", v)
			}
		}
	}
	if !mounted {
		t.Errorf("docker-compose.yml: service sitedns mounts nothing at %s, which the image's default command serves", cfg)
	}
}
