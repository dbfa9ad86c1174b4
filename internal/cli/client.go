package cli

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/auth"
)

// remote holds the flags every client command shares.
type remote struct {
	env    *Env
	server *string
	token  *string
}

// remoteFlags adds --server and --token to a client command's flags.
func remoteFlags(fs *cmdFlags, env *Env) *remote {
	def := env.Getenv("BATON_SERVER")
	if def == "" {
		def = "http://127.0.0.1:8080"
	}
	return &remote{
		env:    env,
		server: fs.String("server", def, "baton server `url` (env BATON_SERVER)"),
		token: fs.String("token", "", "API `token` (env BATON_API_TOKEN; default: admin.token in the local data dir, "+
			"which a server on this machine writes at its first start)"),
	}
}

// client returns an API client with the token from the flag, the
// environment, or the local data dir, in that order.
func (r *remote) client() *api.Client {
	c := api.NewClient(*r.server)
	c.Token = *r.token
	if c.Token == "" {
		c.Token = r.env.Getenv("BATON_API_TOKEN")
	}
	if c.Token == "" {
		if b, err := os.ReadFile(filepath.Join(defaultDataDir(r.env), auth.AdminTokenFile)); err == nil {
			c.Token = strings.TrimSpace(string(b))
		}
	}
	return c
}
