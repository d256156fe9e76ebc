// Package doctest runs the shell blocks of README.md and docs/*.md as a user
// would, in a fresh copy of the repository (its test, docs_test.go). It holds
// no code of its own: docs are checked by executing them.
package doctest
