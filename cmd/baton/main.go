// Command baton runs multi-step scripts as containers and hands variables
// from one step to the next.
package main

import (
	"os"

	"github.com/baton-dev/baton/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
