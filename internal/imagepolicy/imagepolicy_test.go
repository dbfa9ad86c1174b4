package imagepolicy

import (
	"errors"
	"strings"
	"testing"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestCheck(t *testing.T) {
	t.Parallel()
	team := Policy{Allow: []string{"registry.example/team/*", "docker.io/library/*", "baton-test/*"}}
	pinned := Policy{RequireDigest: true}
	for _, tc := range []struct {
		name   string
		policy Policy
		image  string
		// want is "" for allowed, else substrings of the error.
		want []string
		// denied says the error wraps ErrDenied.
		denied bool
	}{
		{"empty policy allows all", Policy{}, "anything/at/all:v1", nil, false},
		{"library by short name", team, "busybox", nil, false},
		{"library by tag", team, "alpine:3.20", nil, false},
		{"library in full", team, "docker.io/library/alpine@" + digest, nil, false},
		{"hub user", team, "baton-test/busybox:latest", nil, false},
		{"private registry", team, "registry.example/team/app:1.2", nil, false},
		{"star stops at slash", team, "registry.example/team/sub/app", []string{`"registry.example/team/sub/app"`, `"registry.example/team/*"`, `"baton-test/*"`}, true},
		{"other hub user", team, "evil/busybox", []string{`"evil/busybox"`, "docker.io/evil/busybox", "none of the allowed patterns"}, true},
		{"other registry", team, "registry.other/team/app", []string{"registry.other/team/app"}, true},
		{"short pattern is library", Policy{Allow: []string{"alpine"}}, "docker.io/library/alpine:3", nil, false},
		{"short pattern not user", Policy{Allow: []string{"alpine"}}, "someone/alpine", []string{"someone/alpine"}, true},
		{"localhost registry", Policy{Allow: []string{"localhost:5000/*"}}, "localhost:5000/app", nil, false},
		{"index.docker.io pattern", Policy{Allow: []string{"index.docker.io/library/*"}}, "busybox", nil, false},
		{"digest required, tag given", pinned, "busybox:latest", []string{`"busybox:latest"`, "digest", "docker.io/library/busybox@sha256:"}, true},
		{"digest required, none given", pinned, "registry.example/app", []string{"registry.example/app@sha256:"}, true},
		{"digest given", pinned, "busybox@" + digest, nil, false},
		{"tag and digest given", pinned, "busybox:1@" + digest, nil, false},
		{"digest and allow list", Policy{Allow: team.Allow, RequireDigest: true}, "evil/x@" + digest, []string{"evil/x"}, true},
		{"empty reference", team, "", []string{`image ""`}, false},
		{"uppercase", team, "BusyBox", []string{`"BusyBox"`}, false},
		{"bad digest", pinned, "busybox@sha256:abc", []string{`"busybox@sha256:abc"`}, false},
		{"bad pattern", Policy{Allow: []string{"[unclosed"}}, "busybox", []string{`"[unclosed"`}, false},
		{"short image ID", team, "b920ae9ec139", []string{`"b920ae9ec139"`, "image ID", "docker.io/library/b920ae9ec139"}, true},
		{"full image ID", team, digest[len("sha256:"):], []string{"image ID"}, true},
		{"sha256 image ID", team, digest, []string{"image ID"}, true},
		{"short sha256 image ID", team, "sha256:b920ae", []string{"image ID"}, true},
		{"sha512 prefix", team, "sha512:abc", []string{"image ID"}, true},
		{"image ID, digest required", pinned, "b920ae9ec139", []string{"image ID"}, true},
		{"ID-like name spelled in full", team, "docker.io/library/b920ae9ec139", nil, false},
		{"ID-like name with tag", team, "b920ae9ec139:1", nil, false},
		{"hex name under a path", team, "baton-test/abc123", nil, false},
		{"image ID without a policy", Policy{}, "b920ae9ec139", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.policy.Check(tc.image)
			if len(tc.want) == 0 {
				if err != nil {
					t.Errorf("Check(%q) = %v, want nil", tc.image, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check(%q) = nil, want an error", tc.image)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check(%q) = %v, want it to contain %s", tc.image, err, w)
				}
			}
			if got := errors.Is(err, ErrDenied); got != tc.denied {
				t.Errorf("errors.Is(err, ErrDenied) = %v, want %v (err: %v)", got, tc.denied, err)
			}
		})
	}
}

func TestIsImageID(t *testing.T) {
	t.Parallel()
	for ref, want := range map[string]bool{
		"b920ae9ec139": true, "abc": true, "0": true, digest: true, digest[7:]: true,
		"sha256:b9": true, "sha256:": true, "sha512:00": true,
		"": false, "busybox": false, "cafe:1": false, "face/b00c": false, "library/abc": false,
		"busybox:1": false, "sha256": false, "B920AE": false, "abc@" + digest: false, "sha1:abc": false,
	} {
		if got := IsImageID(ref); got != want {
			t.Errorf("IsImageID(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	good := Policy{Allow: []string{"docker.io/library/*", "baton-test/*", "localhost:5000/app", "alpine"}}
	if err := good.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	for _, pat := range []string{"", "[bad", "busybox:latest", "team/app@sha256:abc", "localhost:5000/app:v1"} {
		if err := (Policy{Allow: []string{pat}}).Validate(); err == nil {
			t.Errorf("Validate(%q) = nil, want an error", pat)
		}
	}
}

func TestNormalizePattern(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"alpine":                  "docker.io/library/alpine",
		"*":                       "docker.io/library/*",
		"team/*":                  "docker.io/team/*",
		"docker.io/busybox":       "docker.io/library/busybox",
		"docker.io/library/*":     "docker.io/library/*",
		"index.docker.io/team/x":  "docker.io/team/x",
		"registry.example/team/*": "registry.example/team/*",
		"localhost/app":           "localhost/app",
		"host:5000/app":           "host:5000/app",
		"Registry/app":            "Registry/app",
		"ghcr.io/org/*":           "ghcr.io/org/*",
	} {
		if got := normalizePattern(in); got != want {
			t.Errorf("normalizePattern(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"busybox", "docker.io/library/alpine:3@" + digest, "localhost:5000/a/b", "", "@", ":", "a//b", "UPPER/x", "[", "x@sha256:"} {
		f.Add(s, "registry.example/team/*")
	}
	f.Fuzz(func(t *testing.T, image, pattern string) {
		for _, p := range []Policy{{}, {RequireDigest: true}, {Allow: []string{pattern}}, {Allow: []string{pattern, "*"}, RequireDigest: true}} {
			err := p.Check(image)
			if err != nil && !strings.Contains(err.Error(), "imagepolicy: ") {
				t.Errorf("Check(%q) error without context: %v", image, err)
			}
			_ = p.Validate()
		}
	})
}
