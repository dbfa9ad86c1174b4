package webui

import (
	"net/http"

	"github.com/baton-dev/baton/internal/store"
)

type auditData struct {
	Entries []*store.AuditEntry
	Next    string
}

func (d *auditData) title() (string, string) { return "Audit log", "audit" }

// auditPage shows the latest changes made through the API and the UI.
func (u *UI) auditPage(w http.ResponseWriter, r *http.Request, usr *user) {
	rows, err := u.o.Store.AuditList(r.Context(), &store.AuditListParams{Limit: 200})
	if err != nil {
		u.storeFail(w, r, usr, err)
		return
	}
	u.render(w, r, usr, http.StatusOK, "audit", &auditData{Entries: rows})
}
