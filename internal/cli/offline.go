package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/auth"
	"github.com/baton-dev/baton/internal/config"
	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlite"
	"github.com/baton-dev/baton/internal/vault"
)

// offline is a data dir's store opened without a server, for the commands
// that change it directly (--local). It holds the data dir's lock, so it is
// refused while a server or exec uses the dir.
type offline struct {
	dataDir string
	st      *sqlite.Store
	unlock  func() error
}

// openOffline locks dataDir and opens its store; instead says what to do
// when a server holds the dir.
func openOffline(ctx context.Context, dataDir, instead string) (*offline, error) {
	lock, err := lockDataDir(dataDir)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, instead)
	}
	// With the identity file, as a server opens it: a data dir whose
	// database went missing is refused, not started afresh.
	st, err := sqlite.Open(ctx, filepath.Join(dataDir, "baton.db"), sqlite.Options{
		IdentityFile: filepath.Join(dataDir, sqlite.IdentityFileName)})
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("open store in %s: %w", dataDir, err)
	}
	return &offline{dataDir: dataDir, st: st, unlock: lock.Close}, nil
}

func (o *offline) close() {
	o.st.Close()
	o.unlock()
}

// audit records a change made with --local, as the API records its own.
func (o *offline) audit(ctx context.Context, action, target, detail string) error {
	return auditLocal(ctx, o.st, action, target, detail)
}

// auditLocal records a change made straight in a store, without a server,
// under the actor "local".
func auditLocal(ctx context.Context, st store.Store, action, target, detail string) error {
	return st.AuditAppend(ctx, &store.AuditEntry{Time: time.Now(), Actor: "local", Action: action, Target: target, Detail: detail})
}

// setLocalSecret seals a secret into a data dir's store directly, as the
// server would, for runs that 'baton exec' makes there.
func setLocalSecret(ctx context.Context, env *Env, dataDir, name string, value []byte) error {
	o, err := openOffline(ctx, dataDir, "with a server running, set secrets through it, without --local")
	if err != nil {
		return err
	}
	defer o.close()
	ring, err := loadKeyring(env, &config.Config{DataDir: dataDir})
	if err != nil {
		return err
	}
	if err := vault.New(o.st, ring).Set(ctx, name, value, time.Now()); err != nil {
		return err
	}
	return o.audit(ctx, "secret.set", name, "")
}

// createLocalToken makes an API token in a store directly: the way back in
// after the last admin token was revoked or lost. The store is a data
// dir's, which no server may be using, or, with storeURL, a PostgreSQL
// store that servers share and may go on using meanwhile.
func createLocalToken(ctx context.Context, dataDir, storeURL, name, roleName string) (*api.Token, error) {
	role, err := auth.ParseRole(roleName)
	if err != nil {
		return nil, usageError{msg: err.Error()}
	}
	var st store.Store
	where := dataDir
	if !sqliteStore(&config.Config{Store: storeURL}) {
		if st, err = openSharedStore(ctx, storeURL); err != nil {
			return nil, err
		}
		defer st.Close()
		where = "the PostgreSQL store"
	} else {
		o, err := openOffline(ctx, dataDir, "with a server running, create tokens through it, without --local")
		if err != nil {
			return nil, err
		}
		defer o.close()
		st = o.st
	}
	token, row, err := auth.Create(ctx, st, name, role, time.Now())
	if errors.Is(err, store.ErrExists) {
		return nil, fmt.Errorf("a token named %q exists in %s; choose another name", name, where)
	}
	if err != nil {
		return nil, err
	}
	if err := auditLocal(ctx, st, "token.create", row.Name, "role "+row.Role); err != nil {
		return nil, err
	}
	return &api.Token{Name: row.Name, Role: row.Role, CreatedAt: row.CreatedAt, Token: token}, nil
}
