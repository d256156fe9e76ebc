package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
				pubPath = publicKeyPath(privPath)
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
	f.StringVar(&pubPath, "public-key", "", "where to write the public key (default: the private key's name with .pub: k2.pem -> k2.pub)")
	f.BoolVar(&encrypt, "encrypt", false, "require "+audit.PassphraseEnv+" and encrypt the private key with it")
	f.BoolVar(&force, "force", false, "replace existing key files")
	return cmd
}

// publicKeyPath names the public key after the private one: signing.key ->
// signing.pub, k2.pem -> k2.pub, key -> key.pub.
func publicKeyPath(priv string) string {
	ext := filepath.Ext(priv)
	if ext == ".pub" {
		return priv + ".pub"
	}
	return strings.TrimSuffix(priv, ext) + ".pub"
}

// writeKeyFile writes data with exactly mode perm, whatever the umask or an
// existing file's mode (see audit.WriteFileAtomic).
func writeKeyFile(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return audit.WriteFileAtomic(path, data, perm)
}
