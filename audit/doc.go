// Package audit produces the auditor sampling export (the README's "For
// auditors: populations and samples"): the population of a period, a uniform random
// sample drawn from it without replacement, deterministically from a seed,
// one evidence bundle per sampled member, a manifest, and a summary page an
// auditor can open in a browser.
//
// The package reads its data through Source, a small interface the store- or
// API-backed caller implements; it imports nothing of this module but model
// and internal/csvsafe.
//
// # Export layout
//
// Export (a directory) and ExportZip (the body of POST /v1/samples) write:
//
//	population.csv                  every member, sorted by subject
//	sample.csv                      the drawn members, in subject order, numbered 1..n
//	evidence/<n>-<name>.json        member n's evidence bundle
//	summary.html                    a self-contained, human-readable page
//	manifest.json                   period, sizes, seed, method, hashes
//	manifest.json.sig               with Request.Signer: an SSH signature of manifest.json
//
// CSV files follow RFC 4180 with a header row, LF line endings and no byte
// order mark. Columns: subject, occurred_at (RFC 3339, UTC), then the
// population's columns (ColumnNames), e.g. for changes kind, repo, sha,
// actor, title, url and the CM-1..CM-6 outcomes (empty: no finding for that
// rule). sample.csv adds sample_number, draw_key and evidence_file. JSON
// files are indented with two spaces and end with a newline.
//
// A CSV cell that starts with =, +, -, @, a tab, a carriage return or an
// apostrophe is written with one leading apostrophe ('), so that a
// spreadsheet shows it as text instead of running it as a formula (a
// pull-request title is chosen by whoever opens the pull request). To get
// the stored value back, drop one leading apostrophe; the Python snippet
// below does so for the subject.
//
// <name> is the subject with every character (Unicode code point) outside
// [A-Za-z0-9._-] replaced by "_", cut to 120 characters (SafeName); the
// number n in front keeps every name unique even when two subjects map to
// the same name.
//
// # Sampling algorithm
//
// Given the population, a seed (any string; generated as 16 random bytes from
// the operating system's CSPRNG, written as lower-case hex, when none is
// given) and a size n:
//
//  1. sort the population by subject (byte order of the UTF-8 encoding);
//  2. for every member compute key = lower-case hex SHA-256 of the UTF-8
//     bytes of seed + "\n" + subject;
//  3. take the n members with the smallest keys (all of them when the
//     population has n members or fewer; equal keys, which distinct subjects
//     do not produce in practice, are broken by subject);
//  4. list the sample in subject order, numbered 1..n.
//
// Because SHA-256 behaves as a random function of the seed, ordering by key
// is a uniformly random permutation, and its first n members are a uniform
// sample without replacement. An auditor re-derives the sample from
// population.csv and manifest.json with Python 3 (the exact text is
// PythonSnippet, also quoted in the manifest's method):
//
//	import csv, hashlib, json
//	m = json.load(open("manifest.json", encoding="utf-8"))
//	seed, n = m["seed"], m["sample_size_drawn"]
//	unguard = lambda c: c[1:] if c.startswith("'") else c  # the leading ' added against formulas
//	with open("population.csv", newline="", encoding="utf-8") as f:
//	    subjects = sorted(unguard(row["subject"]) for row in csv.DictReader(f))
//	key = lambda s: hashlib.sha256((seed + "\n" + s).encode("utf-8")).hexdigest()
//	sample = sorted(sorted(subjects, key=key)[:n])
//	print("\n".join(sample))
//
// (Python orders strings by code point, which is the byte order of UTF-8, and
// its sort is stable, so ties fall back to subject order as in Draw.)
//
// A seed chosen by the requester after seeing the population could be tried
// until a convenient sample comes out; the manifest therefore records whether
// the seed was generated (seed_generated). Auditors who want control over the
// draw supply their own seed.
//
// # Sample size
//
// The size is either given (Request.Size) or taken from the frequency of the
// control (SizeFor): annual 1, quarterly 2, monthly 2-5, weekly 5-15, daily
// 20-40, recurring (several times a day) 25-60, using the upper bound of each
// range. That table is common practitioner guidance used by audit firms for
// tests of operating effectiveness, not an AICPA rule; the manifest says so.
// A requested size larger than the population takes every member, and the
// manifest's note says so.
//
// # Reproducibility
//
// The same data and the same seed give byte-identical population.csv,
// sample.csv and evidence files. manifest.json and summary.html carry the
// generation time (and the caller's tool version and chain head), so they are
// excluded from that claim; the manifest lists the SHA-256 of every other
// file, and population_sha256 separately.
//
// The manifest is written last: a directory without manifest.json is not a
// complete export.
//
// # Scale
//
// A Source that is also a Walker hands its population over one member at a
// time, in subject order: Export writes population.csv and draws the sample
// (keeping the n smallest keys so far) as the members pass, so memory holds
// the sample, not the population; ExportZip holds population.csv deflated.
// A BundleBatcher reads the sample's evidence bundles in a few statements;
// other sources are asked for up to BundleConcurrency bundles at once. The
// files are the same either way.
package audit
