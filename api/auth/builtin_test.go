package auth

import "testing"

func TestBuiltinValidates(t *testing.T) {
	set, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	t.Log(set.IDs())
}
