package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Request says what to sample.
type Request struct {
	// Population is changes (default when empty), deploys or access.
	Population string
	// From and To bound occurred_at, both inclusive; they are passed to the
	// Source unchanged and recorded in UTC.
	From, To time.Time
	// Size is the number of members to draw; 0 takes it from Frequency
	// (--size auto).
	Size int
	// Frequency is how often the control operates (SizeFor); only with
	// Size 0.
	Frequency string
	// Seed seeds the draw; empty generates one (NewSeed).
	Seed string
	// ToolVersion, ChainHead and RequestedBy are recorded in the manifest
	// as given.
	ToolVersion string
	ChainHead   string
	RequestedBy string
	// Now gives the generation time; nil is time.Now.
	Now func() time.Time
	// Signer, when set, signs manifest.json into manifest.json.sig.
	Signer ManifestSigner
}

// BundleConcurrency is how many evidence bundles Export asks the Source for
// at once. The files do not depend on it: each bundle lands under its
// member's number whatever order they arrive in.
const BundleConcurrency = 4

// populationFile is the population's file name.
const populationFile = "population.csv"

// file is one file of an export: its "/"-separated relative path and bytes.
type file struct {
	path string
	data []byte
}

// Export draws the sample req describes from src and writes the export into
// dir, creating it; an existing dir must be empty. Files are written in the
// order population.csv (streamed as the population is read), sample.csv,
// evidence/*, summary.html, manifest.json, so an export without
// manifest.json is incomplete. A failed export removes what it wrote. It
// returns the manifest.
func Export(ctx context.Context, src Source, req Request, dir string) (*Manifest, error) {
	if err := checkEmptyDir(dir); err != nil {
		return nil, err
	}
	p, err := prepare(src, req)
	if err != nil {
		return nil, err
	}
	_, statErr := os.Stat(dir)
	created := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	m, err := exportDir(ctx, src, p, dir)
	if err != nil {
		if created {
			_ = os.RemoveAll(dir)
		} else if names, rerr := os.ReadDir(dir); rerr == nil {
			for _, n := range names {
				_ = os.RemoveAll(filepath.Join(dir, n.Name()))
			}
		}
		return nil, err
	}
	return m, nil
}

func exportDir(ctx context.Context, src Source, p *plan, dir string) (*Manifest, error) {
	f, err := os.Create(filepath.Join(dir, populationFile))
	if err != nil {
		return nil, err
	}
	res, err := stream(ctx, src, p, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write %s: %w", populationFile, cerr)
	}
	if err != nil {
		return nil, err
	}
	m, files, err := finish(ctx, src, p, res)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// checkEmptyDir refuses a dir that exists and is not an empty directory.
func checkEmptyDir(dir string) error {
	if dir == "" {
		return errors.New("output directory: none given")
	}
	d, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	defer d.Close()
	st, err := d.Stat()
	if err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("output directory %s: exists and is not a directory", dir)
	}
	names, err := d.Readdirnames(1)
	if err != nil && err != io.EOF {
		return fmt.Errorf("output directory: %w", err)
	}
	if len(names) > 0 {
		return fmt.Errorf("output directory %s: not empty (refusing to mix exports); give a new or empty directory", dir)
	}
	return nil
}

// plan is a checked request: the manifest as far as the request decides
// it, and the population's header.
type plan struct {
	req Request
	pop string
	hdr []string
	m   *Manifest
	now func() time.Time
}

// prepare checks req before anything is read or written.
func prepare(src Source, req Request) (*plan, error) {
	pop := req.Population
	if pop == "" {
		pop = Populations[0]
	}
	hdr, err := header(src, pop)
	if err != nil {
		return nil, err
	}
	if req.From.IsZero() || req.To.IsZero() {
		return nil, errors.New("period: both from and to are required")
	}
	if req.To.Before(req.From) {
		return nil, fmt.Errorf("period: to (%s) is before from (%s)",
			req.To.UTC().Format(time.RFC3339Nano), req.From.UTC().Format(time.RFC3339Nano))
	}
	m := &Manifest{Format: FormatVersion, Period: Period{From: req.From.UTC(), To: req.To.UTC()}, Population: pop,
		ToolVersion: req.ToolVersion, ChainHead: req.ChainHead, RequestedBy: req.RequestedBy, Sample: []string{}, Files: map[string]string{}}
	switch {
	case req.Size < 0:
		return nil, fmt.Errorf("size %d: must be positive", req.Size)
	case req.Size > 0 && req.Frequency != "":
		return nil, fmt.Errorf("size %d and frequency %q: give a size, or --size auto with a frequency, not both", req.Size, req.Frequency)
	case req.Size > 0:
		m.SampleSizeRequested, m.SizeBasis = req.Size, basisRequested
	case req.Frequency == "":
		return nil, fmt.Errorf("size: give a positive size, or auto with a frequency (%s)", frequencyNames())
	default:
		if m.SampleSizeRequested, err = SizeFor(req.Frequency); err != nil {
			return nil, err
		}
		m.SizeBasis, m.Frequency = basisTable, strings.ToLower(strings.TrimSpace(req.Frequency))
	}
	m.Seed = req.Seed
	if m.Seed == "" {
		if m.Seed, err = NewSeed(); err != nil {
			return nil, err
		}
		m.SeedGenerated = true
	} else if err := checkSeed(m.Seed); err != nil {
		return nil, err
	}
	now := time.Now
	if req.Now != nil {
		now = req.Now
	}
	return &plan{req: req, pop: pop, hdr: hdr, m: m, now: now}, nil
}

