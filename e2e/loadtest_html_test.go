package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Colours of the HTML report (loadtest/html.go): the bars of a fair group,
// the FAIR banner's background, the expected-share marks.
var (
	fairBar    = color.RGBA{0x2e, 0x7d, 0x32, 0xff}
	fairBanner = color.RGBA{0xe8, 0xf5, 0xe9, 0xff}
	markBlack  = color.RGBA{0x11, 0x11, 0x11, 0xff}
	runBlue    = color.RGBA{0x15, 0x65, 0xc0, 0xff} // the first target's line across the run
)

// chromiumArgs are the flags headless Chromium runs with here: no sandbox
// (root), no GPU, nothing fetched from the network, and a profile of its
// own.
func chromiumArgs(profile string, extra ...string) []string {
	return append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir=" + profile}, extra...)
}

// runChromium runs chromium with args, bounded in time, and returns its
// standard output.
func runChromium(t *testing.T, chromium string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// screens are the two windows the report must fit: a desktop's and a
// phone's (an iPhone 12 to 15's CSS pixels).
var screens = []struct {
	name string
	w, h int
}{{"1280", 1280, 900}, {"390", 390, 844}}

// measureJS, appended to a copy of the report, records how wide the page
// and its table lay out, and how many table cells take no room (hidden).
const measureJS = `<script>
var h = 0;
document.querySelectorAll("td").forEach(function (c) { if (c.offsetWidth == 0 || c.offsetHeight == 0) h++; });
document.body.setAttribute("data-fit", [document.documentElement.scrollWidth, document.querySelector("table").scrollWidth, h, document.querySelectorAll("td").length].join(" "));
</script>`

// TestLoadtestHTMLRenders writes the HTML report of a real run against the
// loopback lab and renders it in headless Chromium: laid out in a 1280 px
// and a 390 px wide frame, the page and its table are no wider than the
// frame and no cell is hidden; the screenshots at 1280×900 and 390×844 show
// the FAIR banner at the top, and on the desktop the green bars and the
// expected-share marks. With -update it keeps them as
// docs/loadtest-report-1280.png and docs/loadtest-report-390.png.
func TestLoadtestHTMLRenders(t *testing.T) {
	chromium := need(t, "chromium")
	cfg := testdata("config", "good", "loopback.toml")
	in := start(t, "-config", cfg)
	dir := t.TempDir()
	html := filepath.Join(dir, "report.html")
	loadtestRun(t, "-server", in.DNS, "-config", cfg, "-html", html, "-queries", "3000",
		"-clients", "127.2.1.0/24=US-Chicago-CAS:US,127.2.9.0/24,127.12.9.0/24,127.9.0.0/24",
		"-name", "affinityus.contoso.lab", "-name", "autodiscover.contoso.lab")
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte("<strong>FAIR</strong>")) || !bytes.Contains(page, []byte("<code>sitedns loadtest ")) {
		t.Fatalf("the report lacks the FAIR banner or the command")
	}

	// The layout, measured in frames of each screen's width.
	measured := filepath.Join(dir, "measured.html")
	if err := os.WriteFile(measured, bytes.Replace(page, []byte("</body>"), []byte(measureJS+"</body>"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	var frames strings.Builder
	frames.WriteString("<!DOCTYPE html><html><body style=\"margin:0\">")
	for i, sc := range screens {
		fmt.Fprintf(&frames, `<iframe id="f%d" src="measured.html" width="%d" height="%d" style="border:0;display:block"></iframe>`, i, sc.w, sc.h)
	}
	frames.WriteString(`<script>window.addEventListener("load", function () {
  document.querySelectorAll("iframe").forEach(function (f) {
    document.body.setAttribute("data-" + f.id, f.contentDocument.body.getAttribute("data-fit"));
  });
});</script></body></html>`)
	outer := filepath.Join(dir, "frames.html")
	if err := os.WriteFile(outer, []byte(frames.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := runChromium(t, chromium, chromiumArgs(filepath.Join(dir, "profile-measure"),
		"--allow-file-access-from-files", "--window-size=1400,1800", "--virtual-time-budget=10000", "--dump-dom", "file://"+outer)...)
	for i, sc := range screens {
		m := regexp.MustCompile(fmt.Sprintf(`data-f%d="(\d+) (\d+) (\d+) (\d+)"`, i)).FindSubmatch(dom)
		if m == nil {
			t.Fatalf("%s px: no measurement in the page:\n%.2000s", sc.name, dom)
		}
		page, table, hidden, cells := atoi(m[1]), atoi(m[2]), atoi(m[3]), atoi(m[4])
		t.Logf("%s px: page %d px wide, table %d px, %d of %d cells hidden", sc.name, page, table, hidden, cells)
		if page > sc.w || table > sc.w {
			t.Errorf("%s px: the page (%d px) or its table (%d px) is wider than the window", sc.name, page, table)
		}
		if hidden != 0 || cells == 0 {
			t.Errorf("%s px: %d of %d table cells hidden", sc.name, hidden, cells)
		}
	}

	for _, sc := range screens {
		shot := filepath.Join(dir, "report-"+sc.name+".png")
		runChromium(t, chromium, chromiumArgs(filepath.Join(dir, "profile-"+sc.name),
			"--hide-scrollbars", fmt.Sprintf("--window-size=%d,%d", sc.w, sc.h), "--screenshot="+shot, "file://"+html)...)
		b, err := os.ReadFile(shot)
		if err != nil {
			t.Fatalf("no screenshot: %v", err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("decoding the screenshot: %v", err)
		}
		if sz := img.Bounds().Size(); sz.X != sc.w || sz.Y != sc.h {
			t.Errorf("screenshot %v, want %d×%d", sz, sc.w, sc.h)
		}
		st := pixelStats(img)
		total := img.Bounds().Dx() * img.Bounds().Dy()
		t.Logf("%s: %d pixels: %d not white, %d distinct colours, %d banner, %d fair bar, %d mark black",
			sc.name, total, st.nonWhite, len(st.colours), st.count[fairBanner], st.count[fairBar], st.count[markBlack])
		if frac := float64(st.nonWhite) / float64(total); frac < 0.03 {
			t.Errorf("%s: %.1f%% of the pixels are not white: the page looks blank", sc.name, 100*frac)
		}
		// The banner is at the top: its background fills most of the
		// first rows under the margin.
		if top := pixelStats(cropTop(img, 60)); top.count[fairBanner] < sc.w*10 {
			t.Errorf("%s: %d pixels of the FAIR banner in the top 60 rows", sc.name, top.count[fairBanner])
		}
		if *update {
			if err := os.WriteFile(filepath.Join("..", "docs", "loadtest-report-"+sc.name+".png"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The charts below the first screen: the whole page, at the desktop's
	// width.
	shot := filepath.Join(dir, "report-full.png")
	runChromium(t, chromium, chromiumArgs(filepath.Join(dir, "profile-full"),
		"--hide-scrollbars", "--window-size=1280,4000", "--screenshot="+shot, "file://"+html)...)
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	st := pixelStats(img)
	t.Logf("whole page: %d fair bar, %d mark black, %d run line", st.count[fairBar], st.count[markBlack], st.count[runBlue])
	// 8 groups of 1 to 3 bars, 20 px high and about a third of 400 px long.
	if st.count[fairBar] < 8*20*100 {
		t.Errorf("%d pixels of the fair bars' green %v; the charts did not render", st.count[fairBar], fairBar)
	}
	if st.count[markBlack] < 8*40 { // a 2×20 px mark a bar
		t.Errorf("%d pixels of the expected-share marks' black", st.count[markBlack])
	}
	if st.count[runBlue] < 8*200 { // the first target's line across the run
		t.Errorf("%d pixels of the first target's line across the run %v", st.count[runBlue], runBlue)
	}
}

func atoi(b []byte) int {
	n, _ := strconv.Atoi(string(b))
	return n
}

// cropTop is the top rows of img.
func cropTop(img image.Image, rows int) image.Image {
	b := img.Bounds()
	return img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(b.Min.X, b.Min.Y, b.Max.X, b.Min.Y+rows))
}

type pixels struct {
	nonWhite int
	colours  map[color.RGBA]bool
	count    map[color.RGBA]int
}

func pixelStats(img image.Image) pixels {
	p := pixels{colours: map[color.RGBA]bool{}, count: map[color.RGBA]int{}}
	bnd := img.Bounds()
	for y := bnd.Min.Y; y < bnd.Max.Y; y++ {
		for x := bnd.Min.X; x < bnd.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			p.colours[c] = true
			if c != (color.RGBA{0xff, 0xff, 0xff, 0xff}) {
				p.nonWhite++
			}
			switch c {
			case fairBar, fairBanner, markBlack, runBlue:
				p.count[c]++
			}
		}
	}
	return p
}
