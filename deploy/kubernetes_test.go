package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

const (
	k8sDir        = "kubernetes"
	k8sOperator   = "kubernetes/prometheus-operator"
	configMapName = "sitedns-config"
	configKey     = "sitedns.toml"
	imageRepo     = "ghcr.io/sitedns/sitedns"
)

// podMonitor is the part of the Prometheus Operator's PodMonitor
// (monitoring.coreos.com/v1) that deploy/kubernetes uses. The type is not in
// k8s.io/api; decoding strictly into this subset rejects misspelt fields, and
// a field added to the manifest must be added here too.
type podMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector            metav1.LabelSelector `json:"selector"`
		PodMetricsEndpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

// kustomization is the part of kustomize.config.k8s.io/v1beta1 Kustomization
// the manifests use, decoded strictly like podMonitor.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
}

// objectFor returns an empty object of the API type for apiVersion and kind.
func objectFor(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "monitoring.coreos.com/v1 PodMonitor":
		return &podMonitor{}, nil
	}
	return nil, fmt.Errorf("no API type known for apiVersion %q kind %q", apiVersion, kind)
}

// decodeStrict decodes one YAML document into the API type its apiVersion
// and kind name, rejecting unknown and duplicate fields.
func decodeStrict(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	obj, err := objectFor(tm.APIVersion, tm.Kind)
	if err != nil {
		return nil, err
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	return obj, nil
}

// decodeFile decodes a single-document manifest strictly into T.
func decodeFile[T any](t *testing.T, file string) T {
	t.Helper()
	b := readFile(t, file)
	if docs := splitDocs(b); len(docs) != 1 {
		t.Fatalf("%s: %d YAML documents, want 1", file, len(docs))
	}
	obj, err := decodeStrict(b)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	v, ok := obj.(T)
	if !ok {
		t.Fatalf("%s: decoded a %T, want %T", file, obj, *new(T))
	}
	return v
}

// splitDocs splits a YAML stream at its "---" lines, dropping empty
// documents.
func splitDocs(b []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(append([]byte("\n"), b...), []byte("\n---")) {
		// A separator line may carry a comment or trailing blanks.
		if i := bytes.IndexByte(d, '\n'); i >= 0 && strings.TrimSpace(strings.SplitN(string(d[:i]), "#", 2)[0]) == "" {
			d = d[i+1:]
		}
		if len(bytes.TrimSpace(stripComments(d))) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] == '#' {
			continue
		}
		out = append(out, line...)
		out = append(out, '\n')
	}
	return out
}

func loadConfigMap(t *testing.T) *corev1.ConfigMap {
	t.Helper()
	return decodeFile[*corev1.ConfigMap](t, configMapFile)
}

// renderConfigMap writes the ConfigMap manifest holding config.
func renderConfigMap(config []byte) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`# The demo lab config, as the file /etc/sitedns/sitedns.toml of every pod.
# Generated from testdata/config/good/contoso.toml by "go test ./deploy -update":
# edit your own copy, or that file, not this one. Pods pick up a change to
# this ConfigMap without a restart (sitedns serve -watch).
apiVersion: v1
kind: ConfigMap
metadata:
  name: ` + configMapName + `
  labels:
    app.kubernetes.io/name: sitedns
    app.kubernetes.io/component: dns
data:
`)
	header := b.Len()
	s := string(config)
	// A literal block reads best; it cannot hold trailing blanks (editors
	// drop them), a first line that starts with a blank, or CRs.
	literal := strings.HasSuffix(s, "\n") && !strings.HasSuffix(s, "\n\n") &&
		!strings.Contains(s, "\r") && !strings.HasPrefix(s, " ") && !strings.HasPrefix(s, "\t")
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimRight(line, " \t") != line {
			literal = false
		}
	}
	if literal {
		b.WriteString("  " + configKey + ": |\n")
		for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
			if line == "" {
				b.WriteString("\n")
			} else {
				b.WriteString("    " + line + "\n")
			}
		}
		if roundTrips(b.Bytes(), s) {
			return b.Bytes(), nil
		}
		b.Truncate(header)
	}
	q, err := yaml.Marshal(map[string]string{configKey: s})
	if err != nil {
		return nil, err
	}
	for _, line := range strings.SplitAfter(string(q), "\n") {
		if line != "" {
			b.WriteString("  " + line)
		}
	}
	if !roundTrips(b.Bytes(), s) {
		return nil, fmt.Errorf("rendered ConfigMap does not hold the config unchanged")
	}
	return b.Bytes(), nil
}

