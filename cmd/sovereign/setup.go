package main

import (
	"context"
	"fmt"

	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policies"
)

// loadPolicy reads the bundle at path, or the built-in one when path is empty.
func loadPolicy(path string) (*engine.Policy, error) {
	if path == "" {
		p, err := engine.LoadPolicyFS(policies.Bundle)
		if err != nil {
			return nil, fmt.Errorf("built-in bundle: %w", err)
		}
		return p, nil
	}
	p, err := engine.LoadPolicy(path)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	return p, nil
}

// openEngine loads a policy and an inventory and prepares an engine on them.
func openEngine(ctx context.Context, bundlePath, inventoryDir string) (*engine.Engine, error) {
	p, err := loadPolicy(bundlePath)
	if err != nil {
		return nil, err
	}
	inv, err := engine.LoadInventory(inventoryDir)
	if err != nil {
		return nil, err
	}
	return engine.New(ctx, p, inv)
}
