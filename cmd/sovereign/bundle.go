package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sovereign-engine/sovereign/bundles"
	"github.com/sovereign-engine/sovereign/engine"
)

func newBundleCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Build, sign, verify and inspect OPA policy bundles",
	}
	cmd.AddCommand(newBundleBuildCmd(), newBundleVerifyCmd(), newBundleInspectCmd(), newBundleTestCmd())
	return cmd
}

func newBundleBuildCmd() *cobra.Command {
	var out string
	var o bundles.BuildOptions
	cmd := &cobra.Command{
		Use:   "build DIR -o FILE [--revision R] [--signing-key KEY]",
		Short: "Compile a policy directory into an OPA bundle (.tar.gz), signed when a key is given",
		Long: `Builds DIR the way 'opa build --bundle DIR' does, so the result loads in OPA
('opa run --bundle FILE --verification-key KEY') and here. The bundle must compile
and must answer the queries of docs/policy-contract.md. With --signing-key (an RSA
or ECDSA PEM private key; OPA does not sign with Ed25519) it carries a
.signatures.json; the algorithm follows the key unless --signing-alg is given.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("bundle build: -o FILE is required")
			}
			dir := args[0]
			tmp, err := os.CreateTemp(filepath.Dir(out), ".bundle-*.tar.gz")
			if err != nil {
				return fmt.Errorf("bundle build: %w", err)
			}
			defer os.Remove(tmp.Name())
			if err := bundles.Build(cmd.Context(), dir, tmp, o); err != nil {
				tmp.Close()
				return err
			}
			if err := tmp.Close(); err != nil {
				return fmt.Errorf("bundle build: %w", err)
			}
			// Refuse a bundle the engine could not serve before it replaces anything.
			p, err := engine.LoadPolicy(tmp.Name())
			if err != nil {
				return fmt.Errorf("bundle build: the built bundle does not load: %w", err)
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return fmt.Errorf("bundle build: %w", err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "built %s: revision %q, digest %s, signed %v\n", out, p.Revision, p.Digest, o.SigningKey != "")
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "bundle file to write (.tar.gz)")
	f.StringVar(&o.Revision, "revision", "", "revision to record in the manifest (default: the manifest's)")
	f.StringVar(&o.SigningKey, "signing-key", "", "PEM private key (RSA or ECDSA) to sign the bundle with")
	f.StringVar(&o.Algorithm, "signing-alg", "", "JWS algorithm (default: RS256 for RSA keys, ES256/384/512 for ECDSA)")
	f.StringVar(&o.KeyID, "key-id", bundles.DefaultKeyID, "key id recorded in the signature (OPA's --verification-key-id)")
	return cmd
}

func newBundleVerifyCmd() *cobra.Command {
	var keyFlags []string
	var alg string
	var format *outputFormat
	cmd := &cobra.Command{
		Use:   "verify FILE --public-key KEY",
		Short: "Check a bundle's signature and file hashes (exit 1 if it does not verify)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := format.json()
			if err != nil {
				return err
			}
			keys, err := publicKeys(keyFlags, alg)
			if err != nil {
				return err
			}
			b, err := bundles.Read(args[0], keys)
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("bundle %s does not verify: %w", args[0], err)}
			}
			p, err := engine.CompilePolicy(b)
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("bundle %s verifies but does not load: %w", args[0], err)}
			}
			signers, err := bundles.Signers(b.Signatures)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), struct {
					File     string           `json:"file"`
					Verified bool             `json:"verified"`
					Revision string           `json:"revision"`
					Digest   string           `json:"digest"`
					Signers  []bundles.Signer `json:"signers"`
				}{args[0], true, p.Revision, p.Digest, signers})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "ok: %s revision %q digest %s signed by %s\n", args[0], p.Revision, p.Digest, signerList(signers))
			return err
		},
	}
	format = addOutputFormat(cmd)
	cmd.Flags().StringArrayVar(&keyFlags, "public-key", nil, "PEM public key, or ID=PATH for a named key; repeat for several")
	cmd.Flags().StringVar(&alg, "signing-alg", "", "JWS algorithm of the keys (default: from the key type)")
	return cmd
}

func publicKeys(flags []string, alg string) ([]bundles.PublicKey, error) {
	if len(flags) == 0 {
		return nil, errors.New("--public-key is required: bundles are verified by default")
	}
	var keys []bundles.PublicKey
	for _, f := range flags {
		k, err := bundles.ParsePublicKeyFlag(f)
		if err != nil {
			return nil, err
		}
		k.Algorithm = alg
		keys = append(keys, k)
	}
	return keys, nil
}

// bundleInfo is what `bundle inspect` reports.
type bundleInfo struct {
	File       string           `json:"file"`
	FileSHA256 string           `json:"file_sha256"`
	Revision   string           `json:"revision"`
	Digest     string           `json:"digest"`
	Roots      []string         `json:"roots"`
	Files      []string         `json:"files"`
	Signers    []bundles.Signer `json:"signers"`
	Metadata   map[string]any   `json:"metadata,omitempty"`
}

func newBundleInspectCmd() *cobra.Command {
	var format *outputFormat
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Print a bundle's revision, digest, roots, files and signer (signature not verified: use verify)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			asJSON, err := format.json()
			if err != nil {
				return err
			}
			b, err := bundles.Read(args[0], nil)
			if err != nil {
				return err
			}
			info := bundleInfo{File: args[0], Revision: b.Manifest.Revision, Metadata: b.Manifest.Metadata}
			if info.Digest, err = bundles.Digest(b); err != nil {
				return err
			}
			if st, err := os.Stat(args[0]); err == nil && !st.IsDir() {
				if info.FileSHA256, err = bundles.FileDigest(args[0]); err != nil {
					return err
				}
			}
			if b.Manifest.Roots != nil {
				info.Roots = *b.Manifest.Roots
			}
			for _, m := range b.Modules {
				info.Files = append(info.Files, m.Path)
			}
			sort.Strings(info.Files)
			sc, err := bundles.ReadSignatures(args[0])
			if err != nil {
				return err
			}
			if info.Signers, err = bundles.Signers(sc); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(w, info)
			}
			fmt.Fprintf(w, "file:        %s\n", info.File)
			if info.FileSHA256 != "" {
				fmt.Fprintf(w, "file hash:   %s (the bytes as distributed)\n", info.FileSHA256)
			}
			fmt.Fprintf(w, "revision:    %s\ndigest:      %s (content, as recorded in decisions)\nroots:       %s\n", info.Revision, info.Digest, strings.Join(info.Roots, ", "))
			if len(info.Signers) == 0 {
				fmt.Fprintln(w, "signed:      no")
			} else {
				fmt.Fprintf(w, "signed by:   %s (not verified here: use bundle verify)\n", signerList(info.Signers))
			}
			fmt.Fprintf(w, "modules:     %d\n", len(info.Files))
			for _, f := range info.Files {
				fmt.Fprintf(w, "  %s\n", f)
			}
			return nil
		},
	}
	format = addOutputFormat(cmd)
	return cmd
}