// roundTrips reports whether the ConfigMap manifest holds config unchanged.
func roundTrips(manifest []byte, config string) bool {
	obj, err := decodeStrict(manifest)
	if err != nil {
		return false
	}
	cm, ok := obj.(*corev1.ConfigMap)
	return ok && cm.Data[configKey] == config
}

// podLabels are the labels every selector must match.
func podLabels(t *testing.T) map[string]string {
	t.Helper()
	return decodeFile[*appsv1.Deployment](t, filepath.Join(k8sDir, "deployment.yaml")).Spec.Template.Labels
}

// selects reports whether sel matches labels (matchLabels only: the
// manifests use nothing else).
func selects(t *testing.T, where string, sel *metav1.LabelSelector, labels map[string]string) {
	t.Helper()
	if sel == nil || len(sel.MatchLabels) == 0 {
		t.Errorf("%s: empty selector", where)
		return
	}
	if len(sel.MatchExpressions) > 0 {
		t.Errorf("%s: matchExpressions are not checked here; use matchLabels", where)
	}
	for k, v := range sel.MatchLabels {
		if labels[k] != v {
			t.Errorf("%s: selector %s=%s does not match the pod labels %v", where, k, v, labels)
		}
	}
}

func TestKubernetesDeployment(t *testing.T) {
	file := filepath.Join(k8sDir, "deployment.yaml")
	d := decodeFile[*appsv1.Deployment](t, file)
	spec := d.Spec.Template.Spec

	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("replicas = %v, want 3", d.Spec.Replicas)
	}
	selects(t, "deployment selector", d.Spec.Selector, d.Spec.Template.Labels)

	t.Run("anti-affinity", func(t *testing.T) {
		if spec.Affinity == nil || spec.Affinity.PodAntiAffinity == nil {
			t.Fatal("no podAntiAffinity")
		}
		terms := spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
		if len(terms) == 0 {
			t.Fatal("no preferred podAntiAffinity term")
		}
		term := terms[0].PodAffinityTerm
		if term.TopologyKey != "kubernetes.io/hostname" {
			t.Errorf("topologyKey = %q, want kubernetes.io/hostname", term.TopologyKey)
		}
		selects(t, "podAntiAffinity", term.LabelSelector, d.Spec.Template.Labels)
	})

	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	if !strings.HasPrefix(c.Image, imageRepo+":") {
		t.Errorf("image = %q, want %s:TAG (kustomization.yaml's images entry rewrites it)", c.Image, imageRepo)
	}

	ports := map[string]corev1.ContainerPort{}
	for _, p := range c.Ports {
		ports[p.Name] = p
	}
	t.Run("ports", func(t *testing.T) {
		want := []corev1.ContainerPort{
			{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
			{Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP},
			{Name: "metrics", ContainerPort: 9153, Protocol: corev1.ProtocolTCP},
		}
		for _, w := range want {
			if got, ok := ports[w.Name]; !ok || got.ContainerPort != w.ContainerPort || got.Protocol != w.Protocol {
				t.Errorf("port %q = %+v, want %d/%s", w.Name, got, w.ContainerPort, w.Protocol)
			}
		}
		if len(c.Ports) != len(want) {
			t.Errorf("%d ports, want %d", len(c.Ports), len(want))
		}
	})

	t.Run("probes", func(t *testing.T) {
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
			path  string
		}{
			{"livenessProbe", c.LivenessProbe, "/-/healthy"},
			{"readinessProbe", c.ReadinessProbe, "/-/ready"},
		} {
			if p.probe == nil || p.probe.HTTPGet == nil {
				t.Errorf("%s: want an httpGet probe", p.name)
				continue
			}
			h := p.probe.HTTPGet
			if h.Path != p.path {
				t.Errorf("%s: path %q, want %q", p.name, h.Path, p.path)
			}
			if h.Port.Type != intstr.String || h.Port.StrVal != "metrics" {
				t.Errorf("%s: port %s, want the named port metrics", p.name, h.Port.String())
			}
			if h.Scheme != "" && h.Scheme != corev1.URISchemeHTTP {
				t.Errorf("%s: scheme %s, want HTTP", p.name, h.Scheme)
			}
		}
	})

	t.Run("security", func(t *testing.T) {
		psc, csc := spec.SecurityContext, c.SecurityContext
		if psc == nil || csc == nil {
			t.Fatal("want a pod and a container securityContext")
		}
		nonRoot := func(p *bool) bool { return p != nil && *p }
		if !nonRoot(psc.RunAsNonRoot) && !nonRoot(csc.RunAsNonRoot) {
			t.Error("runAsNonRoot is not true")
		}
		uid := psc.RunAsUser
		if csc.RunAsUser != nil {
			uid = csc.RunAsUser
		}
		if uid == nil || *uid != 65532 {
			t.Errorf("runAsUser = %v, want 65532 (the image's USER)", uid)
		}
		if !nonRoot(csc.ReadOnlyRootFilesystem) {
			t.Error("readOnlyRootFilesystem is not true")
		}
		if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
			t.Error("allowPrivilegeEscalation is not false")
		}
		if csc.Privileged != nil && *csc.Privileged {
			t.Error("privileged")
		}
		caps := csc.Capabilities
		if caps == nil || !slices.Equal(caps.Drop, []corev1.Capability{"ALL"}) || !slices.Equal(caps.Add, []corev1.Capability{"NET_BIND_SERVICE"}) {
			t.Errorf("capabilities = %+v, want drop [ALL] add [NET_BIND_SERVICE]", caps)
		}
		seccomp := psc.SeccompProfile
		if csc.SeccompProfile != nil {
			seccomp = csc.SeccompProfile
		}
		if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("seccompProfile = %+v, want RuntimeDefault", seccomp)
		}
		if spec.HostNetwork {
			t.Error("hostNetwork")
		}
	})

	t.Run("resources", func(t *testing.T) {
		r := c.Resources
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := r.Requests[name]; !ok || q.IsZero() {
				t.Errorf("no %s request", name)
			}
		}
		if q, ok := r.Limits[corev1.ResourceMemory]; !ok || q.IsZero() {
			t.Error("no memory limit")
		} else if q.Cmp(r.Requests[corev1.ResourceMemory]) < 0 {
			t.Error("memory limit below the request")
		}
	})

	t.Run("args", func(t *testing.T) {
		if len(c.Command) > 0 {
			t.Errorf("command = %q: leave the image's ENTRYPOINT", c.Command)
		}
		if len(c.Args) == 0 || c.Args[0] != "serve" {
			t.Fatalf("args = %q, want serve ...", c.Args)
		}
		sa := parseServeArgs(t, file, c.Args[1:])
		checkServeFlags(t, file, sa)
		if !sa.has("watch") {
			t.Error("args lack -watch: ConfigMap updates would need a restart")
		}
		if got := sa.last("config"); got != "/etc/sitedns/"+configKey {
			t.Errorf("-config %q, want /etc/sitedns/%s", got, configKey)
		}
		if got := sa.last("lameduck"); got != "5s" {
			t.Errorf("-lameduck %q, want 5s", got)
		}
		for _, l := range sa.values["listen"] {
			if portOf(t, l) != 53 {
				t.Errorf("-listen %q: not the dns port 53", l)
			}
		}
		if !sa.has("listen") {
			t.Error("no -listen: the server would bind the loopback default")
		}
		if got := sa.last("metrics-listen"); portOf(t, got) != 9153 || strings.HasPrefix(got, "127.") || strings.HasPrefix(got, "localhost") {
			t.Errorf("-metrics-listen %q, want :9153 on every address (the probes and Prometheus come from outside the pod)", got)
		}
		lameduck := sa.duration(t, "lameduck", 0)
		drain := sa.duration(t, "shutdown-timeout", 10*time.Second)
		grace := int64(30)
		if spec.TerminationGracePeriodSeconds != nil {
			grace = *spec.TerminationGracePeriodSeconds
		}
		if time.Duration(grace)*time.Second <= lameduck+drain {
			t.Errorf("terminationGracePeriodSeconds %d <= lameduck %v + shutdown-timeout %v", grace, lameduck, drain)
		}
	})

	t.Run("config volume", func(t *testing.T) {
		var mount *corev1.VolumeMount
		for i, m := range c.VolumeMounts {
			if m.MountPath == "/etc/sitedns" {
				mount = &c.VolumeMounts[i]
			}
		}
		if mount == nil {
			t.Fatal("nothing mounted at /etc/sitedns")
		}
		if mount.SubPath != "" || mount.SubPathExpr != "" {
			t.Errorf("config mounted with subPath %q: the kubelet never updates subPath mounts", mount.SubPath+mount.SubPathExpr)
		}
		if !mount.ReadOnly {
			t.Error("config mount is not readOnly")
		}
		var vol *corev1.Volume
		for i, v := range spec.Volumes {
			if v.Name == mount.Name {
				vol = &spec.Volumes[i]
			}
		}
		if vol == nil || vol.ConfigMap == nil {
			t.Fatalf("volume %q is not a configMap volume", mount.Name)
		}
		if vol.ConfigMap.Name != configMapName {
			t.Errorf("volume %q uses ConfigMap %q, want %q", vol.Name, vol.ConfigMap.Name, configMapName)
		}
		file := configKey
		for _, it := range vol.ConfigMap.Items {
			if it.Key == configKey {
				file = it.Path
			}
		}
		if file != configKey {
			t.Errorf("ConfigMap key %s lands at %s, not at the -config path", configKey, file)
		}
		if _, ok := loadConfigMap(t).Data[configKey]; !ok {
			t.Errorf("ConfigMap %s has no key %s", configMapName, configKey)
		}
	})

	t.Run("prometheus annotations", func(t *testing.T) {
		a := d.Spec.Template.Annotations
		if a["prometheus.io/scrape"] != "true" {
			t.Errorf("prometheus.io/scrape = %q, want \"true\"", a["prometheus.io/scrape"])
		}
		if a["prometheus.io/port"] != strconv.Itoa(int(ports["metrics"].ContainerPort)) {
			t.Errorf("prometheus.io/port = %q, want the metrics port %d", a["prometheus.io/port"], ports["metrics"].ContainerPort)
		}
		if a["prometheus.io/path"] != "/metrics" {
			t.Errorf("prometheus.io/path = %q, want /metrics", a["prometheus.io/path"])
		}
	})
}

