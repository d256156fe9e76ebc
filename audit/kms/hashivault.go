//go:build !sovereign_nokms

package kms

import _ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault" // registers hashivault key URIs
