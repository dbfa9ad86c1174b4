// Package imagepolicy decides which container images steps may run: an
// allow list of patterns over normalized image names, and optionally a
// requirement that every image be pinned by digest.
package imagepolicy

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/distribution/reference"
)

// ErrDenied is wrapped by [Policy.Check] errors for images the policy
// refuses, as opposed to references that do not parse.
var ErrDenied = errors.New("image not allowed")

// Policy says which images steps may run. The zero Policy allows every
// image.
type Policy struct {
	// Allow are glob patterns, in the syntax of [path.Match], over the
	// image's normalized name without tag or digest, such as
	// "docker.io/library/busybox". As in image references, a pattern
	// without a registry means Docker Hub, and one without a slash Docker
	// Hub's library: "baton-test/*" is "docker.io/baton-test/*" and
	// "alpine" is "docker.io/library/alpine". A * never crosses a slash, so
	// "registry.example/team/*" allows team/app but not team/sub/app. An
	// empty list allows every image.
	Allow []string
	// RequireDigest refuses images not pinned by content, as
	// name@sha256:…; a tag alone can be moved to other content.
	RequireDigest bool
}

// Check returns nil if the policy allows image, else an error that names
// the image and the rule that refused it, wrapping [ErrDenied]. A reference
// that does not parse is an error too, not wrapping ErrDenied; so is an
// empty one: steps without an image are not for Check.
func (p Policy) Check(image string) error {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return fmt.Errorf("imagepolicy: image %q: %w", image, err)
	}
	if p.RequireDigest {
		if _, ok := named.(reference.Canonical); !ok {
			return fmt.Errorf("imagepolicy: image %q: %w: the policy requires a digest; pin it as %s@sha256:<digest>",
				image, ErrDenied, named.Name())
		}
	}
	if len(p.Allow) == 0 {
		return nil
	}
	name := named.Name()
	for _, pat := range p.Allow {
		ok, err := path.Match(normalizePattern(pat), name)
		if err != nil {
			return fmt.Errorf("imagepolicy: allow pattern %q: %w", pat, err)
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("imagepolicy: image %q (%s): %w: it matches none of the allowed patterns %s; use an allowed image or add a pattern for it",
		image, name, ErrDenied, quoteAll(p.Allow))
}

// Validate reports patterns that are not valid globs or that carry a tag or
// digest, which could never match a name, so configuration errors surface
// at load time rather than as refused steps.
func (p Policy) Validate() error {
	var errs []error
	for _, pat := range p.Allow {
		if _, err := path.Match(normalizePattern(pat), ""); err != nil {
			errs = append(errs, fmt.Errorf("imagepolicy: allow pattern %q: %w", pat, err))
			continue
		}
		last := pat[strings.LastIndex(pat, "/")+1:]
		if pat == "" || strings.Contains(pat, "@") || strings.Contains(last, ":") {
			errs = append(errs, fmt.Errorf("imagepolicy: allow pattern %q: patterns match image names without tag or digest, such as docker.io/library/*", pat))
		}
	}
	return errors.Join(errs...)
}

// normalizePattern spells a pattern the way [reference.ParseNormalizedNamed]
// spells names: the same rule decides whether the first component is a
// registry (it has a dot or a port, is localhost, or has capitals), and
// Docker Hub names of one component are in its library.
func normalizePattern(pat string) string {
	domain, rest, ok := strings.Cut(pat, "/")
	if !ok || !strings.ContainsAny(domain, ".:") && domain != "localhost" && strings.ToLower(domain) == domain {
		domain, rest = "docker.io", pat
	}
	if domain == "index.docker.io" {
		domain = "docker.io"
	}
	if domain == "docker.io" && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	return domain + "/" + rest
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
