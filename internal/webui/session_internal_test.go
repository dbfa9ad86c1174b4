package webui

import (
	"crypto/tls"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/secret"
)

// Under TLS the session cookie is Secure and takes the __Host- prefix,
// which browsers only keep when it is Secure, for / and without a Domain.
func TestSessionCookieUnderTLS(t *testing.T) {
	u := &UI{o: Options{Sealer: secret.NewKeyring(secret.GenerateKey()), Now: time.Now, SessionTTL: time.Hour}}
	for _, tc := range []struct {
		tls  bool
		want []string
		not  []string
	}{
		{true, []string{"__Host-baton_session=", "Secure", "HttpOnly", "SameSite=Strict", "Path=/"}, []string{"Domain"}},
		{false, []string{"baton_session=", "HttpOnly", "SameSite=Strict", "Path=/"}, []string{"Secure", "__Host-", "Domain"}},
	} {
		r := httptest.NewRequest("POST", "/signin", nil)
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		if err := u.setSession(w, r, []byte("hash")); err != nil {
			t.Fatal(err)
		}
		c := w.Header().Get("Set-Cookie")
		for _, want := range tc.want {
			if !strings.Contains(c, want) {
				t.Errorf("tls=%v: cookie %q lacks %s", tc.tls, c, want)
			}
		}
		for _, not := range tc.not {
			if strings.Contains(c, not) {
				t.Errorf("tls=%v: cookie %q has %s", tc.tls, c, not)
			}
		}
	}
}
