package swarm

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/imagepolicy"
)

// OutputImage is the image the executor imports on every node it uses: it
// holds nothing but /baton (mode 0777) and an empty /baton/output (0666),
// and is never run. Creating a container of it with an attempt's fresh
// named volume at /baton makes the engine copy both into the volume,
// which the attempt's task then mounts: the only way swarm leaves to have
// a file in a task's container before it starts.
const OutputImage = "baton/swarm-output:1"

// outputImageLabel marks [OutputImage]; its value is bumped when the
// image's content changes, so nodes holding an older one get the new one.
const (
	outputImageLabel   = "dev.baton.swarm.output-image"
	outputImageVersion = "1"
)

// placement is where an attempt may run, and what it runs.
type placement struct {
	// nodes are the node IDs whose output volume was made, with their
	// engines.
	nodes map[string]*client.Client
	// constraints keep the task off every other node.
	constraints []string
	// image is the service's image: the step's, or its ID when every
	// node runs the same one.
	image string
}

// nodeImage is what one node's engine says of the step's image.
type nodeImage struct {
	id      string
	cli     *client.Client
	imageID string // "" when the node does not have it
	err     error
}

// place finds the nodes an attempt can run on, makes its output volume on
// each, and works out the constraints and the image that keep the task on
// them. Nodes the executor's own constraints rule out are left out (see
// [constraint]), so an attempt held to one node costs one volume, unless
// they rule out every node, when the swarm is left to say why none fits. Pull policy never: only nodes that have the image are used, all
// running the same image by ID (the most common one), so no node asks a
// registry. Otherwise the image is used by ID when every usable node has
// the same one, else by name, for nodes to pull.
func (e *Executor) place(ctx context.Context, spec *executor.Spec, name string, labels map[string]string) (*placement, error) {
	list, err := e.cli.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("swarm: list nodes: %w", err)
	}
	engines := e.nodes.all(ctx)
	ref := engineRef(spec.Image)
	var candidates, ruledOut []*nodeImage
	var skipped []string
	for _, n := range list {
		cli := engines[n.ID]
		if cli == nil || n.Status.State != swarm.NodeStateReady || n.Spec.Availability != swarm.NodeAvailabilityActive {
			skipped = append(skipped, n.ID)
			continue
		}
		c := &nodeImage{id: n.ID, cli: cli}
		if rulesOut(e.rules, n) {
			ruledOut = append(ruledOut, c)
		} else {
			candidates = append(candidates, c)
		}
	}
	if len(candidates) == 0 {
		// The swarm will say why no node fits, better than baton can.
		candidates, ruledOut = ruledOut, nil
	}
	for _, c := range ruledOut {
		skipped = append(skipped, c.id)
	}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("swarm: no node can run step %q: baton reaches the engine of none of the swarm's ready, active nodes; list their Docker APIs in the swarm executor's nodes", spec.Step)
	}
	if spec.Pull != executor.PullAlways {
		parallel(candidates, func(c *nodeImage) { c.imageID, c.err = imageID(ctx, c.cli, ref) })
		if ctx.Err() != nil {
			return nil, fmt.Errorf("swarm: look for image %q on the nodes: %w", spec.Image, context.Cause(ctx))
		}
	}
	image := ref
	var usable []*nodeImage
	switch {
	case spec.Pull == executor.PullNever:
		id := commonImage(candidates)
		if id == "" {
			return nil, fmt.Errorf("swarm: %w: %q is on none of the nodes baton can use and the pull policy is %q; load it on the nodes first or use %q%s",
				executor.ErrImageNotFound, spec.Image, spec.Pull, executor.PullIfMissing, firstErr(candidates))
		}
		for _, c := range candidates {
			if c.imageID == id {
				usable = append(usable, c)
			} else {
				skipped = append(skipped, c.id)
			}
		}
		image = id
	default:
		usable = candidates
		if id := commonImage(candidates); id != "" && spec.Pull != executor.PullAlways && sameImage(candidates, id) {
			image = id
		}
	}
	parallel(usable, func(c *nodeImage) { c.err = e.prepareVolume(ctx, c, name, labels) })
	p := &placement{nodes: map[string]*client.Client{}, image: image}
	for _, c := range usable {
		if c.err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("swarm: prepare the output file of step %q: %w", spec.Step, context.Cause(ctx))
			}
			e.logger.Warn("swarm: cannot prepare the output file on a node; the attempt runs elsewhere",
				"node", c.id, "host", c.cli.DaemonHost(), "err", c.err)
			skipped = append(skipped, c.id)
			continue
		}
		p.nodes[c.id] = c.cli
	}
	if len(p.nodes) == 0 {
		return nil, fmt.Errorf("swarm: no node can run step %q: preparing its output file failed on every node%s", spec.Step, firstErr(usable))
	}
	sort.Strings(skipped)
	p.constraints = append([]string(nil), e.constraints...)
	for _, id := range skipped {
		p.constraints = append(p.constraints, "node.id!="+id)
	}
	return p, nil
}

