// Package bundles builds, signs, verifies and reads OPA policy bundles. Bundles are
// standard OPA bundles (.manifest, modules, data.json, .signatures.json): one made
// by `opa build --signing-key` loads here, and one made here loads in `opa`.
// Signatures are required whenever verification keys are given.
package bundles

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/compile"
)

// DefaultKeyID is the key id OPA assumes when none is configured
// (--verification-key-id), so bundles signed with defaults verify on both sides.
const DefaultKeyID = "default"

// MaxSize caps a bundle: as fetched (compressed), and the sum of its files
// inflated (DefaultLimits).
const MaxSize = 64 << 20

// BuildOptions configure Build.
type BuildOptions struct {
	// Revision overrides the manifest's revision when set.
	Revision string
	// SigningKey is a PEM private key file (RSA or ECDSA); empty builds an
	// unsigned bundle.
	SigningKey string
	// Algorithm is the JWS algorithm (RS256, ES256, PS384, ...); empty picks the
	// one that fits the key (RS256 for RSA, ES256/384/512 for P-256/384/521).
	// OPA does not sign with Ed25519.
	Algorithm string
	// KeyID names the signing key in the signature (default DefaultKeyID).
	KeyID string
	// BuiltAt is stamped into the manifest's metadata (BuiltAt); zero means now.
	BuiltAt time.Time
}

// metadataKey is the manifest metadata object Sovereign writes:
// {"metadata": {"sovereign": {"built_at": "<RFC 3339>"}}}. The manifest is
// one of the signed files, so the stamp is as trustworthy as the signature.
const metadataKey = "sovereign"

// BuiltAt returns when a bundle was built, from its manifest metadata
// (sovereign.built_at, RFC 3339): zero when the bundle has none (e.g. one made
// by opa build), an error when it is there but malformed.
func BuiltAt(b *bundle.Bundle) (time.Time, error) {
	meta, ok := b.Manifest.Metadata[metadataKey]
	if !ok {
		return time.Time{}, nil
	}
	m, ok := meta.(map[string]any)
	if !ok {
		return time.Time{}, fmt.Errorf(".manifest: metadata.%s must be an object", metadataKey)
	}
	raw, ok := m["built_at"]
	if !ok {
		return time.Time{}, nil
	}
	str, ok := raw.(string)
	if !ok {
		return time.Time{}, fmt.Errorf(".manifest: metadata.%s.built_at must be an RFC 3339 string", metadataKey)
	}
	t, err := time.Parse(time.RFC3339Nano, str)
	if err != nil {
		return time.Time{}, fmt.Errorf(".manifest: metadata.%s.built_at: %w", metadataKey, err)
	}
	return t.UTC(), nil
}

