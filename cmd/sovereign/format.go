package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sovereign-engine/sovereign/bundles"
)

// outputFormat is the --format flag of a command that prints text for people
// or JSON for machines. --json, the older spelling, stays as a hidden alias.
type outputFormat struct {
	value  string
	asJSON bool
}

func addOutputFormat(cmd *cobra.Command) *outputFormat {
	o := &outputFormat{}
	cmd.Flags().StringVar(&o.value, "format", "text", "output: text or json")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "same as --format json")
	_ = cmd.Flags().MarkHidden("json")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return o
}

// json reports whether JSON was asked for; an unknown format is an error.
func (o *outputFormat) json() (bool, error) {
	switch {
	case o.asJSON || o.value == "json":
		return true, nil
	case o.value == "text":
		return false, nil
	}
	return false, fmt.Errorf("--format %q: want text or json", o.value)
}

// completeFormats completes the values of a command's --format flag.
func completeFormats(cmd *cobra.Command, formats ...string) {
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// signerList words bundle signers for people: key "default" (ES256).
func signerList(signers []bundles.Signer) string {
	if len(signers) == 0 {
		return "nobody (unsigned)"
	}
	parts := make([]string, len(signers))
	for i, s := range signers {
		parts[i] = fmt.Sprintf("key %q (%s)", s.KeyID, s.Algorithm)
	}
	return strings.Join(parts, ", ")
}