// parallel calls fn for every item at once and waits for all.
func parallel[T any](items []T, fn func(T)) {
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Go(func() { fn(it) })
	}
	wg.Wait()
}

// commonImage is the image ID most nodes have, ties going to the smaller
// ID; "" if none has the image.
func commonImage(nodes []*nodeImage) string {
	count := map[string]int{}
	best := ""
	for _, n := range nodes {
		if n.imageID == "" {
			continue
		}
		count[n.imageID]++
		if c := count[n.imageID]; best == "" || c > count[best] || (c == count[best] && n.imageID < best) {
			best = n.imageID
		}
	}
	return best
}

func sameImage(nodes []*nodeImage, id string) bool {
	for _, n := range nodes {
		if n.imageID != id {
			return false
		}
	}
	return true
}

// firstErr quotes the first error a node answered, as a suffix.
func firstErr(nodes []*nodeImage) string {
	for _, n := range nodes {
		if n.err != nil {
			return fmt.Sprintf(" (node %s: %v)", n.id, n.err)
		}
	}
	return ""
}

// imageID is the ID of ref on an engine, "" when the engine does not have
// it.
func imageID(ctx context.Context, cli *client.Client, ref string) (string, error) {
	img, err := cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("inspect image %q: %w", ref, err)
	}
	return img.ID, nil
}

// engineRef spells an image reference so that engines resolve it only as
// the name it is, fully qualified with its tag, as the docker executor
// does: a bare "b920ae9ec139" would otherwise match an image ID prefix.
func engineRef(ref string) string {
	if imagepolicy.IsImageID(ref) {
		return ref
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.TagNameOnly(named).String()
}

// prepareVolume makes the attempt's output volume on one node: a volume
// left by an earlier life of the same attempt is removed first, so no
// stale output is read, then a container of [OutputImage] is created with
// the fresh volume at /baton, which copies the image's /baton into it,
// and removed again.
func (e *Executor) prepareVolume(ctx context.Context, c *nodeImage, name string, labels map[string]string) error {
	if err := e.ensureOutputImage(ctx, c); err != nil {
		return err
	}
	if err := c.cli.VolumeRemove(ctx, name, false); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove stale output volume %s: %w", name, err)
	}
	created, err := c.cli.ContainerCreate(ctx,
		&container.Config{Image: OutputImage, Labels: labels, NetworkDisabled: true},
		&container.HostConfig{
			NetworkMode: "none",
			Mounts: []mount.Mount{{
				Type:          mount.TypeVolume,
				Source:        name,
				Target:        path.Dir(OutputPath),
				VolumeOptions: &mount.VolumeOptions{Labels: labels},
			}},
		}, nil, nil, "")
	if err != nil {
		return fmt.Errorf("create output volume %s: %w", name, err)
	}
	if err := c.cli.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true}); err != nil {
		return fmt.Errorf("remove the container that made output volume %s: %w", name, err)
	}
	return nil
}

// ensureOutputImage imports [OutputImage] on a node that lacks it.
func (e *Executor) ensureOutputImage(ctx context.Context, c *nodeImage) error {
	if e.nodes.hasImage(c.id) {
		return nil
	}
	// Attempts starting together on a fresh node import it once.
	e.nodes.importMu.Lock()
	defer e.nodes.importMu.Unlock()
	if e.nodes.hasImage(c.id) {
		return nil
	}
	img, err := c.cli.ImageInspect(ctx, OutputImage)
	if err == nil && img.Config != nil && img.Config.Labels[outputImageLabel] == outputImageVersion {
		e.nodes.setImage(c.id)
		return nil
	}
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect %s: %w", OutputImage, err)
	}
	rc, err := c.cli.ImageImport(ctx, image.ImportSource{Source: bytes.NewReader(outputImageTar), SourceName: "-"},
		OutputImage, image.ImportOptions{Changes: []string{
			`CMD ["/baton/never-run"]`,
			"LABEL " + outputImageLabel + "=" + outputImageVersion,
		}})
	if err != nil {
		return fmt.Errorf("import %s: %w", OutputImage, err)
	}
	defer rc.Close()
	if err := importErr(rc); err != nil {
		return fmt.Errorf("import %s: %w", OutputImage, err)
	}
	e.nodes.setImage(c.id)
	return nil
}

// importErr reads an import's progress stream to its end and returns the
// error it reports, if any.
func importErr(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if s := strings.TrimSpace(msg.ErrorDetail.Message + " " + msg.Error); s != "" {
			return errors.New(s)
		}
	}
}

// outputImageTar is the root file system of [OutputImage].
var outputImageTar = func() []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "baton/", Typeflag: tar.TypeDir, Mode: 0o777},
		{Name: "baton/output", Typeflag: tar.TypeReg, Mode: 0o666},
	} {
		if err := tw.WriteHeader(h); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}()
