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
//
// A policy that is not the zero Policy refuses image IDs (see [IsImageID]):
// an ID names content, not a repository, so no pattern can speak for it,
// and an engine may resolve a short one to any image it holds.
func (p Policy) Check(image string) error {
	if (len(p.Allow) > 0 || p.RequireDigest) && IsImageID(image) {
		hint := "name the image by repository, such as registry.example/team/app@sha256:<digest>"
		if !strings.Contains(image, ":") {
			hint += ", or write docker.io/library/" + image + " if that is its name"
		}
		return fmt.Errorf("imagepolicy: image %q: %w: it is, or may be taken for, an image ID, which names no repository the policy could allow; %s",
			image, ErrDenied, hint)
	}
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

// IsImageID reports whether an engine may resolve ref as an image ID, or
// the start of one, rather than as a name: "sha256:<hex>" (whole or short),
// another digest algorithm's "<alg>:<hex>", and a bare lowercase hex
// string with no registry, path, tag or digest, such as "b920ae9ec139". The
// Docker engine looks a bare name up as a tag first and then as an ID
// prefix, so such a name may run an image no pattern allows.
func IsImageID(ref string) bool {
	hex := ref
	if alg, rest, ok := strings.Cut(ref, ":"); ok {
		switch alg {
		case "sha256", "sha384", "sha512":
		default:
			return false
		}
		hex = rest
		if hex == "" {
			return true
		}
	}
	if hex == "" {
		return false
	}
	for i := 0; i < len(hex); i++ {
		if c := hex[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
