package store

import (
	"context"
	"fmt"
	"time"
)

type etagRow struct {
	URL       string `json:"url"`
	ETag      string `json:"etag"`
	Body      string `json:"body"`
	UpdatedAt Time   `json:"updated_at"`
}

// GitHubETag returns the stored ETag and body of a GitHub REST URL.
func (s *Store) GitHubETag(ctx context.Context, url string) (etag string, body []byte, ok bool, err error) {
	var rows []etagRow
	if err := s.db.Query(ctx, "SELECT * FROM github_etags FINAL WHERE url = {url:String}", Params{"url": url}, &rows); err != nil {
		return "", nil, false, fmt.Errorf("read ETag of %s: %w", url, err)
	}
	if len(rows) == 0 {
		return "", nil, false, nil
	}
	return rows[0].ETag, []byte(rows[0].Body), true, nil
}

// PutGitHubETag stores the ETag and body of a GitHub REST URL.
func (s *Store) PutGitHubETag(ctx context.Context, url, etag string, body []byte) error {
	if err := s.db.Insert(ctx, "github_etags", []etagRow{{url, etag, string(body), Time(time.Now().UTC())}}); err != nil {
		return fmt.Errorf("store ETag of %s: %w", url, err)
	}
	return nil
}

type cursorRow struct {
	Repo      string `json:"repo"`
	Cursor    string `json:"cursor"`
	UpdatedAt Time   `json:"updated_at"`
}

// BackfillCursor returns a repository's stored resume point (opaque JSON).
func (s *Store) BackfillCursor(ctx context.Context, repo string) (string, bool, error) {
	var rows []cursorRow
	if err := s.db.Query(ctx, "SELECT * FROM backfill_cursors FINAL WHERE repo = {repo:String}", Params{"repo": repo}, &rows); err != nil {
		return "", false, fmt.Errorf("read backfill cursor of %s: %w", repo, err)
	}
	if len(rows) == 0 {
		return "", false, nil
	}
	return rows[0].Cursor, true, nil
}

// PutBackfillCursor stores a repository's resume point.
func (s *Store) PutBackfillCursor(ctx context.Context, repo, cursor string) error {
	if err := s.db.Insert(ctx, "backfill_cursors", []cursorRow{{repo, cursor, Time(time.Now().UTC())}}); err != nil {
		return fmt.Errorf("store backfill cursor of %s: %w", repo, err)
	}
	return nil
}
