package optimist_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/optimist-go/optimist"
	"github.com/optimist-go/optimist/mock"
)

// TestREADMESnippetsCompile: every Go snippet of README.md and of the
// package documentation appears, line for line (indentation aside), in a
// test file of this package, an Example or one of the functions below, so
// the compiler checks it.
func TestREADMESnippetsCompile(t *testing.T) {
	t.Parallel()
	var corpus []string
	files, err := filepath.Glob("*_test.go")
	require.NoError(t, err)
	for _, f := range files {
		corpus = append(corpus, normalizedLines(t, f, func(s string) (string, bool) { return s, true })...)
	}
	snippets := goBlocks(t, "README.md", func(s string) (string, bool) { return s, true }, "```go", "```")
	require.NotEmpty(t, snippets)
	fromDoc := goBlocks(t, "doc.go", func(s string) (string, bool) { return strings.CutPrefix(s, "//\t") }, "", "")
	require.NotEmpty(t, fromDoc)
	for _, snippet := range append(snippets, fromDoc...) {
		require.True(t, containsRun(corpus, snippet), "this snippet is compiled by no test:\n%s", strings.Join(snippet, "\n"))
	}
}

// normalizedLines returns the lines of file that keep says to keep (as
// keep rewrites them), trimmed, without empty ones.
func normalizedLines(t *testing.T, file string, keep func(string) (string, bool)) []string {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line, ok := keep(sc.Text()); ok {
			if line = strings.TrimSpace(line); line != "" {
				out = append(out, line)
			}
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// goBlocks returns the code blocks of file: the lines between a line open
// and a line end when open is set, else each run of lines keep accepts.
func goBlocks(t *testing.T, file string, keep func(string) (string, bool), open, end string) [][]string {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var blocks [][]string
	var cur []string
	in := false
	flush := func() {
		if len(cur) > 0 {
			blocks = append(blocks, cur)
		}
		cur, in = nil, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if open != "" {
			switch {
			case !in && line == open:
				in = true
			case in && line == end:
				flush()
			case in && strings.TrimSpace(line) != "":
				cur = append(cur, strings.TrimSpace(line))
			}
			continue
		}
		if code, ok := keep(line); ok {
			if code = strings.TrimSpace(code); code != "" {
				cur = append(cur, code)
			}
		} else if strings.TrimSpace(strings.TrimPrefix(line, "//")) != "" || !strings.HasPrefix(line, "//") {
			flush()
		}
	}
	flush()
	return blocks
}

// containsRun reports whether want appears in lines as a contiguous run.
func containsRun(lines, want []string) bool {
	for i := 0; i+len(want) <= len(lines); i++ {
		match := true
		for j := range want {
			if lines[i+j] != want[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// The snippets, compiled and run.

type Article struct {
	Title string `json:"title"`
}

// README: Reading and conditional writes.
func readmeRead(ctx context.Context, url string) error {
	c := optimist.New()
	var article Article
	resp, err := c.Get(ctx, url, &article) // remembers resp.ETag and the body
	if err != nil {
		return err
	}
	log.Printf("read %q at %s", article.Title, resp.ETag)
	article.Title = "Final"
	_, err = c.Put(ctx, url, article, &article) // If-Match: <resp.ETag>, byte for byte
	return err
}

// README: Conflicts and strategies.
func readmeSum() *optimist.Client {
	sum := optimist.MergeWith(map[string]optimist.PathResolver{
		"/items": func(_ string, base, ours, theirs json.RawMessage) (json.RawMessage, bool, error) {
			b, _ := strconv.Atoi(string(base))
			o, _ := strconv.Atoi(string(ours))
			t, _ := strconv.Atoi(string(theirs))
			return json.RawMessage(strconv.Itoa(t + o - b)), true, nil
		},
	})
	c := optimist.New(optimist.WithConflicts(optimist.ConflictOptions{Resolver: sum})) // or per request: optimist.Resolve(sum)
	return c
}

// README and package documentation: Update.
func readmeUpdate(ctx context.Context, c *optimist.Client, url string) (int, error) {
	type Counter struct {
		Count int `json:"count"`
	}

	n, err := optimist.Update(ctx, c, url, func(v *Counter) error {
		v.Count++
		return nil
	})
	return n.Count, err
}

// Package documentation: reading and writing.
type Doc struct {
	Title string `json:"title"`
}

func docReadWrite(ctx context.Context, url string) error {
	c := optimist.New()
	var doc Doc
	if _, err := c.Get(ctx, url, &doc); err != nil { // remembers ETag and body
		return err
	}
	doc.Title = "new"
	_, err := c.Put(ctx, url, doc, &doc) // sends If-Match: <that ETag>
	return err
}

func TestREADMESnippetsRun(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	url := seed(t, srv, "/articles/1", `{"title":"Draft"}`)
	require.NoError(t, readmeRead(t.Context(), url))
	require.NoError(t, docReadWrite(t.Context(), url))
	body, _, _ := srv.Document("/articles/1")
	require.JSONEq(t, `{"title":"new"}`, string(body))

	counter := seed(t, srv, "/counters/1", `{"count":41}`)
	n, err := readmeUpdate(t.Context(), readmeSum(), counter)
	require.NoError(t, err)
	require.Equal(t, 42, n)
}

// README: The mock server. addToCart is the code under test.
func TestSave(t *testing.T) {
	t.Parallel()
	srv := mock.NewServer(mock.WithConflictStatus(http.StatusConflict))
	t.Cleanup(srv.Close)
	_ = srv.Seed("/carts/7", []byte(`{"items":[]}`))
	srv.FailNext(2, mock.Fault503) // the next two requests get 503 + Retry-After

	err := addToCart(t.Context(), srv.URL+"/carts/7", "apple") // the code under test

	require.NoError(t, err)
	require.Equal(t, 2, srv.Count("", http.StatusServiceUnavailable))
	body, _, _ := srv.Document("/carts/7")
	require.JSONEq(t, `{"items":["apple"]}`, string(body))
}

func addToCart(ctx context.Context, url, item string) error {
	c := optimist.New(optimist.WithRetry(optimist.RetryOptions{Backoff: func(int) time.Duration { return 0 }}))
	defer c.CloseIdleConnections()
	_, err := optimist.Update(ctx, c, url, func(cart *struct {
		Items []string `json:"items"`
	}) error {
		cart.Items = append(cart.Items, item)
		return nil
	})
	return err
}

// TestREADMELinksResolve: every file the README links to ships, LICENSE
// and the mock command's seed file among them.
func TestREADMELinksResolve(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	links := regexp.MustCompile(`\]\(([^)#:]+)\)`).FindAllStringSubmatch(string(data), -1)
	require.NotEmpty(t, links)
	for _, l := range append(links, []string{"", "LICENSE"}, []string{"", "mock/cmd/mockserver/testdata/docs.json"}) {
		_, err := os.Stat(l[1])
		require.NoError(t, err, "README links to %s", l[1])
	}
	license, err := os.ReadFile("LICENSE")
	require.NoError(t, err)
	require.Contains(t, string(license), "MIT License")
	require.Contains(t, string(license), "Copyright (c) 2026 The optimist authors")
}
