// Package mysqltest gives tests a fresh, empty MySQL/MariaDB database for the
// audit log's mysql backend, on the server named by SOVEREIGN_TEST_MYSQL_DSN
// (scripts/mariadb.sh starts one and prints it). Without it the test is
// skipped, unless SOVEREIGN_REQUIRE_ALL=1 (set by .ci/run) or
// SOVEREIGN_REQUIRE_MYSQL=1, which fail it: CI never silently skips the
// database tests.
package mysqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sovereign-engine/sovereign/internal/testenv"
)

// Environment variables read by DSN.
const (
	DSNEnv     = "SOVEREIGN_TEST_MYSQL_DSN"
	RequireEnv = "SOVEREIGN_REQUIRE_MYSQL"
)

// DSN creates a database of its own for t on the test server and returns its
// DSN; the database is dropped when t ends. The server's user needs CREATE
// and DROP on databases named sovereign_*.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(DSNEnv)
	testenv.Need(t, base != "", "MariaDB: "+DSNEnv+" unset (make deps installs it; eval \"$(scripts/mariadb.sh start)\" starts one)", RequireEnv)
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatalf("%s: %v", DSNEnv, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "sovereign_t_" + hex.EncodeToString(b[:])
	admin := cfg.Clone()
	admin.DBName = ""
	db, err := sql.Open("mysql", admin.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE "+name); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
		db.Close()
	})
	own := cfg.Clone()
	own.DBName = name
	return own.FormatDSN()
}
