package api

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
)

// pageParams reads limit (a positive integer; 0 when absent = no paging) and
// cursor (the next of a previous answer) from a query. Errors name the
// parameter.
func pageParams(v url.Values) (limit int, after string, err error) {
	if l := v.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit <= 0 {
			return 0, "", errors.New("limit: must be a positive integer")
		}
	}
	if c := v.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil {
			return 0, "", errors.New("cursor: not a cursor from a previous answer")
		}
		after = string(b)
	}
	return limit, after, nil
}

// page returns the items after the cursor key after ("" = from the start),
// at most limit of them (0 = all), and the cursor of the next page ("" when
// this is the last). items must be sorted by key, keys unique.
func page[T any](items []T, key func(T) string, limit int, after string) ([]T, string) {
	if after != "" {
		i := 0
		for i < len(items) && key(items[i]) <= after {
			i++
		}
		items = items[i:]
	}
	if limit <= 0 || len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, base64.RawURLEncoding.EncodeToString([]byte(key(items[limit-1])))
}
