//go:build !sovereign_nokms

package kms

import _ "github.com/sigstore/sigstore/pkg/signature/kms/aws" // registers aws key URIs
