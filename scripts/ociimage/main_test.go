package main

import (
	"archive/tar"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestImageIsValidAndRuns builds the static binary, writes the image twice,
// and checks what a registry and a runtime would: the layout and every blob
// digest are valid, the config says who runs what, the same binary gives the
// same digest, and the binary taken out of the layer runs.
func TestImageIsValidAndRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the static binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sovereign")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "../../cmd/sovereign")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "image")
	d1, err := build1(bin, out)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := build1(bin, filepath.Join(dir, "image2"))
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 {
		t.Errorf("two builds of one binary: %s and %s", d1, d2)
	}

	idx, err := layout.ImageIndexFromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("layout does not validate: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "sovereign:test" || im.Manifests[0].Digest.String() != d1 {
		t.Fatalf("index: %+v", im.Manifests)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Config.User != "65532:65532" || strings.Join(cf.Config.Entrypoint, " ") != "/sovereign" {
		t.Errorf("config: %+v", cf.Config)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	extracted := filepath.Join(dir, "from-image")
	names := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
		if h.Name == "sovereign" {
			f, err := os.OpenFile(extracted, os.O_CREATE|os.O_WRONLY, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
		if h.Name == "var/lib/sovereign/" && (h.Uid != 65532 || h.Mode&0o777 != 0o700) {
			t.Errorf("data directory: uid %d mode %o", h.Uid, h.Mode)
		}
	}
	for _, n := range []string{"etc/passwd", "etc/ssl/certs/ca-certificates.crt", "tmp/"} {
		if !names[n] {
			t.Errorf("the layer has no %s", n)
		}
	}
	outb, err := exec.Command(extracted, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(outb), "sovereign") {
		t.Fatalf("the binary from the image: %v\n%s", err, outb)
	}
}

func build1(bin, out string) (string, error) {
	h, err := build(bin, "/etc/ssl/certs/ca-certificates.crt", out, "sovereign:test", "amd64", "test")
	return h.String(), err
}
