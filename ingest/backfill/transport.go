package backfill

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// transport is the RoundTripper every API request goes through: bounded
// concurrency, conditional requests from State, rate-limit waits and
// bounded retries. Responses carry "X-From-Cache" so that go-github does
// not run its own rate-limit bookkeeping (which would fail fast on a real
// clock instead of waiting); this transport does the waiting.
type transport struct {
	base  http.RoundTripper
	token string
	st    State
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	sem   chan struct{}
	max   int

	mu        sync.Mutex
	remaining int // -1: unknown
	reset     time.Time
	stats     *Stats
}

// cacheSep separates the stored Link header from the stored body: a 304
// need not repeat Link, and pagination must still work from the cache.
const cacheSep = "\n"

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	key := req.URL.String()
	var cachedTag string
	var cached []byte
	if req.Method == http.MethodGet {
		tag, body, ok, err := t.st.ETag(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("backfill: read etag: %w", err)
		}
		if ok && tag != "" {
			cachedTag, cached = tag, body
		}
	}
	for attempt := 0; ; attempt++ {
		r := req.Clone(ctx)
		if attempt > 0 && req.GetBody != nil { // a retried POST (GraphQL) sends its body again
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
		if t.token != "" {
			r.Header.Set("Authorization", "Bearer "+t.token)
		}
		if cachedTag != "" {
			r.Header.Set("If-None-Match", cachedTag)
		}
		resp, err := t.send(ctx, r)
		if err != nil {
			return nil, err
		}
		t.observe(resp)
		wait, retry := t.retryAfter(resp, attempt)
		if !retry || attempt >= t.max {
			return t.finish(ctx, key, resp, cached)
		}
		resp.Body.Close()
		if wait > 0 {
			if err := t.sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
	}
}

func (t *transport) send(ctx context.Context, r *http.Request) (*http.Response, error) {
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-t.sem }()
	// The primary-limit wait is taken holding a request slot: a request that
	// queued for a slot before the budget ran out must not go out before the
	// reset either.
	if err := t.waitPrimary(ctx); err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.stats.Requests++
	t.mu.Unlock()
	return t.base.RoundTrip(r)
}

// waitPrimary waits for X-RateLimit-Reset when the last response said the
// primary limit is used up.
func (t *transport) waitPrimary(ctx context.Context) error {
	t.mu.Lock()
	var wait time.Duration
	if t.remaining == 0 {
		wait = t.reset.Sub(t.now()) + time.Second
		t.remaining = -1 // one waiter is enough; the next response tells
		if wait > 0 {
			t.stats.RateWaits++
		}
	}
	t.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	return t.sleep(ctx, wait)
}

func (t *transport) observe(resp *http.Response) {
	rem := resp.Header.Get("X-RateLimit-Remaining")
	if rem == "" {
		return
	}
	n, err := strconv.Atoi(rem)
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.remaining = n
	if s, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
		t.reset = time.Unix(s, 0)
	}
}

// retryAfter decides whether resp is retried and after how long. A primary
// limit needs no wait here: waitPrimary does it before the next attempt.
func (t *transport) retryAfter(resp *http.Response, attempt int) (time.Duration, bool) {
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests:
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			if s, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && s >= 0 {
				t.count(func(s *Stats) { s.RateWaits++ })
				return time.Duration(s) * time.Second, true
			}
		}
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			return 0, true
		}
		if resp.StatusCode == http.StatusTooManyRequests || isSecondary(resp) {
			// Secondary limit without Retry-After: GitHub asks for at
			// least a minute, growing with retries.
			t.count(func(s *Stats) { s.RateWaits++ })
			return time.Minute << min(attempt, 4), true
		}
	case resp.StatusCode >= 500:
		t.count(func(s *Stats) { s.Retries++ })
		return time.Second << min(attempt, 5), true
	}
	return 0, false
}

// isSecondary peeks at a 403 body for GitHub's secondary-limit message,
// leaving the body readable.
func isSecondary(resp *http.Response) bool {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return bytes.Contains(bytes.ToLower(b), []byte("secondary rate limit"))
}

func (t *transport) count(f func(*Stats)) {
	t.mu.Lock()
	f(t.stats)
	t.mu.Unlock()
}

// finish turns a 304 into the stored 200 and stores a new 200's ETag.
func (t *transport) finish(ctx context.Context, key string, resp *http.Response, cached []byte) (*http.Response, error) {
	resp.Header.Set("X-From-Cache", "1")
	switch {
	case resp.StatusCode == http.StatusNotModified && cached != nil:
		resp.Body.Close()
		t.count(func(s *Stats) { s.NotModified++ })
		link, body, _ := bytes.Cut(cached, []byte(cacheSep))
		resp.StatusCode, resp.Status = http.StatusOK, "200 OK"
		if len(link) > 0 {
			resp.Header.Set("Link", string(link))
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		return resp, nil
	case resp.StatusCode == http.StatusOK && resp.Header.Get("ETag") != "" && resp.Request != nil && resp.Request.Method == http.MethodGet:
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		link := strings.ReplaceAll(resp.Header.Get("Link"), cacheSep, " ")
		entry := append([]byte(link+cacheSep), body...)
		if err := t.st.PutETag(ctx, key, resp.Header.Get("ETag"), entry); err != nil {
			return nil, fmt.Errorf("backfill: store etag: %w", err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	return resp, nil
}
