package api

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// A browser is a client too, and a web page can make it send requests to
// baton. Three checks keep pages out, whatever the mode:
//
//   - checkSite refuses what the browser says comes from another site
//     (Sec-Fetch-Site, Origin), except safe reads of the public routes.
//   - checkContentType refuses changes whose body is not of the route's
//     type: the types a page may send anywhere without asking first (a
//     form's, text/plain) are never among them, and the browser's asking
//     first (CORS preflight) is never granted.
//   - checkHost, without tokens (--dev), refuses a Host that is not a
//     loopback name: a page on a name that resolves to 127.0.0.1 (DNS
//     rebinding) is same-origin to the browser, but names its own host.

// checkHost answers 403 and returns false when the server serves without
// tokens and the request names a host other than localhost, 127.0.0.0/8 or
// [::1], with any port.
func (s *Server) checkHost(w http.ResponseWriter, r *http.Request) bool {
	if !s.loopbackOnly || IsLoopbackHost(r.Host) {
		return true
	}
	refuse(w, r, http.StatusForbidden, fmt.Sprintf("host %s is not a loopback name: without tokens (--dev) baton answers only requests for localhost, 127.0.0.1 or [::1], which keeps web pages on other names out (DNS rebinding)", quoteShort(r.Host)))
	return false
}

// IsLoopbackHost reports whether a Host header names this machine's
// loopback: localhost (or a name under .localhost), an address in
// 127.0.0.0/8 or ::1, with or without a port.
func IsLoopbackHost(host string) bool {
	if h, port, err := net.SplitHostPort(host); err == nil {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return false
		}
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || addr.Zone() != "" {
		return false
	}
	return addr.Unmap().IsLoopback()
}

// checkSite answers 403 and returns false for a request a browser made on
// behalf of another site. Sec-Fetch-Site (sent by current browsers) must be
// same-origin or none (typed by the user), and an Origin header must name
// the host the request is for. Clients that are not browsers send neither.
// GET and HEAD of a public route pass: what they answer is public, and a
// page cannot read it anyway.
func checkSite(w http.ResponseWriter, r *http.Request, public bool) bool {
	if public && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		return true
	}
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		refuse(w, r, http.StatusForbidden, fmt.Sprintf("cross-site request refused: the browser says it comes from another site (Sec-Fetch-Site: %s); baton's API serves no other web site", quoteShort(site)))
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if u, err := url.Parse(origin); err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	refuse(w, r, http.StatusForbidden, fmt.Sprintf("cross-origin request refused: Origin %s is not this server (Host %s); baton's API serves no other web site", quoteShort(origin), quoteShort(r.Host)))
	return false
}

// checkContentType answers 415 and returns false when a change's body is
// not of a type the route takes. POST always needs one, body or not: it is
// the method a page may send anywhere. Other methods need one when they
// carry a body.
func checkContentType(w http.ResponseWriter, r *http.Request, rt route) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	ctype := r.Header.Get("Content-Type")
	if ctype == "" && r.Method != http.MethodPost && r.ContentLength == 0 {
		return true
	}
	accepts := rt.accepts
	if accepts == nil {
		accepts = jsonBody
	}
	if mt, _, err := mime.ParseMediaType(ctype); err == nil && slices.Contains(accepts, mt) {
		return true
	}
	got := "none"
	if ctype != "" {
		got = quoteShort(ctype)
	}
	refuse(w, r, http.StatusUnsupportedMediaType, fmt.Sprintf("%s %s needs Content-Type: %s (got %s)", r.Method, r.URL.Path, strings.Join(accepts, " or "), got))
	return false
}

// quoteShort quotes a header value for an error message, cut to 100 bytes.
func quoteShort(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return fmt.Sprintf("%q", s)
}
