package deploy

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const dockerfile = "docker/Dockerfile"

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int    // 1-based line where it starts
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// stage is one FROM ... section of a Dockerfile.
type stage struct {
	from   string // image reference, as written
	name   string // AS name, or ""
	instrs []instruction
	args   map[string]string // ARG defaults declared in the stage
}

type parsedDockerfile struct {
	globalArgs map[string]string // ARGs before the first FROM
	stages     []*stage
}

// parseDockerfile splits a Dockerfile into stages and instructions. It knows
// what this repository's Dockerfile uses: comments, backslash continuations,
// ARG defaults, FROM ... AS name.
func parseDockerfile(t *testing.T, src string) *parsedDockerfile {
	t.Helper()
	p := &parsedDockerfile{globalArgs: map[string]string{}}
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
				t.Fatalf("%s:%d: FROM without an image", dockerfile, start)
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
				t.Fatalf("%s:%d: %s before the first FROM", dockerfile, start, in.cmd)
			}
			continue
		}
		st := p.stages[len(p.stages)-1]
		st.instrs = append(st.instrs, in)
	}
	if len(p.stages) == 0 {
		t.Fatalf("%s: no FROM", dockerfile)
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
// vars. It covers the quoting the Dockerfile uses; anything else is an error.
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

// goBuild is the "go build" step of the Dockerfile, as the shell would run it.
type goBuild struct {
	line   int
	env    []string // NAME=value set on the command or by ENV
	flags  []string // everything between "build" and the package
	output string   // the -o value
	pkg    string
}

// dockerGoBuild finds the RUN ... go build step of the build stage and
// resolves it with vars standing for the build arguments.
func dockerGoBuild(t *testing.T, df *parsedDockerfile, vars map[string]string) (*stage, goBuild) {
	t.Helper()
	var found []goBuild
	var where *stage
	for _, st := range df.stages {
		env := map[string]string{}
		for _, in := range st.instrs {
			if in.cmd == "ENV" {
				for _, kv := range strings.Fields(in.args) {
					if k, v, ok := strings.Cut(kv, "="); ok {
						env[k] = v
					}
				}
			}
			if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
				continue
			}
			cmdline := in.args
			for strings.HasPrefix(cmdline, "--") { // RUN --mount=... options
				_, cmdline, _ = strings.Cut(cmdline, " ")
				cmdline = strings.TrimSpace(cmdline)
			}
			cmds, err := shellSplit(cmdline, vars)
			if err != nil {
				t.Fatalf("%s:%d: %v", dockerfile, in.line, err)
			}
			for _, words := range cmds {
				gb := goBuild{line: in.line}
				for k, v := range env {
					gb.env = append(gb.env, k+"="+v)
				}
				for len(words) > 0 && regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`).MatchString(words[0]) {
					gb.env = append(gb.env, words[0])
					words = words[1:]
				}
				if len(words) < 2 || words[0] != "go" || words[1] != "build" {
					continue
				}
				rest := words[2:]
				if len(rest) == 0 || strings.HasPrefix(rest[len(rest)-1], "-") {
					t.Fatalf("%s:%d: go build names no package", dockerfile, in.line)
				}
				gb.pkg = rest[len(rest)-1]
				gb.flags = rest[:len(rest)-1]
				for i, f := range gb.flags {
					if f == "-o" && i+1 < len(gb.flags) {
						gb.output = gb.flags[i+1]
					} else if v, ok := strings.CutPrefix(f, "-o="); ok {
						gb.output = v
					}
				}
				found = append(found, gb)
				where = st
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d go build commands, want exactly 1", dockerfile, len(found))
	}
	return where, found[0]
}

func envValue(env []string, name string) (string, bool) {
	v, ok := "", false
	for _, kv := range env {
		if k, val, _ := strings.Cut(kv, "="); k == name {
			v, ok = val, true
		}
	}
	return v, ok
}

// TestDockerfileBuild runs the Dockerfile's go build step here, with the same
// environment, flags and target, and checks that the binary is static and
// reports the version passed in.
func TestDockerfileBuild(t *testing.T) {
	df := parseDockerfile(t, string(readFile(t, dockerfile)))
	const version, revision = "v0.0.0-dockertest", "0123456789abcdef"
	vars := map[string]string{}
	for _, st := range df.stages {
		for k, v := range st.args {
			vars[k] = v
		}
	}
	vars["VERSION"], vars["REVISION"] = version, revision
	vars["TARGETOS"], vars["TARGETARCH"] = runtime.GOOS, runtime.GOARCH
	build, gb := dockerGoBuild(t, df, vars)

	if v, _ := envValue(gb.env, "CGO_ENABLED"); v != "0" {
		t.Errorf("%s:%d: go build without CGO_ENABLED=0 (env %q)", dockerfile, gb.line, gb.env)
	}
	if gb.pkg != "./cmd/sitedns" {
		t.Errorf("%s:%d: go build %s, want ./cmd/sitedns", dockerfile, gb.line, gb.pkg)
	}
	if !slices.Contains(gb.flags, "-trimpath") {
		t.Errorf("%s:%d: go build without -trimpath", dockerfile, gb.line)
	}
	ldflags := ""
	for i, f := range gb.flags {
		if f == "-ldflags" && i+1 < len(gb.flags) {
			ldflags = gb.flags[i+1]
		} else if v, ok := strings.CutPrefix(f, "-ldflags="); ok {
			ldflags = v
		}
	}
	for _, want := range []string{"-X main.version=" + version, "-X main.revision=" + revision} {
		if !strings.Contains(ldflags, want) {
			t.Errorf("%s:%d: -ldflags %q lacks %q", dockerfile, gb.line, ldflags, want)
		}
	}
	if gb.output == "" {
		t.Fatalf("%s:%d: go build without -o", dockerfile, gb.line)
	}

	// Run it, writing to a temporary directory instead of the image's path.
	bin := filepath.Join(tmpRoot, "docker", "sitedns")
	args := []string{"build"}
	for i := 0; i < len(gb.flags); i++ {
		switch f := gb.flags[i]; {
		case f == "-o":
			i++
			args = append(args, "-o", bin)
		case strings.HasPrefix(f, "-o="):
			args = append(args, "-o", bin)
		default:
			args = append(args, f)
		}
	}
	args = append(args, gb.pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), gb.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s:%d: %s go %s: %v\n%s", dockerfile, gb.line, strings.Join(gb.env, " "), strings.Join(args, " "), err, out)
	}
	checkStatic(t, bin)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", bin, err, out)
	}
	if !strings.Contains(string(out), version) || !strings.Contains(string(out), revision) {
		t.Errorf("sitedns version = %q, want it to name %s and %s", strings.TrimSpace(string(out)), version, revision)
	}

	// The image gets that binary, with the capability to bind port 53.
	setcap := false
	for _, in := range build.all("RUN") {
		if cmds, err := shellSplit(in.args, vars); err == nil {
			for _, w := range cmds {
				if len(w) == 3 && w[0] == "setcap" && w[1] == "cap_net_bind_service=+ep" && w[2] == gb.output {
					setcap = true
				}
			}
		}
	}
	if !setcap {
		t.Errorf("%s: no \"setcap cap_net_bind_service=+ep %s\" in the build stage: as user 65532 under Kubernetes the binary could not bind port 53", dockerfile, gb.output)
	}
	final := df.stages[len(df.stages)-1]
	copied := false
	for _, in := range final.all("COPY") {
		f := strings.Fields(in.args)
		if len(f) == 3 && f[0] == "--from="+build.name && f[1] == gb.output && f[2] == "/sitedns" {
			copied = true
		}
	}
	if !copied {
		t.Errorf("%s: the final stage does not COPY --from=%s %s /sitedns", dockerfile, build.name, gb.output)
	}
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

// TestDockerfileImage checks the runtime stage: distroless static, numeric
// non-root user, the ports, an entrypoint and a command the binary accepts.
func TestDockerfileImage(t *testing.T) {
	df := parseDockerfile(t, string(readFile(t, dockerfile)))

	goMod := string(readFile(t, "../go.mod"))
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(goMod)
	if m == nil {
		t.Fatal("go.mod: no go directive")
	}
	first := df.stages[0]
	goVersion := df.globalArgs["GO_VERSION"]
	from := strings.ReplaceAll(first.from, "${GO_VERSION}", goVersion)
	if !strings.HasPrefix(from, "golang:"+m[1]) {
		t.Errorf("build stage FROM %s (GO_VERSION=%q), want golang:%s like go.mod", first.from, goVersion, m[1])
	}

	final := df.stages[len(df.stages)-1]
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %s, want gcr.io/distroless/static-*", final.from)
	}
	users := final.all("USER")
	if len(users) != 1 || !regexp.MustCompile(`^65532(:65532)?$`).MatchString(users[0].args) {
		t.Errorf("final stage USER %v, want the numeric 65532:65532 (runAsNonRoot needs a numeric user)", users)
	}

	exposed := map[string]bool{}
	for _, in := range final.all("EXPOSE") {
		for _, p := range strings.Fields(in.args) {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			exposed[p] = true
		}
	}
	for _, want := range []string{"53/udp", "53/tcp", "9153/tcp"} {
		if !exposed[want] {
			t.Errorf("EXPOSE lacks %s", want)
		}
	}

	jsonForm := func(cmd string) []string {
		ins := final.all(cmd)
		if len(ins) != 1 {
			t.Fatalf("final stage: %d %s, want 1", len(ins), cmd)
		}
		var v []string
		if err := json.Unmarshal([]byte(ins[0].args), &v); err != nil {
			t.Fatalf("%s:%d: %s %s: want the JSON (exec) form: %v", dockerfile, ins[0].line, cmd, ins[0].args, err)
		}
		return v
	}
	if ep := jsonForm("ENTRYPOINT"); !slices.Equal(ep, []string{"/sitedns"}) {
		t.Errorf("ENTRYPOINT %q, want [\"/sitedns\"]", ep)
	}
	cmd := jsonForm("CMD")
	if len(cmd) == 0 || cmd[0] != "serve" {
		t.Fatalf("CMD %q, want serve ...", cmd)
	}
	sa := parseServeArgs(t, dockerfile+" CMD", cmd[1:])
	checkServeFlags(t, dockerfile+" CMD", sa)
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

// TestDockerignore checks that the Dockerfile's ignore file keeps every
// file the build needs: the sources (and embedded files) of every package
// sitedns is built from, go.mod and go.sum.
func TestDockerignore(t *testing.T) {
	var patterns []string
	for _, line := range strings.Split(string(readFile(t, dockerfile+".dockerignore")), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") {
			t.Fatalf("%s.dockerignore: exceptions (!%s) are not checked here", dockerfile, line[1:])
		}
		patterns = append(patterns, path.Clean(strings.TrimPrefix(line, "/")))
	}
	need := []string{"go.mod", "go.sum"}
	cmd := exec.Command("go", "list", "-e", "-deps", "-f",
		`{{if not .Standard}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}`,
		"./cmd/sitedns")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(string(out)) {
		if rel, err := filepath.Rel(abs, f); err == nil && !strings.HasPrefix(rel, "..") {
			need = append(need, filepath.ToSlash(rel))
		}
	}
	if !slices.Contains(need, "cmd/sitedns/main.go") {
		t.Fatalf("go list found no cmd/sitedns/main.go in %q", need)
	}
	for _, f := range need {
		// Docker excludes a path when a pattern matches it or a parent.
		for p := f; p != "."; p = path.Dir(p) {
			for _, pat := range patterns {
				if ok, _ := path.Match(pat, p); ok {
					t.Errorf("%s.dockerignore: %q excludes %s, which the build needs", dockerfile, pat, f)
				}
			}
		}
	}
}

// TestComposeUsesDockerfile checks that deploy/docker-compose.yml, when
// there is one, builds sitedns from deploy/docker/Dockerfile with the
// repository root as the context (the Dockerfile copies go.mod from there).
func TestComposeUsesDockerfile(t *testing.T) {
	var file string
	for _, f := range []string{"docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"} {
		if _, err := os.Stat(f); err == nil {
			file = f
			break
		}
	}
	if file == "" {
		t.Skip("no deploy/docker-compose.yml")
	}
	var compose struct {
		Services map[string]struct {
			Build json.RawMessage `json:"build"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(readFile(t, file), &compose); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	uses := 0
	for name, svc := range compose.Services {
		if len(svc.Build) == 0 || string(svc.Build) == "null" {
			continue
		}
		context, df := ".", "Dockerfile"
		var short string
		if err := json.Unmarshal(svc.Build, &short); err == nil {
			context = short
		} else {
			var long struct {
				Context    string `json:"context"`
				Dockerfile string `json:"dockerfile"`
			}
			if err := json.Unmarshal(svc.Build, &long); err != nil {
				t.Errorf("%s: service %s: build: %v", file, name, err)
				continue
			}
			if long.Context != "" {
				context = long.Context
			}
			if long.Dockerfile != "" {
				df = long.Dockerfile
			}
		}
		// Paths in a compose file are relative to its directory (deploy/);
		// dockerfile is relative to the context.
		ctxDir := path.Join("deploy", context)
		dfPath := path.Join(ctxDir, df)
		if path.IsAbs(df) {
			dfPath = df
		}
		if !strings.HasPrefix(dfPath, "deploy/docker/") && !strings.HasSuffix(df, "docker/Dockerfile") {
			continue // some other image
		}
		uses++
		if dfPath != "deploy/docker/Dockerfile" {
			t.Errorf("%s: service %s: dockerfile resolves to %s, want deploy/docker/Dockerfile", file, name, dfPath)
		}
		if path.Clean(ctxDir) != "." {
			t.Errorf("%s: service %s: context resolves to %s, want the repository root (context: ..)", file, name, ctxDir)
		}
	}
	if uses == 0 {
		t.Errorf("%s: no service builds deploy/docker/Dockerfile", file)
	}
}

// TestShellSplit pins the small shell parser the Dockerfile tests rely on.
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