// portOf returns the port of a listen address such as ":53" or
// "0.0.0.0:9153".
func portOf(t *testing.T, addr string) int {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		t.Errorf("address %q has no port", addr)
		return -1
	}
	p, err := strconv.Atoi(addr[i+1:])
	if err != nil {
		t.Errorf("address %q: %v", addr, err)
		return -1
	}
	return p
}

func TestKubernetesService(t *testing.T) {
	s := decodeFile[*corev1.Service](t, filepath.Join(k8sDir, "service.yaml"))
	d := decodeFile[*appsv1.Deployment](t, filepath.Join(k8sDir, "deployment.yaml"))
	if s.Spec.Type != "" && s.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("type = %s, want ClusterIP", s.Spec.Type)
	}
	if len(s.Spec.Selector) == 0 {
		t.Fatal("no selector")
	}
	selects(t, "service selector", &metav1.LabelSelector{MatchLabels: s.Spec.Selector}, d.Spec.Template.Labels)

	container := map[string]corev1.ContainerPort{}
	for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
		container[p.Name] = p
	}
	want := map[string]corev1.Protocol{"dns": corev1.ProtocolUDP, "dns-tcp": corev1.ProtocolTCP}
	got := map[string]bool{}
	for _, p := range s.Spec.Ports {
		proto, ok := want[p.Name]
		if !ok {
			t.Errorf("unexpected service port %q", p.Name)
			continue
		}
		got[p.Name] = true
		if p.Port != 53 || p.Protocol != proto {
			t.Errorf("service port %q = %d/%s, want 53/%s", p.Name, p.Port, p.Protocol, proto)
		}
		if p.TargetPort.Type != intstr.String || p.TargetPort.StrVal != p.Name {
			t.Errorf("service port %q targets %s, want the named container port %q", p.Name, p.TargetPort.String(), p.Name)
		}
		if cp, ok := container[p.TargetPort.StrVal]; !ok || cp.Protocol != p.Protocol {
			t.Errorf("service port %q: no container port %q with protocol %s", p.Name, p.TargetPort.StrVal, p.Protocol)
		}
	}
	for name := range want {
		if !got[name] {
			t.Errorf("no service port %q", name)
		}
	}
}