// finish fetches the sample's evidence and renders the other files:
// sample.csv, evidence/*, summary.html and, last, manifest.json.
func finish(ctx context.Context, src Source, p *plan, res *walked) (*Manifest, []file, error) {
	m, hdr := p.m, p.hdr
	m.PopulationSize = res.size
	m.PopulationSHA256 = res.sha256
	m.Files[populationFile] = res.sha256
	m.SampleSizeDrawn = len(res.sample)
	switch {
	case res.size == 0:
		m.Note = "population is empty: nothing to sample"
	case res.size < m.SampleSizeRequested:
		m.Note = fmt.Sprintf("population has %d %s, fewer than the %d requested: every member is taken",
			res.size, plural(res.size, "member", "members"), m.SampleSizeRequested)
	case res.size == m.SampleSizeRequested:
		m.Note = fmt.Sprintf("population has exactly the %d members requested: every member is taken", res.size)
	}

	drawn := make([]drawnMember, len(res.sample))
	for i, e := range res.sample {
		mb := Member{Subject: e.subject, OccurredAt: e.item.at}
		drawn[i] = drawnMember{Member: mb, N: i + 1, Key: hex.EncodeToString(e.key[:]), Path: EvidencePath(i+1, mb.Subject),
			Values: e.item.values}
		m.Sample = append(m.Sample, mb.Subject)
	}
	if err := fetchBundles(ctx, src, p.pop, drawn); err != nil {
		return nil, nil, err
	}

	var files []file
	add := func(path string, data []byte) {
		files = append(files, file{path, data})
		m.Files[path] = FileHash(data)
	}
	sampleData, err := sampleCSV(hdr, drawn)
	if err != nil {
		return nil, nil, err
	}
	add("sample.csv", sampleData)
	m.Reproducible = append(m.Reproducible, populationFile, "sample.csv")
	for _, d := range drawn {
		add(d.Path, d.Bundle)
		m.Reproducible = append(m.Reproducible, d.Path)
	}

	m.Method = method(m, hdr)
	m.GeneratedAt = p.now().UTC()
	add("summary.html", renderSummary(m, hdr, res.counts, drawn))
	if p.req.Signer != nil {
		info := p.req.Signer.Signature()
		m.Signature = &info
	}
	mdata, err := EncodeJSON(m)
	if err != nil {
		return nil, nil, err
	}
	files = append(files, file{"manifest.json", mdata})
	if p.req.Signer != nil {
		sig, err := p.req.Signer.Sign(mdata)
		if err != nil {
			return nil, nil, fmt.Errorf("sign manifest.json: %w", err)
		}
		files = append(files, file{SignatureFile, sig})
	}
	return m, files, nil
}

// BundleBatch is how many subjects Export asks a BundleBatcher for at once.
const BundleBatch = 100

// fetchBundles fills in every drawn member's evidence file: in batches
// from a BundleBatcher, else (and for a batch that failed) one by one.
func fetchBundles(ctx context.Context, src Source, pop string, drawn []drawnMember) error {
	bb, ok := src.(BundleBatcher)
	if !ok {
		return fetchEach(ctx, src, pop, drawn)
	}
	for start := 0; start < len(drawn); start += BundleBatch {
		batch := drawn[start:min(start+BundleBatch, len(drawn))]
		subjects := make([]string, len(batch))
		for i, d := range batch {
			subjects[i] = d.Subject
		}
		bs, err := bb.Bundles(ctx, pop, subjects)
		if err == nil && len(bs) != len(batch) {
			err = fmt.Errorf("the source returned %d bundles for %d members", len(bs), len(batch))
		}
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			// One by one, the failure is named after its member.
			if err := fetchEach(ctx, src, pop, batch); err != nil {
				return err
			}
			continue
		}
		for i, b := range bs {
			if err := encodeBundle(&batch[i], b); err != nil {
				return err
			}
		}
	}
	return nil
}

// fetchEach fills in the evidence files of drawn, asking the source for up
// to BundleConcurrency bundles at once. On failure it reports the first
// failing member in sample order.
func fetchEach(ctx context.Context, src Source, pop string, drawn []drawnMember) error {
	if len(drawn) == 0 {
		return nil
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(drawn))
	next := make(chan int)
	done := make(chan struct{})
	workers := min(BundleConcurrency, len(drawn))
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range next {
				if errs[i] = bundle(ctx, src, pop, &drawn[i]); errs[i] != nil {
					cancel() // the export fails: spare the source the rest
				}
			}
		}()
	}
	for i := range drawn {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	for range workers {
		<-done
	}
	// A bundle cut short by another's failure is not the failure to report.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	if err := parent.Err(); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// bundle fetches and encodes one drawn member's evidence.
func bundle(ctx context.Context, src Source, pop string, d *drawnMember) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := src.Bundle(ctx, pop, d.Subject)
	if err != nil {
		return fmt.Errorf("evidence bundle of %s: %w", d.Subject, err)
	}
	return encodeBundle(d, b)
}

// encodeBundle renders a member's evidence file.
func encodeBundle(d *drawnMember, b any) error {
	if b == nil {
		return fmt.Errorf("evidence bundle of %s: the source returned none", d.Subject)
	}
	data, err := EncodeJSON(b)
	if err != nil {
		return fmt.Errorf("evidence bundle of %s: %w", d.Subject, err)
	}
	d.Bundle = data
	return nil
}

// drawnMember is one member of the sample with what the export says of it.
type drawnMember struct {
	Member
	N      int      // 1-based sample number
	Key    string   // DrawKey
	Path   string   // EvidencePath
	Values []string // column values under the header
	Bundle []byte   // the evidence file
}

// EncodeJSON renders v with two-space indentation and a trailing newline,
// without HTML escaping (the files are data, not markup): the form of
// every JSON file of an export or a period report, manifests included.
func EncodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// FileHash is a file's hash as manifests list it: hex SHA-256.
func FileHash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
