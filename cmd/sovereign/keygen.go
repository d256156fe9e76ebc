package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/spf13/cobra"

	"github.com/sovereign-engine/sovereign/audit"
)

// newKeygenCmd writes an Ed25519 record signing key pair for --signing-key.
func newKeygenCmd() *cobra.Command {
	var privPath, pubPath string
	var encrypt, force bool
	cmd := &cobra.Command{
		Use:   "keygen [--private-key FILE] [--public-key FILE] [--encrypt]",
		Short: "Write an Ed25519 signing key pair (PEM) for the audit log",
		Long: `Keygen writes a new Ed25519 private key (PKCS#8 PEM, mode 0600) and its public
key (PEM). When ` + audit.PassphraseEnv + ` is set the private key is encrypted with
it (sigstore's "ENCRYPTED SIGSTORE PRIVATE KEY", as cosign writes); --encrypt
makes the passphrase mandatory. Existing files are kept unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd); err != nil {
				return err
			}
			if pubPath == "" {
				pubPath = filepath.Join(filepath.Dir(privPath), "signing.pub")
			}
			pass := os.Getenv(audit.PassphraseEnv)
			if encrypt && pass == "" {
				return fmt.Errorf("--encrypt: %s is empty", audit.PassphraseEnv)
			}
			if !force {
				for _, p := range []string{privPath, pubPath} {
					if _, err := os.Stat(p); err == nil {
						return fmt.Errorf("%s exists (use --force to replace it)", p)
					}
				}
			}
			privPEM, pubPEM, err := audit.GenerateSigningKey(audit.PassphraseFromEnv())
			if err != nil {
				return err
			}
			if err := writeKeyFile(privPath, privPEM, 0o600); err != nil {
				return err
			}
			if err := writeKeyFile(pubPath, pubPEM, 0o644); err != nil {
				return err
			}
			pub, err := cryptoutils.UnmarshalPEMToPublicKey(pubPEM)
			if err != nil {
				return err
			}
			id, err := audit.KeyID(pub)
			if err != nil {
				return err
			}
			state := "unencrypted"
			if pass != "" {
				state = "encrypted with " + audit.PassphraseEnv
			}
			fmt.Fprintf(cmd.OutOrStdout(), "private key: %s (%s)\npublic key:  %s\nkey id:      %s\n", privPath, state, pubPath, id)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&privPath, "private-key", "signing.key", "where to write the private key")
	f.StringVar(&pubPath, "public-key", "", "where to write the public key (default: signing.pub beside the private key)")
	f.BoolVar(&encrypt, "encrypt", false, "require "+audit.PassphraseEnv+" and encrypt the private key with it")
	f.BoolVar(&force, "force", false, "replace existing key files")
	return cmd
}

// writeKeyFile writes data with exactly mode perm, whatever the umask or an
// existing file's mode: into a fresh temporary file of its own (O_EXCL, so no
// planted file or symlink receives the key), synced, then renamed into place.
func writeKeyFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
