// Package tesseraposix is Tessera's POSIX storage driver
// (github.com/transparency-dev/tessera/storage/posix, v1.0.4, Apache 2.0:
// see LICENSE), carried here with one change, so that no fault of the log's
// storage can end the server.
//
// Upstream panics when it cannot open or lock .state/treeState.lock before
// sequencing a batch (and while initialising): a read-only .state, a file
// system that remounted itself read-only after an I/O error, a process out
// of file descriptors. The batch is sequenced on Tessera's queue goroutine,
// where no caller can recover, so one such fault ended the process after it
// had answered a decision (issue #19 item 5). Here those are errors: the
// batch fails, its entries stay in Sovereign's journal, and the integrator
// retries them while the API answers 503. A failed lock no longer leaks its
// descriptor either.
//
// Also dropped: the migration writer (Sovereign does not migrate logs) and
// the packages it needed. Everything else, the on-disk layout included, is
// upstream's, so logs written before and after are the same log, and
// Tessera's own clients read it. The subpackages are copies of Tessera's
// internal packages the driver imports (storage/internal, internal/parse,
// internal/fetcher, internal/otel, internal/future), unchanged but for their
// import paths.
//
// To move to a Tessera release that returns these errors itself, delete this
// package and import storage/posix again in audit/backend.go; the tests of
// package audit (TestTreeStateFaultIsAnErrorNotACrash) and the fault suite
// of cmd/sovereign (TestFaultLogReadOnly) tell whether it does.
package tesseraposix
