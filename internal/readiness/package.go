package readiness

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ManifestFile lists every other file of a package with its sha256, in
// sha256sum's format, so `sha256sum -c MANIFEST.sha256` verifies a package
// without voicedr.
const ManifestFile = "MANIFEST.sha256"

// GapsFormat tags gaps.json.
const GapsFormat = "voicedr.readiness.gaps/v1"

// WritePackage writes the readiness package into dir (created if missing):
// checklist.md, gaps.json, resource-map.json, report.json,
// evidence/snapshot.json and MANIFEST.sha256 over all of them.
func (r *Report) WritePackage(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "evidence"), 0o755); err != nil {
		return fmt.Errorf("readiness package: %w", err)
	}
	page, err := r.HTML()
	if err != nil {
		return fmt.Errorf("readiness package: render HTML: %w", err)
	}
	files := map[string][]byte{"checklist.md": []byte(r.Markdown()), "checklist.html": page}
	for name, v := range map[string]any{
		"gaps.json": map[string]any{"format": GapsFormat, "flow": r.Flow, "primary": r.Primary, "standbys": r.Standbys,
			"checked_at": r.CheckedAt, "gaps": r.Gaps},
		"resource-map.json": map[string]any{"flow": r.Flow, "regions": r.ResourceMap},
		"report.json":       r,
	} {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("readiness package: encode %s: %w", name, err)
		}
		files[name] = append(b, '\n')
	}
	if r.snapshot != nil {
		var sb strings.Builder
		if err := r.snapshot.Write(&sb); err != nil {
			return fmt.Errorf("readiness package: encode snapshot: %w", err)
		}
		files["evidence/snapshot.json"] = []byte(sb.String())
	}
	if len(r.Probes) > 0 {
		b, err := json.MarshalIndent(r.Probes, "", "  ")
		if err != nil {
			return fmt.Errorf("readiness package: encode probes: %w", err)
		}
		files["evidence/probes.json"] = append(b, '\n')
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), b, 0o644); err != nil {
			return fmt.Errorf("readiness package: %w", err)
		}
	}
	return writeManifest(dir)
}

// writeManifest hashes every file under dir except the manifest itself.
// It walks the directory rather than trusting the list just written, so
// anything else a caller adds to evidence/ (probe results) is covered too.
func writeManifest(dir string) error {
	sums, err := hashTree(dir)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, name := range sortedKeys(sums) {
		fmt.Fprintf(&b, "%s  %s\n", sums[name], name)
	}
	return os.WriteFile(filepath.Join(dir, ManifestFile), []byte(b.String()), 0o644)
}

func hashTree(dir string) (map[string]string, error) {
	sums := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == ManifestFile {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		sums[rel] = hex.EncodeToString(h[:])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("readiness package: %w", err)
	}
	return sums, nil
}

// VerifyPackage checks dir against its manifest: every listed file has its
// hash and no file is missing from the list.
func VerifyPackage(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return fmt.Errorf("verify package: %w", err)
	}
	listed := map[string]string{}
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			return fmt.Errorf("verify package: %s line %d is not `SHA256  NAME`", ManifestFile, i+1)
		}
		listed[name] = sum
	}
	have, err := hashTree(dir)
	if err != nil {
		return err
	}
	var problems []string
	for name, sum := range listed {
		switch got, ok := have[name]; {
		case !ok:
			problems = append(problems, name+": missing")
		case got != sum:
			problems = append(problems, name+": sha256 mismatch")
		}
	}
	for name := range have {
		if _, ok := listed[name]; !ok {
			problems = append(problems, name+": not in the manifest")
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("verify package %s: %s", dir, strings.Join(problems, "; "))
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Markdown renders the checklist for people: each item with pass/fail and
// the evidence it rests on, then gap counts and the gaps with their fixes.
func (r *Report) Markdown() string {
	var b strings.Builder
	verdict := "READY"
	if !r.Ready {
		verdict = "NOT READY"
	}
	fmt.Fprintf(&b, "# Readiness of flow %s: %s\n\n", r.Flow, verdict)
	fmt.Fprintf(&b, "Primary %s, standby %s; %d numbers; snapshot taken %s; checked %s.\n\n",
		r.Primary, strings.Join(r.Standbys, ", "), r.Numbers, r.SnapshotAt.Format("2006-01-02T15:04:05Z07:00"),
		r.CheckedAt.Format("2006-01-02T15:04:05Z07:00"))
	b.WriteString("## Checklist\n\n")
	for _, it := range r.Checklist {
		mark := "x"
		if !it.Pass {
			mark = " "
		}
		fmt.Fprintf(&b, "- [%s] %s (%d checked, %d failed)\n", mark, it.Title, it.Checked, it.Failed)
		for i, e := range it.Evidence {
			if i == 5 {
				fmt.Fprintf(&b, "  - … %d more in gaps.json\n", len(it.Evidence)-5)
				break
			}
			fmt.Fprintf(&b, "  - evidence: `%s`\n", e)
		}
	}
	counts := r.GapCounts()
	b.WriteString("\n## Gaps\n\n")
	if len(counts) == 0 {
		b.WriteString("None.\n")
	}
	for _, k := range sortedKeys(counts) {
		fmt.Fprintf(&b, "- %s: %d\n", k, counts[k])
	}
	if len(r.Gaps) > 0 {
		b.WriteString("\n| severity | kind | region | resource | remediation |\n|---|---|---|---|---|\n")
		for _, g := range r.Gaps {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | `%s` |\n", g.Severity, g.Kind, g.Region, g.Resource, strings.ReplaceAll(g.Remediation, "|", "\\|"))
		}
	}
	return b.String()
}

// GapCounts counts gaps per kind.
func (r *Report) GapCounts() map[string]int {
	m := map[string]int{}
	for _, g := range r.Gaps {
		m[g.Kind]++
	}
	return m
}
