package audit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"golang.org/x/mod/sumdb/note"
)

// Files in the data directory.
const (
	// SigningKeyFile is the default record signing key: PKCS#8 Ed25519 PEM,
	// mode 0600, encrypted ("ENCRYPTED SIGSTORE PRIVATE KEY") when a
	// passphrase is configured.
	SigningKeyFile = "signing.key"
	// SigningPublicKeysFile holds the PEM public key of every key that has
	// signed records in this log, oldest first; auditors need it.
	SigningPublicKeysFile = "signing.pub"
	// LogKeyFile is the checkpoint signing key (a note signer key), mode 0600.
	LogKeyFile = "log.key"
	// LogVerifierKeyFile is the checkpoint verifier key (a note verifier
	// key, "<origin>+<hash>+<key>"); auditors need it.
	LogVerifierKeyFile = "log.vkey"
	// RequestKeyFile keys the digest of redacted requests
	// (Record.RequestHMACSHA256): 32 random bytes in hex, mode 0600, created
	// when redaction is first configured. Keep it with the signing keys: it
	// is what lets the operator show which request a redacted record was for.
	RequestKeyFile = "request.key"
	// LogDir is the Tessera POSIX log, in the C2SP tlog-tiles layout.
	LogDir = "log"
)

// PassphraseEnv is the environment variable the command line reads the
// signing key passphrase from.
const PassphraseEnv = "SOVEREIGN_KEY_PASSPHRASE"

// PassphraseFromEnv returns a passphrase source reading PassphraseEnv; an
// unset or empty variable means no passphrase (the key is stored in clear).
// It is read when called; serve then removes the variable from its environment
// (see cmd/sovereign), so that child processes do not inherit it.
func PassphraseFromEnv() func() ([]byte, error) {
	pass := os.Getenv(PassphraseEnv)
	if pass == "" {
		return nil // no passphrase: Options and the start-up log say so
	}
	return func() ([]byte, error) {
		return []byte(pass), nil
	}
}

// kmsSchemes are the key URI prefixes handed to sigstore's kms package. The
// providers register themselves when imported (package audit/kms does).
var kmsSchemes = []string{"awskms://", "gcpkms://", "azurekms://", "hashivault://"}

// IsKMSURI reports whether ref names a KMS key rather than a file.
func IsKMSURI(ref string) bool {
	for _, s := range kmsSchemes {
		if strings.HasPrefix(ref, s) {
			return true
		}
	}
	return false
}

// loadSigner returns the record signer named by ref: a KMS URI, a PEM file, or
// "" for the default key in dataDir (created on first use).
func loadSigner(ctx context.Context, dataDir, ref string, passphrase func() ([]byte, error)) (signature.SignerVerifier, error) {
	switch {
	case IsKMSURI(ref):
		sv, err := kms.Get(ctx, ref, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", ref, err)
		}
		return sv, nil
	case ref != "":
		return LoadSigningKey(ref, passphrase)
	}
	path := filepath.Join(dataDir, SigningKeyFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		privPEM, _, err := GenerateSigningKey(passphrase)
		if err != nil {
			return nil, err
		}
		if err := writeFileExclusive(path, privPEM, 0o600); err != nil {
			return nil, fmt.Errorf("%w: create signing key: %w", ErrUnavailable, err)
		}
	}
	return LoadSigningKey(path, passphrase)
}

// GenerateSigningKey makes a new Ed25519 signing key pair as PEM. The private
// key is encrypted with the passphrase when passphrase returns a non-empty one.
func GenerateSigningKey(passphrase func() ([]byte, error)) (privPEM, pubPEM []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	var pass []byte
	if passphrase != nil {
		if pass, err = passphrase(); err != nil {
			return nil, nil, fmt.Errorf("passphrase: %w", err)
		}
	}
	if len(pass) > 0 {
		der, err := cryptoutils.MarshalPrivateKeyToEncryptedDER(priv, cryptoutils.StaticPasswordFunc(pass))
		if err != nil {
			return nil, nil, fmt.Errorf("encrypt signing key: %w", err)
		}
		privPEM = cryptoutils.PEMEncode(cryptoutils.EncryptedSigstorePrivateKeyPEMType, der)
	} else if privPEM, err = cryptoutils.MarshalPrivateKeyToPEM(priv); err != nil {
		return nil, nil, err
	}
	if pubPEM, err = cryptoutils.MarshalPublicKeyToPEM(pub); err != nil {
		return nil, nil, err
	}
	return privPEM, pubPEM, nil
}

// LoadSigningKey reads a PEM private key (PKCS#8, EC, PKCS#1, or a sigstore /
// cosign encrypted key) and returns a signer for it: Ed25519 signs the message
// itself, ECDSA and RSA sign its SHA-256.
func LoadSigningKey(path string, passphrase func() ([]byte, error)) (signature.SignerVerifier, error) {
	raw, err := ReadPrivateKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("signing key %s: not PEM", path)
	}
	var pass []byte
	if passphrase != nil {
		if pass, err = passphrase(); err != nil {
			return nil, fmt.Errorf("signing key %s: passphrase: %w", path, err)
		}
	}
	encrypted := block.Type == string(cryptoutils.EncryptedSigstorePrivateKeyPEMType) ||
		block.Type == "ENCRYPTED COSIGN PRIVATE KEY" || block.Type == "ENCRYPTED PRIVATE KEY"
	if encrypted && len(pass) == 0 {
		return nil, fmt.Errorf("signing key %s is encrypted: set %s", path, PassphraseEnv)
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(raw, cryptoutils.StaticPasswordFunc(pass))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return sv, nil
}