// buildMetadata is the directory's manifest metadata with the build stamp
// added (compile replaces the metadata wholesale).
func buildMetadata(dir string, builtAt time.Time) (map[string]any, error) {
	meta := map[string]any{}
	raw, err := os.ReadFile(filepath.Join(dir, bundle.ManifestExt))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		var m struct {
			Metadata map[string]any `json:"metadata"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", bundle.ManifestExt, err)
		}
		for k, v := range m.Metadata {
			meta[k] = v
		}
	}
	own, _ := meta[metadataKey].(map[string]any)
	stamped := map[string]any{}
	for k, v := range own {
		stamped[k] = v
	}
	stamped["built_at"] = builtAt.UTC().Format(time.RFC3339Nano)
	meta[metadataKey] = stamped
	return meta, nil
}

// Build compiles the policy directory dir into a bundle tarball written to w, as
// `opa build --bundle dir [--signing-key ...]` does: it refuses a directory that
// does not compile.
func Build(ctx context.Context, dir string, w io.Writer, o BuildOptions) error {
	src := dir
	packed, err := packAuthz(dir)
	if err != nil {
		return fmt.Errorf("build bundle %s: %w", dir, err)
	}
	if packed != "" {
		defer os.RemoveAll(packed)
		src = packed
	}
	// Read from the directory's root, so module paths in the bundle are the
	// paths inside it (/sovereign/x.rego), not the caller's path to it.
	c := compile.New().
		WithFS(os.DirFS(src)).
		WithPaths(".").
		WithAsBundle(true).
		WithOutput(w)
	if o.Revision != "" {
		c = c.WithRevision(o.Revision)
	}
	builtAt := o.BuiltAt
	if builtAt.IsZero() {
		builtAt = time.Now()
	}
	meta, err := buildMetadata(dir, builtAt)
	if err != nil {
		return fmt.Errorf("build bundle %s: %w", dir, err)
	}
	c = c.WithMetadata(&meta)
	if o.SigningKey != "" {
		pemBytes, err := os.ReadFile(o.SigningKey)
		if err != nil {
			return fmt.Errorf("signing key: %w", err)
		}
		alg := o.Algorithm
		if alg == "" {
			if alg, err = algorithmForPrivateKey(pemBytes); err != nil {
				return fmt.Errorf("signing key %s: %w", o.SigningKey, err)
			}
		}
		keyID := o.KeyID
		if keyID == "" {
			keyID = DefaultKeyID
		}
		c = c.WithBundleSigningConfig(bundle.NewSigningConfig(string(pemBytes), alg, "")).
			WithBundleVerificationKeyID(keyID)
	}
	if err := c.Build(ctx); err != nil {
		return fmt.Errorf("build bundle %s: %w", dir, err)
	}
	return nil
}

// AuthzDir is the directory of a policy bundle's Cedar authorization policies:
// schema.cedarschema and *.cedar files. OPA bundles carry only Rego and data,
// so Build packs them into the data document data.authz as
// {"schema": "<text>", "policies": {"<file>.cedar": "<text>"}}, which the
// server reads (api/auth) and which is signed and verified like any data.
const AuthzDir = "authz"

// packAuthz copies dir to a temporary directory with authz/data.json made from
// authz/*.cedar, and returns it; "" when dir has no authz/schema.cedarschema.
func packAuthz(dir string) (string, error) {
	authz := filepath.Join(dir, AuthzDir)
	schema, err := os.ReadFile(filepath.Join(authz, "schema.cedarschema"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(authz, "data.json")); err == nil {
		return "", fmt.Errorf("%s holds both *.cedar files and a data.json: keep one", authz)
	}
	files, err := filepath.Glob(filepath.Join(authz, "*.cedar"))
	if err != nil {
		return "", err
	}
	doc := struct {
		Schema   string            `json:"schema"`
		Policies map[string]string `json:"policies"`
	}{Schema: string(schema), Policies: map[string]string{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		doc.Policies[filepath.Base(f)] = string(b)
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "sovereign-bundle-*")
	if err != nil {
		return "", err
	}
	if err := os.CopyFS(tmp, os.DirFS(dir)); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, AuthzDir, "data.json"), data, 0o600); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return tmp, nil
}

// PublicKey is a key that verifies bundle signatures.
type PublicKey struct {
	ID        string // the kid the signature names; DefaultKeyID when unnamed
	PEM       string
	Algorithm string // empty: inferred from the key
}

// ParsePublicKeyFlag reads "PATH" or "ID=PATH" into a PublicKey.
func ParsePublicKeyFlag(v string) (PublicKey, error) {
	id, path := DefaultKeyID, v
	if i := strings.Index(v, "="); i > 0 {
		id, path = v[:i], v[i+1:]
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return PublicKey{}, fmt.Errorf("public key: %w", err)
	}
	return PublicKey{ID: id, PEM: string(b)}, nil
}

// VerificationConfig is OPA's verification configuration for keys: a bundle
// must carry a valid signature by one of them (OPA ≥ 1.21.3 requires a
// signature once a config is set; we never opt out).
func VerificationConfig(keys []PublicKey) (*bundle.VerificationConfig, error) {
	if len(keys) == 0 {
		return nil, errors.New("no verification key")
	}
	cfg := map[string]*bundle.KeyConfig{}
	for _, k := range keys {
		alg := k.Algorithm
		if alg == "" {
			var err error
			if alg, err = algorithmForPublicKey([]byte(k.PEM)); err != nil {
				return nil, fmt.Errorf("verification key %q: %w", k.ID, err)
			}
		}
		if _, dup := cfg[k.ID]; dup {
			return nil, fmt.Errorf("verification key id %q given twice", k.ID)
		}
		cfg[k.ID] = &bundle.KeyConfig{Key: k.PEM, Algorithm: alg}
	}
	return bundle.NewVerificationConfig(cfg, "", "", nil), nil
}

// Read loads a bundle from a directory or a tarball. With keys, the bundle must
// be signed by one of them and every file must match the signed hashes; with
// none it is read unverified (the caller decides whether that is allowed).
func Read(path string, keys []PublicKey) (*bundle.Bundle, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	var loader bundle.DirectoryLoader
	if st.IsDir() {
		loader = bundle.NewDirectoryLoader(path)
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open bundle: %w", err)
		}
		defer f.Close()
		loader = NewTarballLoader(f, DefaultLimits)
	}
	return ReadFrom(loader, keys)
}

// ReadFrom loads a bundle from any OPA loader; see Read.
func ReadFrom(loader bundle.DirectoryLoader, keys []PublicKey) (*bundle.Bundle, error) {
	r := bundle.NewCustomReader(loader).
		WithSizeLimitBytes(MaxSize).
		WithProcessAnnotations(true)
	if len(keys) > 0 {
		vc, err := VerificationConfig(keys)
		if err != nil {
			return nil, err
		}
		r = r.WithBundleVerificationConfig(vc)
	} else {
		r = r.WithSkipBundleVerification(true)
	}
	b, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	return &b, nil
}

// Digest is the SHA-256 of a bundle's content, independent of packaging: the
// same files give the same digest from a directory, a tarball or an embedded
// file system. It hashes, in path order, each module's path and raw text, then
// the canonical JSON of the data document and of the manifest. Signatures are
// not part of it: re-signing the same content keeps the digest.
func Digest(b *bundle.Bundle) (string, error) {
	h := sha256.New()
	mods := append([]bundle.ModuleFile(nil), b.Modules...)
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	for _, m := range mods {
		sum := sha256.Sum256(m.Raw)
		fmt.Fprintf(h, "module %s %s\n", normalizePath(m.Path), hex.EncodeToString(sum[:]))
	}
	data, err := json.Marshal(b.Data) // encoding/json sorts map keys
	if err != nil {
		return "", fmt.Errorf("digest bundle data: %w", err)
	}
	sum := sha256.Sum256(data)
	fmt.Fprintf(h, "data %s\n", hex.EncodeToString(sum[:]))
	// The build stamp is not content: a rebuild of the same policies keeps
	// its digest.
	m := b.Manifest
	if own, ok := m.Metadata[metadataKey].(map[string]any); ok {
		m.Metadata = maps.Clone(m.Metadata)
		own = maps.Clone(own)
		delete(own, "built_at")
		if len(own) == 0 {
			delete(m.Metadata, metadataKey)
		} else {
			m.Metadata[metadataKey] = own
		}
		if len(m.Metadata) == 0 {
			m.Metadata = nil
		}
	}
	manifest, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("digest bundle manifest: %w", err)
	}
	sum = sha256.Sum256(manifest)
	fmt.Fprintf(h, "manifest %s\n", hex.EncodeToString(sum[:]))
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// normalizePath makes module paths comparable across loaders: a tarball's
// "/x.rego", a directory's "dir/x.rego" read with a base and an FS's "x.rego".
func normalizePath(p string) string { return strings.TrimPrefix(p, "/") }

// Signer describes who signed a bundle, read from its signature's header and
// claims without verifying them (Read verifies).
type Signer struct {
	KeyID     string `json:"key_id,omitempty"`
	Algorithm string `json:"algorithm,omitempty"`
	Scope     string `json:"scope,omitempty"`
}

// ReadSignatures returns the .signatures.json of a bundle directory or tarball,
// unverified (OPA's reader skips the file when it does not verify); empty when
// the bundle is unsigned.
func ReadSignatures(path string) (bundle.SignaturesConfig, error) {
	var sc bundle.SignaturesConfig
	st, err := os.Stat(path)
	if err != nil {
		return sc, err
	}
	var raw []byte
	if st.IsDir() {
		raw, err = os.ReadFile(filepath.Join(path, ".signatures.json"))
		if errors.Is(err, fs.ErrNotExist) {
			return sc, nil
		}
	} else {
		raw, err = signaturesFromTarball(path)
	}
	if err != nil || raw == nil {
		return sc, err
	}
	if err := json.Unmarshal(raw, &sc); err != nil {
		return sc, fmt.Errorf(".signatures.json: %w", err)
	}
	return sc, nil
}

func signaturesFromTarball(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	tr := tar.NewReader(&countingReader{r: gz, max: DefaultLimits.streamBytes()})
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", path, err)
		}
		if bundle.IsSignaturesFile(h.Name) {
			return io.ReadAll(io.LimitReader(tr, maxSignaturesBytes))
		}
	}
}

// Signers lists the signatures of a .signatures.json.
func Signers(sc bundle.SignaturesConfig) ([]Signer, error) {
	var out []Signer
	for i, tok := range sc.Signatures {
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			return nil, fmt.Errorf("signature %d is not a compact JWS", i)
		}
		hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
		if err != nil {
			return nil, fmt.Errorf("signature %d header: %w", i, err)
		}
		var h struct {
			Alg string `json:"alg"`
			Kid string `json:"kid"`
		}
		if err := json.Unmarshal(hdr, &h); err != nil {
			return nil, fmt.Errorf("signature %d header: %w", i, err)
		}
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			return nil, fmt.Errorf("signature %d payload: %w", i, err)
		}
		var p struct {
			KeyID string `json:"keyid"`
			Scope string `json:"scope"`
		}
		if err := json.Unmarshal(payload, &p); err != nil {
			return nil, fmt.Errorf("signature %d payload: %w", i, err)
		}
		kid := h.Kid
		if kid == "" {
			kid = p.KeyID
		}
		out = append(out, Signer{KeyID: kid, Algorithm: h.Alg, Scope: p.Scope})
	}
	return out, nil
}

func algorithmForPrivateKey(pemBytes []byte) (string, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return "", errors.New("not a PEM private key")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return "", fmt.Errorf("unsupported PEM block %q (want an RSA or ECDSA private key; give --signing-alg for an HMAC secret)", block.Type)
	}
	if err != nil {
		return "", err
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return "RS256", nil
	case *ecdsa.PrivateKey:
		return ecAlgorithm(k.Curve)
	default:
		return "", fmt.Errorf("unsupported key type %T: OPA bundles are signed with RSA or ECDSA (no Ed25519)", key)
	}
}

func algorithmForPublicKey(pemBytes []byte) (string, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return "", errors.New("not a PEM public key")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		if k, err2 := x509.ParsePKCS1PublicKey(block.Bytes); err2 == nil {
			key = k
		} else {
			return "", err
		}
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		return "RS256", nil
	case *ecdsa.PublicKey:
		return ecAlgorithm(k.Curve)
	default:
		return "", fmt.Errorf("unsupported key type %T: OPA bundles are verified with RSA or ECDSA keys (no Ed25519)", key)
	}
}

func ecAlgorithm(c elliptic.Curve) (string, error) {
	switch c {
	case elliptic.P256():
		return "ES256", nil
	case elliptic.P384():
		return "ES384", nil
	case elliptic.P521():
		return "ES512", nil
	}
	return "", fmt.Errorf("unsupported curve %s", c.Params().Name)
}

// FileDigest is the SHA-256 of a bundle file as distributed.
func FileDigest(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
