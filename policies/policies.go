// Package policies holds Sovereign's built-in policy library: the Rego rules under
// sovereign/, their reference data under reference/ (data.reference), and the
// bundle manifest. It is embedded in the binary as the default bundle.
package policies

import "embed"

// Bundle is the built-in OPA bundle: .manifest (named explicitly, since go:embed
// skips dot-files found by walking a directory), the Rego modules and their tests
// under sovereign/, and reference/data.json. Files inside those directories whose
// names start with "." or "_" are not embedded.
//
//go:embed .manifest sovereign reference
var Bundle embed.FS

// Authz is the built-in Cedar authorization policy set: authz/schema.cedarschema
// and the authz/*.cedar policies validated against it (docs/authz.md). A bundle
// that carries its own (data.authz) replaces it.
//
//go:embed authz
var Authz embed.FS
