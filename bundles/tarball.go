package bundles

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/loader/filter"
	"github.com/open-policy-agent/opa/v1/util"
)

// Limits bound what reading one bundle tarball may inflate and hold. A
// bundle comes from whoever controls its source or the path to it, and its
// signature is inside it, so these are checked before anything is trusted:
// a member's declared size before a byte of it is allocated, the running
// total of declared sizes before each member is read, and every byte the
// gzip stream yields (tar headers, padding and skipped members included)
// while it is read.
type Limits struct {
	// MaxFileBytes caps one file, inflated.
	MaxFileBytes int64
	// MaxTotalBytes caps the sum of the files, inflated.
	MaxTotalBytes int64
	// MaxFiles caps the number of files.
	MaxFiles int
}

// DefaultLimits are the limits every bundle Sovereign reads is held to: the
// built-in library inflates to well under 1 MiB in about 60 files.
var DefaultLimits = Limits{MaxFileBytes: MaxSize, MaxTotalBytes: MaxSize, MaxFiles: 10_000}

// ErrTooLarge refuses a bundle over its Limits; nothing of it is activated.
var ErrTooLarge = errors.New("bundle too large")

// tarballLoader reads a gzipped tar bundle within Limits. It returns the same
// files, paths and URLs as OPA's bundle.NewTarballLoader (regular files only,
// in archive order, paths as written), but reads each member when asked for
// it rather than all of them at once, and refuses what exceeds its limits
// before allocating for it. OPA's loader pre-allocates each member at its
// declared size and reads every member before its caller can check anything,
// and it has no limit on the total: a 600 KB bundle inflated to 3.3 GB.
type tarballLoader struct {
	r      io.Reader
	limits Limits
	tr     *tar.Reader
	stream *countingReader
	files  int
	total  int64
	err    error
}

// NewTarballLoader returns an OPA bundle loader for the gzipped tar r, held
// to limits. Use it wherever a bundle tarball from outside is read.
func NewTarballLoader(r io.Reader, limits Limits) bundle.DirectoryLoader {
	return &tarballLoader{r: r, limits: limits}
}

// countingReader fails once more than max bytes have been read through it.
type countingReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, c.overflow()
	}
	if rest := c.max + 1 - c.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, c.overflow()
	}
	return n, err
}

func (c *countingReader) overflow() error {
	return fmt.Errorf("%w: the archive inflates to more than %d bytes", ErrTooLarge, c.max)
}

// streamOverhead is what the tar stream may hold beyond its files' contents:
// a 512-byte header and up to 511 bytes of padding per member, PAX records,
// and the members that are not regular files (directories, links), whose
// contents are read past.
func (l Limits) streamBytes() int64 {
	return l.MaxTotalBytes + int64(l.MaxFiles)*2048 + 1<<20
}

func (t *tarballLoader) NextFile() (*bundle.Descriptor, error) {
	if t.err != nil {
		return nil, t.err
	}
	d, err := t.next()
	if err != nil {
		t.err = err
	}
	return d, err
}

func (t *tarballLoader) next() (*bundle.Descriptor, error) {
	if t.tr == nil {
		gr, err := gzip.NewReader(t.r)
		if err != nil {
			return nil, fmt.Errorf("archive read failed: %w", err)
		}
		t.stream = &countingReader{r: gr, max: t.limits.streamBytes()}
		t.tr = tar.NewReader(t.stream)
	}
	for {
		h, err := t.tr.Next()
		if err != nil {
			// io.EOF ends the bundle; a limit or a corrupt stream is an error.
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if t.files == t.limits.MaxFiles {
			return nil, fmt.Errorf("%w: more than %d files", ErrTooLarge, t.limits.MaxFiles)
		}
		if h.Size > t.limits.MaxFileBytes {
			return nil, fmt.Errorf("%w: file %s declares %d bytes (limit %d)", ErrTooLarge, h.Name, h.Size, t.limits.MaxFileBytes)
		}
		if t.total+h.Size > t.limits.MaxTotalBytes {
			return nil, fmt.Errorf("%w: files inflate to more than %d bytes (at %s)", ErrTooLarge, t.limits.MaxTotalBytes, h.Name)
		}
		t.files++
		t.total += h.Size
		// The tar reader yields exactly h.Size bytes (or an error), and h.Size
		// is within the limits checked above.
		buf := bytes.NewBuffer(make([]byte, 0, h.Size))
		if _, err := io.Copy(buf, t.tr); err != nil {
			return nil, fmt.Errorf("failed to copy file %s: %w", h.Name, err)
		}
		// As OPA's loader names them (PathFormat Passthrough, no base URL).
		return bundle.NewDescriptor(filepath.Join("", h.Name), h.Name, buf), nil
	}
}

// The loader has no filter, path format or symlinks to follow: a bundle is
// read whole, as built.
func (t *tarballLoader) WithFilter(filter.LoaderFilter) bundle.DirectoryLoader   { return t }
func (t *tarballLoader) WithPathFormat(bundle.PathFormat) bundle.DirectoryLoader { return t }
func (t *tarballLoader) WithSizeLimitBytes(int64) bundle.DirectoryLoader         { return t }
func (t *tarballLoader) WithFollowSymlinks(bool) bundle.DirectoryLoader          { return t }

// CheckSignature verifies a bundle tarball's signature with keys before any
// file but .signatures.json is held: it streams the archive within limits,
// keeping nothing else, so a bundle that is not signed by a trusted key is
// refused for the cost of inflating it once. The file hashes the signature
// lists are checked when the bundle is read (ReadCached).
func CheckSignature(tarball []byte, keys []PublicKey, limits Limits) error {
	gr, err := gzip.NewReader(bytes.NewReader(tarball))
	if err != nil {
		return fmt.Errorf("archive read failed: %w", err)
	}
	tr := tar.NewReader(&countingReader{r: gr, max: limits.streamBytes()})
	var sigs []byte
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg || !bundle.IsSignaturesFile(h.Name) {
			continue
		}
		if sigs != nil {
			return fmt.Errorf("bundle contains multiple signatures files")
		}
		if h.Size > maxSignaturesBytes {
			return fmt.Errorf("%w: %s declares %d bytes (limit %d)", ErrTooLarge, h.Name, h.Size, maxSignaturesBytes)
		}
		if sigs, err = io.ReadAll(tr); err != nil {
			return err
		}
	}
	if sigs == nil {
		return errors.New("bundle missing .signatures.json file")
	}
	var sc bundle.SignaturesConfig
	if err := util.NewJSONDecoder(bytes.NewReader(sigs)).Decode(&sc); err != nil {
		return fmt.Errorf("bundle load failed on signatures decode: %w", err)
	}
	if len(sc.Signatures) == 0 && sc.Plugin == "" {
		return errors.New("bundle missing .signatures.json file")
	}
	vc, err := VerificationConfig(keys)
	if err != nil {
		return err
	}
	_, err = bundle.VerifyBundleSignature(sc, vc)
	return err
}

// maxSignaturesBytes caps .signatures.json: one JWT listing each file's hash.
const maxSignaturesBytes = 1 << 20