// loadRequestKey returns the request key in dataDir, creating it on first use.
func loadRequestKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, RequestKeyFile)
	raw, err := ReadPrivateKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("request key: %w", err)
		}
		raw = []byte(hex.EncodeToString(key) + "\n")
		if err := writeFileExclusive(path, raw, 0o600); err != nil {
			return nil, fmt.Errorf("%w: create request key: %w", ErrUnavailable, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("request key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("request key %s: want at least 32 bytes in hex", path)
	}
	return key, nil
}

// ReadPrivateKeyFile reads a private key file, refusing one that is not a
// regular file or that its group or others may read or write: like ssh, a key
// others can read is treated as leaked, and a key others can replace as not
// ours. The mode is checked on the open file, not on the path.
func ReadPrivateKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %04o: a private key must be readable by its owner only (chmod 600 %s)", path, perm, path)
	}
	return io.ReadAll(f)
}

// KeyID identifies a public key in records: the hex SHA-256 of its PKIX
// (SubjectPublicKeyInfo) DER encoding.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := cryptoutils.MarshalPublicKeyToDER(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// ParsePublicKeys reads every PEM "PUBLIC KEY" block of a file such as
// signing.pub.
func ParsePublicKeys(pemBytes []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	rest := pemBytes
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(pem.EncodeToMemory(block))
		if err != nil {
			return nil, fmt.Errorf("public key %d: %w", len(keys)+1, err)
		}
		keys = append(keys, pub)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public key found")
	}
	return keys, nil
}

// recordPublicKey appends pub to dataDir/signing.pub unless it is there
// already, so the file lists every key that ever signed this log.
func recordPublicKey(dataDir string, pub crypto.PublicKey) ([]byte, error) {
	path := filepath.Join(dataDir, SigningPublicKeysFile)
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, err
	}
	existing, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if len(existing) > 0 {
		keys, err := ParsePublicKeys(existing)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, k := range keys {
			if cryptoutils.EqualKeys(k, pub) == nil {
				return existing, nil
			}
		}
	}
	all := append(bytes.Clone(existing), pubPEM...)
	if err := WriteFileAtomic(path, all, 0o644); err != nil {
		return nil, err
	}
	return all, nil
}

// loadLogKey returns the checkpoint signer, creating log.key and log.vkey on
// first start. The key's name is the log's origin: an existing key fixes it,
// and a configured origin that differs is an error.
func loadLogKey(dataDir, origin string) (note.Signer, string, error) {
	skPath := filepath.Join(dataDir, LogKeyFile)
	vkPath := filepath.Join(dataDir, LogVerifierKeyFile)
	raw, err := ReadPrivateKeyFile(skPath)
	if errors.Is(err, fs.ErrNotExist) {
		if origin == "" {
			if origin, err = defaultOrigin(); err != nil {
				return nil, "", err
			}
		}
		skey, _, err := note.GenerateKey(rand.Reader, origin)
		if err != nil {
			return nil, "", fmt.Errorf("log key for origin %q: %w", origin, err)
		}
		if err := writeFileExclusive(skPath, []byte(skey+"\n"), 0o600); err != nil {
			return nil, "", fmt.Errorf("%w: create log key: %w", ErrUnavailable, err)
		}
		raw = []byte(skey)
	} else if err != nil {
		return nil, "", fmt.Errorf("log key: %w", err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, "", fmt.Errorf("log key %s: %w", skPath, err)
	}
	if origin != "" && signer.Name() != origin {
		return nil, "", fmt.Errorf("log key %s is for origin %q, not the configured %q: a log keeps its origin", skPath, signer.Name(), origin)
	}
	vkey, err := verifierKeyOf(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, "", err
	}
	if cur, err := os.ReadFile(vkPath); err != nil || strings.TrimSpace(string(cur)) != vkey {
		if err := WriteFileAtomic(vkPath, []byte(vkey+"\n"), 0o644); err != nil {
			return nil, "", fmt.Errorf("%w: write %s: %w", ErrUnavailable, vkPath, err)
		}
	}
	return signer, vkey, nil
}

// verifierKeyOf derives the note verifier key from a note signer key of the
// form PRIVATE+KEY+<name>+<hash>+<base64(alg||key)>.
func verifierKeyOf(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("log key: malformed note signer key")
	}
	name, b64 := parts[2], parts[4]
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) != 1+ed25519.SeedSize || key[0] != 1 {
		return "", errors.New("log key: not an Ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return "", fmt.Errorf("log key: %w", err)
	}
	return vkey, nil
}

// NoteVerifier parses a note verifier key as found in log.vkey.
func NoteVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("log verifier key: %w", err)
	}
	return v, nil
}

func defaultOrigin() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("default origin: %w", err)
	}
	return "sovereign/" + host, nil
}

// writeFileExclusive creates path with mode perm, failing if it exists. The
// content goes to a synced temporary file first, then is hard-linked into place:
// a crash leaves either no file or the whole one (never a torn key that would
// fail every later start), and two processes creating the same key cannot both
// win.
func writeFileExclusive(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// writeTemp writes data to a new synced temporary file beside path, mode perm.
func writeTemp(path string, data []byte, perm os.FileMode) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}

// WriteFileAtomic replaces path with data, mode perm, through a synced
// temporary file of its own (created O_EXCL, so no planted file or symlink
// receives the data) renamed into place: a crash leaves the old or the new file.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op once renamed
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
