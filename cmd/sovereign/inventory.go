package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sovereign-engine/sovereign/engine"
)

func newInventoryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "Check and export site, dataset and workload inventories",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate DIR",
		Short: "Validate an inventory directory; list every error as file:field.path: message (exit 1 on any)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, err := engine.LoadInventory(args[0])
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "ok: %d sites, %d datasets, %d workloads, revision %s\n",
				len(inv.Sites), len(inv.Datasets), len(inv.Workloads), inv.Revision)
			return err
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "export DIR",
		Short: "Print the inventory as the OPA data document {\"inventory\": ...}, for opa eval / opa run",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, err := engine.LoadInventory(args[0])
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"inventory": inv.RegoData()})
		},
	})
	return cmd
}
