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
	// ToolVersion and ChainHead are recorded in the manifest as given.
	ToolVersion string
	ChainHead   string
	// Now gives the generation time; nil is time.Now.
	Now func() time.Time
}

// file is one file of an export: its "/"-separated relative path and bytes.
type file struct {
	path string
	data []byte
}

// Export draws the sample req describes from src and writes the export into
// dir, creating it; an existing dir must be empty. Files are written in the
// order population.csv, sample.csv, evidence/*, summary.html, manifest.json,
// so an export without manifest.json is incomplete. It returns the manifest.
func Export(ctx context.Context, src Source, req Request, dir string) (*Manifest, error) {
	if err := checkEmptyDir(dir); err != nil {
		return nil, err
	}
	m, files, err := build(ctx, src, req)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
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

// build computes every file of the export, manifest.json last.
func build(ctx context.Context, src Source, req Request) (*Manifest, []file, error) {
	pop := req.Population
	if pop == "" {
		pop = Populations[0]
	}
	hdr, err := header(src, pop)
	if err != nil {
		return nil, nil, err
	}
	if req.From.IsZero() || req.To.IsZero() {
		return nil, nil, errors.New("period: both from and to are required")
	}
	if req.To.Before(req.From) {
		return nil, nil, fmt.Errorf("period: to (%s) is before from (%s)",
			req.To.UTC().Format(time.RFC3339Nano), req.From.UTC().Format(time.RFC3339Nano))
	}
	m := &Manifest{Format: FormatVersion, Period: Period{From: req.From.UTC(), To: req.To.UTC()}, Population: pop,
		ToolVersion: req.ToolVersion, ChainHead: req.ChainHead, Sample: []string{}, Files: map[string]string{}}
	switch {
	case req.Size < 0:
		return nil, nil, fmt.Errorf("size %d: must be positive", req.Size)
	case req.Size > 0 && req.Frequency != "":
		return nil, nil, fmt.Errorf("size %d and frequency %q: give a size, or --size auto with a frequency, not both", req.Size, req.Frequency)
	case req.Size > 0:
		m.SampleSizeRequested, m.SizeBasis = req.Size, basisRequested
	case req.Frequency == "":
		return nil, nil, fmt.Errorf("size: give a positive size, or auto with a frequency (%s)", frequencyNames())
	default:
		if m.SampleSizeRequested, err = SizeFor(req.Frequency); err != nil {
			return nil, nil, err
		}
		m.SizeBasis, m.Frequency = basisTable, strings.ToLower(strings.TrimSpace(req.Frequency))
	}
	m.Seed = req.Seed
	if m.Seed == "" {
		if m.Seed, err = NewSeed(); err != nil {
			return nil, nil, err
		}
		m.SeedGenerated = true
	} else if err := checkSeed(m.Seed); err != nil {
		return nil, nil, err
	}
	now := time.Now
	if req.Now != nil {
		now = req.Now
	}

	members, err := src.Population(ctx, pop, req.From, req.To)
	if err != nil {
		return nil, nil, fmt.Errorf("population %s: %w", pop, err)
	}
	members = append([]Member(nil), members...)
	sortBySubject(members)
	index := make(map[string]int, len(hdr))
	for i, n := range hdr {
		index[n] = i
	}
	rows := make([][]string, len(members))
	for i, mb := range members {
		switch {
		case mb.Subject == "":
			return nil, nil, fmt.Errorf("population %s: a member has no subject", pop)
		case i > 0 && members[i-1].Subject == mb.Subject:
			return nil, nil, fmt.Errorf("population %s: subject %s appears twice", pop, mb.Subject)
		case mb.OccurredAt.IsZero():
			return nil, nil, fmt.Errorf("population %s: member %s has no occurred_at", pop, mb.Subject)
		case mb.OccurredAt.Before(req.From) || mb.OccurredAt.After(req.To):
			return nil, nil, fmt.Errorf("population %s: member %s occurred at %s, outside the period", pop, mb.Subject,
				mb.OccurredAt.UTC().Format(time.RFC3339Nano))
		}
		if rows[i], err = row(mb, hdr, index); err != nil {
			return nil, nil, err
		}
	}
	m.PopulationSize = len(members)

	sample := Draw(members, m.SampleSizeRequested, m.Seed)
	m.SampleSizeDrawn = len(sample)
	switch {
	case len(members) == 0:
		m.Note = "population is empty: nothing to sample"
	case len(members) < m.SampleSizeRequested:
		m.Note = fmt.Sprintf("population has %d %s, fewer than the %d requested: every member is taken",
			len(members), plural(len(members), "member", "members"), m.SampleSizeRequested)
	case len(members) == m.SampleSizeRequested:
		m.Note = fmt.Sprintf("population has exactly the %d members requested: every member is taken", len(members))
	}

	var files []file
	add := func(path string, data []byte) {
		files = append(files, file{path, data})
		m.Files[path] = sha256Hex(data)
	}
	popCSV, err := populationCSV(hdr, members, rows)
	if err != nil {
		return nil, nil, err
	}
	add("population.csv", popCSV)
	m.PopulationSHA256 = m.Files["population.csv"]

	rowOf := make(map[string][]string, len(members))
	for i, mb := range members {
		rowOf[mb.Subject] = rows[i]
	}
	drawn := make([]drawnMember, len(sample))
	for i, mb := range sample {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		b, err := src.Bundle(ctx, pop, mb.Subject)
		if err != nil {
			return nil, nil, fmt.Errorf("evidence bundle of %s: %w", mb.Subject, err)
		}
		if b == nil {
			return nil, nil, fmt.Errorf("evidence bundle of %s: the source returned none", mb.Subject)
		}
		data, err := encodeJSON(b)
		if err != nil {
			return nil, nil, fmt.Errorf("evidence bundle of %s: %w", mb.Subject, err)
		}
		drawn[i] = drawnMember{Member: mb, N: i + 1, Key: DrawKey(m.Seed, mb.Subject), Path: EvidencePath(i+1, mb.Subject),
			Values: rowOf[mb.Subject], Bundle: data}
		m.Sample = append(m.Sample, mb.Subject)
	}
	sampleData, err := sampleCSV(hdr, drawn)
	if err != nil {
		return nil, nil, err
	}
	add("sample.csv", sampleData)
	m.Reproducible = append(m.Reproducible, "population.csv", "sample.csv")
	for _, d := range drawn {
		add(d.Path, d.Bundle)
		m.Reproducible = append(m.Reproducible, d.Path)
	}

	m.Method = method(m, hdr)
	m.GeneratedAt = now().UTC()
	add("summary.html", renderSummary(m, hdr, rows, drawn))
	mdata, err := encodeJSON(m)
	if err != nil {
		return nil, nil, err
	}
	files = append(files, file{"manifest.json", mdata})
	return m, files, nil
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

// encodeJSON renders v with two-space indentation and a trailing newline,
// without HTML escaping (the files are data, not markup).
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
