package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot is the module's root, two levels up from this package.
var repoRoot = filepath.Join("..", "..")

// readmePaths are the repository paths README.md names: in inline code or
// as link targets, outside fenced blocks (commands and sample output), a
// path with a slash that starts at a top-level entry or ends in a file
// name's extension, or a top-level document (*.md).
func readmePaths(t *testing.T, readme string) []string {
	t.Helper()
	entries, err := os.ReadDir(repoRoot)
	require.NoError(t, err)
	top := map[string]bool{}
	for _, e := range entries {
		top[e.Name()] = true
	}
	prose := regexp.MustCompile("(?ms)^```.*?^```").ReplaceAllString(readme, "")
	var refs []string
	for _, m := range regexp.MustCompile("`([^`\n]+)`").FindAllStringSubmatch(prose, -1) {
		refs = append(refs, m[1])
	}
	for _, m := range regexp.MustCompile(`\]\(([^)#\s]+)(?:#[^)]*)?\)`).FindAllStringSubmatch(prose, -1) {
		if !strings.Contains(m[1], "://") {
			refs = append(refs, m[1])
		}
	}
	fileExt := regexp.MustCompile(`\.(go|md|ya?ml|json|txt|sh|toml)$`)
	var paths []string
	for _, r := range refs {
		r = strings.TrimSuffix(r, "/")
		switch {
		case r == "" || strings.ContainsAny(r, " <>*$~:{}") || strings.HasPrefix(r, "/") || strings.HasPrefix(r, "bin/"):
			continue // a placeholder, a URL path, a home or build path
		case strings.Contains(r, "/"):
			first := strings.SplitN(r, "/", 2)[0]
			if top[first] || fileExt.MatchString(r) && !strings.Contains(first, ".") {
				paths = append(paths, r)
			}
		case strings.HasSuffix(r, ".md"):
			paths = append(paths, r)
		}
	}
	return paths
}

// Every path the README names is in the repository: a newcomer follows
// them from a clone.
func TestReadmeNamesOnlyPathsInTheRepository(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	paths := readmePaths(t, string(data))
	assert.Contains(t, paths, "examples/crusoe-vm.yaml", "the check sees the paths")
	for _, p := range paths {
		_, err := os.Stat(filepath.Join(repoRoot, p))
		assert.NoError(t, err, "README.md names %s, which is not in the repository", p)
	}

	// What the check must catch: the references the README once had.
	old := readmePaths(t, "For Crusoe it follows `shared/apis/crusoe-v1alpha5.txt` and `NOTES.md`; see [it](docs/nope.md).")
	assert.Equal(t, []string{"shared/apis/crusoe-v1alpha5.txt", "NOTES.md", "docs/nope.md"}, old)
}
