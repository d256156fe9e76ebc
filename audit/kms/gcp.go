//go:build !sovereign_nokms

package kms

import _ "github.com/sigstore/sigstore/pkg/signature/kms/gcp" // registers gcp key URIs
