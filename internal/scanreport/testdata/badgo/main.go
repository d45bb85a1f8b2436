// Package main is deliberately bad code: the scanners in the intake tests
// run over it to produce real SARIF reports. Never build it for use.
package main

import (
	"crypto/md5"
	"database/sql"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
)

const password = "hunter2-super-secret-password"

func query(db *sql.DB, name string) {
	rows, _ := db.Query("SELECT * FROM users WHERE name = '" + name + "'")
	_ = rows
}

func run(cmd string) {
	exec.Command("sh", "-c", cmd).Run()
}

func hash(b []byte) []byte {
	h := md5.Sum(b)
	return h[:]
}

func token() int {
	return rand.Int()
}

func unused() {}

func main() {
	f, _ := os.OpenFile("/tmp/x", os.O_CREATE|os.O_WRONLY, 0777)
	defer f.Close()
	if token() == 0 {
		fmt.Printf("%d", "not a number")
	}
	http.ListenAndServe(":8080", nil)
	query(nil, os.Args[1])
	run(os.Args[2])
	_ = hash(nil)
	_ = password
}
