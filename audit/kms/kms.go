// Package kms links sigstore's KMS providers into the binary, so that
// audit.Options.SigningKey accepts awskms://, gcpkms://, azurekms:// and
// hashivault:// key URIs. Import it for its side effect; building with the tag
// sovereign_nokms leaves the providers (about 28 MB of cloud SDKs) out.
package kms

import "github.com/sigstore/sigstore/pkg/signature/kms"

// Providers lists the key URI prefixes the linked-in providers handle.
func Providers() []string { return kms.SupportedProviders() }