func TestKubernetesPodDisruptionBudget(t *testing.T) {
	p := decodeFile[*policyv1.PodDisruptionBudget](t, filepath.Join(k8sDir, "pdb.yaml"))
	d := decodeFile[*appsv1.Deployment](t, filepath.Join(k8sDir, "deployment.yaml"))
	if p.Spec.MinAvailable == nil || p.Spec.MinAvailable.Type != intstr.Int || p.Spec.MinAvailable.IntVal != 2 {
		t.Errorf("minAvailable = %v, want 2", p.Spec.MinAvailable)
	}
	if p.Spec.MaxUnavailable != nil {
		t.Error("both minAvailable and maxUnavailable set")
	}
	if d.Spec.Replicas != nil && p.Spec.MinAvailable != nil && p.Spec.MinAvailable.IntVal >= *d.Spec.Replicas {
		t.Errorf("minAvailable %d >= replicas %d: no node could ever be drained", p.Spec.MinAvailable.IntVal, *d.Spec.Replicas)
	}
	selects(t, "pdb selector", p.Spec.Selector, d.Spec.Template.Labels)
}

func TestKubernetesConfigMap(t *testing.T) {
	cm := loadConfigMap(t)
	if cm.Name != configMapName {
		t.Errorf("name = %q, want %q", cm.Name, configMapName)
	}
	if len(cm.Data) != 1 || cm.Data[configKey] == "" {
		t.Errorf("data keys = %v, want only %s", keys(cm.Data), configKey)
	}
	if len(cm.BinaryData) > 0 {
		t.Error("binaryData set")
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestKubernetesPodMonitor(t *testing.T) {
	pm := decodeFile[*podMonitor](t, filepath.Join(k8sOperator, "podmonitor.yaml"))
	selects(t, "podmonitor selector", &pm.Spec.Selector, podLabels(t))
	if len(pm.Spec.PodMetricsEndpoints) != 1 {
		t.Fatalf("%d podMetricsEndpoints, want 1", len(pm.Spec.PodMetricsEndpoints))
	}
	ep := pm.Spec.PodMetricsEndpoints[0]
	if ep.Port != "metrics" || ep.Path != "/metrics" {
		t.Errorf("endpoint %s%s, want metrics/metrics", ep.Port, ep.Path)
	}
	if ep.Interval != "" {
		if _, err := time.ParseDuration(ep.Interval); err != nil {
			t.Errorf("interval %q: %v", ep.Interval, err)
		}
	}
}

// TestKustomizations checks each kustomization.yaml: strict fields, every
// resource present, every manifest in the directory listed.
func TestKustomizations(t *testing.T) {
	for _, dir := range []string{k8sDir, k8sOperator} {
		t.Run(dir, func(t *testing.T) {
			file := filepath.Join(dir, "kustomization.yaml")
			var k kustomization
			if err := yaml.UnmarshalStrict(readFile(t, file), &k); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
				t.Errorf("%s: %s %s, want kustomize.config.k8s.io/v1beta1 Kustomization", file, k.APIVersion, k.Kind)
			}
			listed := map[string]bool{}
			for _, r := range k.Resources {
				listed[path.Clean(r)] = true
				if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
					t.Errorf("%s: resource %s: %v", file, r, err)
				}
			}
			manifests, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
			for _, m := range manifests {
				if base := filepath.Base(m); base != "kustomization.yaml" && !listed[base] {
					t.Errorf("%s: %s is not listed in resources", file, base)
				}
			}
			for _, img := range k.Images {
				if img.Name != imageRepo {
					t.Errorf("%s: images entry %q matches no container image (%s)", file, img.Name, imageRepo)
				}
			}
		})
	}
}

