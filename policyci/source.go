package policyci

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/sovereign-engine/sovereign/engine"
)

// PolicySource says where a policy of a diff came from.
type PolicySource struct {
	Spec     string `json:"spec"` // as given: a file, a directory, a git ref
	Kind     string `json:"kind"` // bundle | directory | git
	Commit   string `json:"commit,omitempty"`
	Revision string `json:"revision"`
	Digest   string `json:"digest"`
}

// LoadPolicySpec loads the policy named by spec: an OPA bundle file
// (.tar.gz), a policy directory, or a git ref ("main", "HEAD", "origin/main",
// a commit) of the repository at repo, whose policyDir is extracted at that
// ref with `git archive`; "REF:DIR" names another directory. A path that
// exists wins over a ref of the same name. Bundles are read unverified: diff
// compares candidate policies, it does not activate them.
func LoadPolicySpec(ctx context.Context, spec, repo, policyDir string) (*engine.Policy, PolicySource, error) {
	src := PolicySource{Spec: spec}
	if spec == "" {
		return nil, src, errors.New("empty policy: want a bundle file, a directory or a git ref")
	}
	if st, err := os.Stat(spec); err == nil {
		src.Kind = "bundle"
		if st.IsDir() {
			src.Kind = "directory"
		}
		p, err := engine.LoadPolicy(spec)
		if err != nil {
			return nil, src, fmt.Errorf("%s: %w", spec, err)
		}
		src.Revision, src.Digest = p.Revision, p.Digest
		return p, src, nil
	}
	ref, dir := spec, policyDir
	if r, d, ok := strings.Cut(spec, ":"); ok && r != "" && d != "" {
		ref, dir = r, d
	}
	src.Kind = "git"
	commit, err := git(ctx, repo, "rev-parse", "--verify", "--end-of-options", ref+"^{commit}")
	if err != nil {
		return nil, src, fmt.Errorf("%s is neither a file, a directory nor a git ref of %s: %w", spec, repo, err)
	}
	src.Commit = strings.TrimSpace(string(commit))
	tmp, err := os.MkdirTemp("", "sovereign-diff-*")
	if err != nil {
		return nil, src, err
	}
	defer os.RemoveAll(tmp)
	dir = path.Clean(filepath.ToSlash(dir))
	archive, err := git(ctx, repo, "archive", "--format=tar", src.Commit, "--", dir)
	if err != nil {
		return nil, src, fmt.Errorf("%s: extract %s: %w", spec, dir, err)
	}
	if err := untar(bytes.NewReader(archive), tmp); err != nil {
		return nil, src, fmt.Errorf("%s: extract %s: %w", spec, dir, err)
	}
	p, err := engine.LoadPolicy(filepath.Join(tmp, filepath.FromSlash(dir)))
	if err != nil {
		return nil, src, fmt.Errorf("%s (%s): %w", spec, dir, err)
	}
	src.Revision, src.Digest = p.Revision, p.Digest
	return p, src, nil
}

func git(ctx context.Context, repo string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return nil, fmt.Errorf("git %s: %s", args[0], msg)
		}
		return nil, fmt.Errorf("git %s: %w", args[0], err)
	}
	return out, nil
}

// untar writes the regular files and directories of a tar stream under dir,
// refusing any path that would land outside it.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(h.Name)
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("archive path %q leaves the directory", h.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, io.LimitReader(tr, h.Size)); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
		default:
			// symlinks and the like are not part of a policy
		}
	}
}
