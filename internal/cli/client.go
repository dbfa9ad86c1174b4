package cli

import (
	"flag"

	"github.com/baton-dev/baton/internal/api"
)

// serverFlag adds --server to a client command's flags.
func serverFlag(fs *flag.FlagSet, env *Env) *string {
	def := env.Getenv("BATON_SERVER")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	return fs.String("server", def, "baton server `url` (env BATON_SERVER)")
}

func newClient(server string) *api.Client { return api.NewClient(server) }