// TestKustomizeBuild renders each kustomization with kubectl (when it is
// installed) and decodes every object strictly: what "kubectl apply -k"
// would send.
func TestKustomizeBuild(t *testing.T) {
	kubectl := optional(t, "kubectl")
	for _, c := range []struct {
		dir   string
		kinds []string
	}{
		{k8sDir, []string{"ConfigMap", "Deployment", "PodDisruptionBudget", "Service"}},
		{k8sOperator, []string{"PodMonitor"}},
	} {
		t.Run(c.dir, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(kubectl, "kustomize", c.dir)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("kubectl kustomize %s: %v\n%s", c.dir, err, stderr.String())
			}
			var kinds []string
			for _, doc := range splitDocs(stdout.Bytes()) {
				obj, err := decodeStrict(doc)
				if err != nil {
					t.Errorf("kubectl kustomize %s: %v", c.dir, err)
					continue
				}
				switch o := obj.(type) {
				case *appsv1.Deployment:
					kinds = append(kinds, "Deployment")
					if img := o.Spec.Template.Spec.Containers[0].Image; !strings.HasPrefix(img, imageRepo) {
						t.Errorf("image after kustomize: %q", img)
					}
				case *corev1.Service:
					kinds = append(kinds, "Service")
				case *corev1.ConfigMap:
					kinds = append(kinds, "ConfigMap")
					if o.Name != configMapName {
						t.Errorf("ConfigMap renamed to %q by kustomize (a name hash would force restarts)", o.Name)
					}
				case *policyv1.PodDisruptionBudget:
					kinds = append(kinds, "PodDisruptionBudget")
				case *podMonitor:
					kinds = append(kinds, "PodMonitor")
				}
			}
			slices.Sort(kinds)
			if !slices.Equal(kinds, c.kinds) {
				t.Errorf("kubectl kustomize %s: kinds %v, want %v", c.dir, kinds, c.kinds)
			}
		})
	}
}

// TestRenderConfigMap pins that the generated ConfigMap holds any config
// unchanged, in the literal block when it can.
func TestRenderConfigMap(t *testing.T) {
	for _, config := range []string{
		"[server]\nlisten = [\"127.0.0.1:5300\"]\n\n# comment\n",
		"no final newline",
		"two final newlines\n\n",
		"  leading blanks\nkey = 1\n",
		"trailing blank \nkey = 1\n",
		"crlf = 1\r\n",
		"---\nkey = \"---\"\n",
		"\ttab = 1\n",
	} {
		b, err := renderConfigMap([]byte(config))
		if err != nil {
			t.Errorf("%q: %v", config, err)
			continue
		}
		if !roundTrips(b, config) {
			t.Errorf("%q: does not round-trip:\n%s", config, b)
		}
	}
	b, err := renderConfigMap([]byte("a = 1\n"))
	if err != nil || !strings.Contains(string(b), configKey+": |\n    a = 1\n") {
		t.Errorf("a plain config is not written as a literal block:\n%s", b)
	}
}
