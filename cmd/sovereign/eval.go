package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
)

func newEvalCmd() *cobra.Command {
	var inventory, bundlePath, input string
	var printInput bool
	cmd := &cobra.Command{
		Use:   "eval placement|transfer --inventory DIR --input FILE|-",
		Short: "Decide one request offline and print the decision (exit 0 allowed, 1 denied, 2 error)",
		Long: `Evaluates one placement or transfer request, shaped as the HTTP API's request
body, against a policy bundle and an inventory, and prints the decision JSON.
Nothing is written to the audit log: eval is for policy authors and CI, not for
decisions anyone acts on.

Exit codes: 0 allowed, 1 denied, 2 error (bad input, bad inventory, bad bundle).`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{engine.KindPlacement, engine.KindTransfer},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd); err != nil {
				return err
			}
			kind := args[0]
			if kind != engine.KindPlacement && kind != engine.KindTransfer {
				return fmt.Errorf("eval: unknown kind %q: want placement or transfer", kind)
			}
			if inventory == "" {
				return errors.New("eval: --inventory is required")
			}
			body, err := readInput(cmd.InOrStdin(), input)
			if err != nil {
				return err
			}
			eng, err := openEngine(cmd.Context(), bundlePath, inventory)
			if err != nil {
				return err
			}
			req, err := decodeEvalInput(kind, body)
			if err != nil {
				var derr *engine.DecodeError
				if errors.As(err, &derr) && derr.Field != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "input:%s: %s\n", derr.Field.Path, derr.Field.Message)
				}
				return fmt.Errorf("eval: input: %w", err)
			}
			return evalRequest(cmd, eng, req, printInput)
		},
	}
	cmd.Flags().StringVar(&inventory, "inventory", "", "inventory directory (YAML/JSON files)")
	cmd.Flags().StringVar(&bundlePath, "bundle", "", "policy bundle: a directory or an OPA .tar.gz (default: the built-in bundle)")
	cmd.Flags().StringVarP(&input, "input", "i", "-", "request file, or - for standard input")
	cmd.Flags().BoolVar(&printInput, "print-input", false, "print the Rego input document instead of deciding (for opa eval / opa run)")
	return cmd
}

// evalRequest prints the policy input of a request, or decides it and prints
// the decision (errDenied when it denies).
func evalRequest(cmd *cobra.Command, eng *engine.Engine, req any, printInput bool) error {
	if printInput {
		in, err := eng.PolicyInput(req)
		if err != nil {
			return evalError(cmd, err)
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", in)
		return err
	}
	var d *engine.Decision
	var err error
	switch r := req.(type) {
	case *engine.PlacementRequest:
		d, err = eng.Placement(cmd.Context(), r)
	case *engine.TransferRequest:
		d, err = eng.Transfer(cmd.Context(), r)
	}
	if err != nil {
		return evalError(cmd, err)
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return err
	}
	if !d.Allowed {
		return errDenied
	}
	return nil
}

// evalError lists an invalid request's problems on standard error, one a
// line, as input:path: message.
func evalError(cmd *cobra.Command, err error) error {
	var invalid *engine.ValidationError
	if errors.As(err, &invalid) {
		for _, p := range invalid.Problems {
			fmt.Fprintf(cmd.ErrOrStderr(), "input:%s: %s\n", p.Path, p.Message)
		}
	}
	return fmt.Errorf("eval: %w", err)
}

// decodeEvalInput decodes a request body as the server does: the engine's
// strict decoder, then the audit log's canonical form, which the server
// requires of every body it records.
func decodeEvalInput(kind string, body []byte) (any, error) {
	var req any
	var err error
	if kind == engine.KindPlacement {
		req, err = engine.DecodePlacementRequest(body)
	} else {
		req, err = engine.DecodeTransferRequest(body)
	}
	if err != nil {
		return nil, err
	}
	if _, err := audit.Canonicalize(body); err != nil {
		return nil, fmt.Errorf("request is not canonical-JSON-safe: %w", err)
	}
	return req, nil
}

func readInput(stdin io.Reader, path string) ([]byte, error) {
	if path == "-" || path == "" {
		b, err := io.ReadAll(io.LimitReader(stdin, api.DefaultMaxBodyBytes+1))
		if err != nil {
			return nil, fmt.Errorf("read input: %w", err)
		}
		if len(b) > api.DefaultMaxBodyBytes {
			return nil, fmt.Errorf("read input: more than %d bytes", api.DefaultMaxBodyBytes)
		}
		return b, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	return b, nil
}
