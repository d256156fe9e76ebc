package bundles

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// ErrNotModified means the source still holds the bundle last fetched.
var ErrNotModified = errors.New("bundle not modified")

// Fetched is one version of a bundle from a source.
type Fetched struct {
	// ETag identifies this version: the HTTP ETag, or a hash of the content.
	ETag string
	// Tarball is the bundle as distributed; nil for a directory source.
	Tarball []byte
	// Dir is the bundle directory of a directory source.
	Dir string
}

// Loader reads the fetched bundle.
func (f Fetched) Loader() bundle.DirectoryLoader {
	if f.Tarball != nil {
		return NewTarballLoader(bytes.NewReader(f.Tarball), DefaultLimits)
	}
	return bundle.NewDirectoryLoader(f.Dir)
}

// Source yields versions of one bundle.
type Source interface {
	// Fetch returns the bundle if it is not the version etag names, and
	// ErrNotModified if it is.
	Fetch(ctx context.Context, etag string) (Fetched, error)
	String() string
}

// NewSource picks the source for a location: an http(s) URL, a .tar.gz file or
// a directory.
func NewSource(location string, client *http.Client, longPoll time.Duration) (Source, error) {
	if strings.HasPrefix(location, "http://") || strings.HasPrefix(location, "https://") {
		if client == nil {
			client = &http.Client{Timeout: 30*time.Second + longPoll}
		}
		return &HTTPSource{URL: location, Client: client, LongPoll: longPoll}, nil
	}
	st, err := os.Stat(location)
	if err != nil {
		return nil, fmt.Errorf("bundle source: %w", err)
	}
	if st.IsDir() {
		return DirSource{Path: location}, nil
	}
	return FileSource{Path: location}, nil
}

// FileSource is a bundle tarball on disk.
type FileSource struct{ Path string }

func (s FileSource) String() string { return s.Path }

// Fetch reads the file; its ETag is the SHA-256 of its bytes.
func (s FileSource) Fetch(_ context.Context, etag string) (Fetched, error) {
	b, err := os.ReadFile(s.Path)
	if err != nil {
		return Fetched{}, fmt.Errorf("read bundle %s: %w", s.Path, err)
	}
	if len(b) > MaxSize {
		return Fetched{}, fmt.Errorf("bundle %s: %d bytes exceeds %d", s.Path, len(b), MaxSize)
	}
	sum := sha256.Sum256(b)
	tag := hex.EncodeToString(sum[:])
	if tag == etag {
		return Fetched{}, ErrNotModified
	}
	return Fetched{ETag: tag, Tarball: b}, nil
}

// DirSource is a bundle directory.
type DirSource struct{ Path string }

func (s DirSource) String() string { return s.Path }

// Fetch hashes the path and content of every file OPA's directory loader
// reads: regular files only (it skips symbolic links, FIFOs and devices, and
// so does this), each opened without blocking and checked again once open,
// within DefaultLimits. A changed byte anywhere is a new version; a file
// over the limits refuses the bundle instead of being read to the end.
func (s DirSource) Fetch(_ context.Context, etag string) (Fetched, error) {
	if err := CheckLooseAuthz(s.Path); err != nil {
		return Fetched{}, err
	}
	h := sha256.New()
	var paths []string
	err := filepath.WalkDir(s.Path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return Fetched{}, fmt.Errorf("read bundle %s: %w", s.Path, err)
	}
	if len(paths) > DefaultLimits.MaxFiles {
		return Fetched{}, fmt.Errorf("read bundle %s: %w: more than %d files", s.Path, ErrTooLarge, DefaultLimits.MaxFiles)
	}
	sort.Strings(paths)
	var total int64
	for _, p := range paths {
		sum, n, err := hashRegular(p, DefaultLimits.MaxFileBytes)
		if err != nil {
			return Fetched{}, fmt.Errorf("read bundle %s: %w", s.Path, err)
		}
		if total += n; total > DefaultLimits.MaxTotalBytes {
			return Fetched{}, fmt.Errorf("read bundle %s: %w: files add up to more than %d bytes", s.Path, ErrTooLarge, DefaultLimits.MaxTotalBytes)
		}
		fmt.Fprintf(h, "%s %x\n", filepath.ToSlash(strings.TrimPrefix(p, s.Path)), sum)
	}
	tag := hex.EncodeToString(h.Sum(nil))
	if tag == etag {
		return Fetched{}, ErrNotModified
	}
	return Fetched{ETag: tag, Dir: s.Path}, nil
}

// hashRegular hashes the regular file at p, refusing anything else and more
// than max bytes. It opens without blocking (a file swapped for a FIFO after
// the walk is refused, not waited on).
func hashRegular(p string, max int64) ([]byte, int64, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s: not a regular file", p)
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, max+1))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", p, err)
	}
	if n > max {
		return nil, 0, fmt.Errorf("%s: %w: more than %d bytes", p, ErrTooLarge, max)
	}
	return h.Sum(nil), n, nil
}

// HTTPSource polls a bundle URL with If-None-Match, as OPA does: 304 means
// unchanged. With LongPoll, it asks the server to hold the request until the
// bundle changes (Prefer: wait=N seconds).
type HTTPSource struct {
	URL      string
	Client   *http.Client
	LongPoll time.Duration
}

func (s *HTTPSource) String() string { return s.URL }

// Fetch downloads the bundle unless the server answers 304.
func (s *HTTPSource) Fetch(ctx context.Context, etag string) (Fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return Fetched{}, err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", strconv.Quote(etag))
		if s.LongPoll > 0 {
			req.Header.Set("Prefer", fmt.Sprintf("wait=%d", int(s.LongPoll.Seconds())))
		}
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return Fetched{}, fmt.Errorf("download bundle %s: %w", s.URL, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return Fetched{}, ErrNotModified
	case http.StatusOK:
	default:
		return Fetched{}, fmt.Errorf("download bundle %s: HTTP %d", s.URL, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxSize+1))
	if err != nil {
		return Fetched{}, fmt.Errorf("download bundle %s: %w", s.URL, err)
	}
	if len(b) > MaxSize {
		return Fetched{}, fmt.Errorf("download bundle %s: more than %d bytes", s.URL, MaxSize)
	}
	tag := resp.Header.Get("ETag")
	if unq, err := strconv.Unquote(tag); err == nil {
		tag = unq
	}
	if tag == "" {
		sum := sha256.Sum256(b)
		tag = hex.EncodeToString(sum[:])
	}
	return Fetched{ETag: tag, Tarball: b}, nil
}

// CheckLooseAuthz refuses a bundle directory that holds Cedar authorization
// policies as files (authz/schema.cedarschema, authz/*.cedar) rather than as
// the data document data.authz: OPA's directory loader reads neither, so
// served as it is the directory would run under the built-in authorization
// policies instead of its own, and a signature over the directory would not
// cover them. `sovereign bundle build` packs them into signed data.
func CheckLooseAuthz(dir string) error {
	authz := filepath.Join(dir, AuthzDir)
	entries, err := os.ReadDir(authz)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("bundle directory %s: %w", dir, err)
	}
	var cedar []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".cedar") || e.Name() == "schema.cedarschema" {
			cedar = append(cedar, filepath.Join(authz, e.Name()))
		}
	}
	if len(cedar) == 0 {
		return nil
	}
	return fmt.Errorf("bundle directory %s: %s is not read from a directory (OPA bundles carry Cedar policies as data.authz, which a signature covers): "+
		"serve the tarball of `sovereign bundle build %s`, which packs authz/ into signed data", dir, filepath.ToSlash(strings.TrimPrefix(cedar[0], dir+string(filepath.Separator))), dir)
}
