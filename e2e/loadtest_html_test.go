package e2e

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Colours of the HTML report (loadtest/html.go): the bars, the "fair"
// verdict, the expected-share marks.
var (
	barBlue   = color.RGBA{0x3b, 0x6f, 0xb6, 0xff}
	fairGreen = color.RGBA{0x17, 0x6b, 0x2c, 0xff}
	markBlack = color.RGBA{0x11, 0x11, 0x11, 0xff}
)

// TestLoadtestHTMLRenders writes the HTML report of a real run against the
// loopback lab, renders it in headless Chromium and checks the screenshot
// shows the report: a fair share of non-white pixels, the bar colour in
// solid blocks, the green verdicts and the expected-share marks. With
// -update it keeps the screenshot as docs/loadtest-report.png.
func TestLoadtestHTMLRenders(t *testing.T) {
	chromium := need(t, "chromium")
	cfg := testdata("config", "good", "loopback.toml")
	in := start(t, "-config", cfg)
	dir := t.TempDir()
	html := filepath.Join(dir, "report.html")
	loadtestRun(t, "-server", in.DNS, "-config", cfg, "-html", html, "-queries", "3000",
		"-clients", "127.2.1.0/24=US-Chicago-CAS:US,127.2.9.0/24,127.12.9.0/24,127.9.0.0/24",
		"-name", "affinityus.contoso.lab", "-name", "autodiscover.contoso.lab")

	shot := filepath.Join(dir, "report.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--no-first-run", "--disable-dev-shm-usage", "--screenshot="+shot, "--window-size=1200,1600", "file://"+html)
	cmd.Env = append(os.Environ(), "HOME="+dir) // a profile of its own
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decoding the screenshot: %v", err)
	}
	if sz := img.Bounds().Size(); sz.X != 1200 || sz.Y != 1600 {
		t.Errorf("screenshot %v, want 1200×1600", sz)
	}

	st := pixelStats(img)
	total := img.Bounds().Dx() * img.Bounds().Dy()
	t.Logf("%d pixels: %d not white, %d distinct colours, %d bar blue, %d fair green, %d mark black",
		total, st.nonWhite, len(st.colours), st.count[barBlue], st.count[fairGreen], st.count[markBlack])
	if frac := float64(st.nonWhite) / float64(total); frac < 0.03 {
		t.Errorf("%.1f%% of the pixels are not white: the page looks blank", 100*frac)
	}
	if len(st.colours) < 8 {
		t.Errorf("%d distinct colours; a rendered report has text, bars, marks and grid lines", len(st.colours))
	}
	// Each bar is a 20 px high rectangle a few dozen px long or more: the
	// first screen holds several.
	if st.count[barBlue] < 5000 {
		t.Errorf("%d pixels of the bar colour %v; the charts did not render", st.count[barBlue], barBlue)
	}
	if st.count[fairGreen] < 50 {
		t.Errorf("%d pixels of the fair verdict's green", st.count[fairGreen])
	}
	if st.count[markBlack] < 100 {
		t.Errorf("%d pixels of the expected-share marks' black", st.count[markBlack])
	}

	if *update {
		if err := os.WriteFile(filepath.Join("..", "docs", "loadtest-report.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
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
			case barBlue, fairGreen, markBlack:
				p.count[c]++
			}
		}
	}
	return p
}
