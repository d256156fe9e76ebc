//go:build !sovereign_nokms

package kms

import (
	"slices"
	"testing"
)

// The providers register by URI prefix when imported; no provider is called,
// since each would reach for cloud credentials over the network.
func TestProvidersRegistered(t *testing.T) {
	got := Providers()
	for _, want := range []string{"awskms://", "gcpkms://", "azurekms://", "hashivault://"} {
		if !slices.Contains(got, want) {
			t.Errorf("provider %s not registered; have %v", want, got)
		}
	}
}
