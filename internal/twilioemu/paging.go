package twilioemu

import (
	"net/url"
	"strconv"
	"strings"
)

// page is a list request's paging: PageSize (default 50, at most 1000), Page,
// and PageToken, which here encodes the position in the underlying list so a
// page costs O(PageSize), not O(account), even for 100,000 numbers.
type page struct {
	size, num int
	from      int // position from PageToken, -1 without one
}

func parsePage(q url.Values) (page, *apiError) {
	p := page{size: 50, from: -1}
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return p, errInvalid("PageSize", v)
		}
		p.size = n
	}
	if v := q.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, errInvalid("Page", v)
		}
		p.num = n
	}
	if v := q.Get("PageToken"); v != "" {
		n, err := strconv.ParseInt(strings.TrimPrefix(v, "PA"), 16, 64)
		if err != nil || !strings.HasPrefix(v, "PA") || n < 0 {
			return p, errInvalid("PageToken", v)
		}
		p.from = int(n)
	}
	return p, nil
}

// scan walks n items oldest first and returns the positions of this page's
// matches, and the position of the first match after the page (-1 if none).
func (p page) scan(n int, match func(i int) bool) (hits []int, next int) {
	start := 0
	if p.from >= 0 {
		start = p.from
	}
	return p.walk(start, n, 1, match)
}

// scanDown is scan from the newest item back, for lists Twilio returns
// newest first. The page token stays a position in the underlying order,
// so items recorded between two page requests neither repeat nor shift the
// later pages.
func (p page) scanDown(n int, match func(i int) bool) (hits []int, next int) {
	start := n - 1
	if p.from >= 0 {
		start = min(p.from, n-1)
	}
	return p.walk(start, n, -1, match)
}

// walk visits positions from start by step; without a page token it skips
// the matches of the earlier pages.
func (p page) walk(start, n, step int, match func(i int) bool) (hits []int, next int) {
	skip := p.num * p.size
	if p.from >= 0 {
		skip = 0
	}
	for i := start; i >= 0 && i < n; i += step {
		if match != nil && !match(i) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(hits) == p.size {
			return hits, i
		}
		hits = append(hits, i)
	}
	return hits, -1
}

// listQuery renders the list's query string: its filters, then paging, as
// Twilio orders them.
func listQuery(q url.Values, size, num int, token int) string {
	f := url.Values{}
	for k, vs := range q {
		switch k {
		case "PageSize", "Page", "PageToken":
			continue
		}
		f[k] = vs
	}
	s := f.Encode()
	if s != "" {
		s += "&"
	}
	s += "PageSize=" + strconv.Itoa(size) + "&Page=" + strconv.Itoa(num)
	if token >= 0 {
		s += "&PageToken=PA" + strconv.FormatInt(int64(token), 16)
	}
	return s
}

// pageV2010 is the 2010-04-01 API's list envelope, with relative URIs.
func pageV2010(c *call, key string, p page, items []any, next int) map[string]any {
	path := c.r.URL.Path
	q := c.r.URL.Query()
	start := p.num * p.size
	end := start + len(items) - 1
	if len(items) == 0 {
		end = start
	}
	out := map[string]any{
		key:                 items,
		"first_page_uri":    path + "?" + listQuery(q, p.size, 0, -1),
		"uri":               path + "?" + listQuery(q, p.size, p.num, p.from),
		"next_page_uri":     nil,
		"previous_page_uri": nil,
		"page":              p.num,
		"page_size":         p.size,
		"start":             start,
		"end":               end,
	}
	if next >= 0 {
		out["next_page_uri"] = path + "?" + listQuery(q, p.size, p.num+1, next)
	}
	if p.num > 0 {
		out["previous_page_uri"] = path + "?" + listQuery(q, p.size, p.num-1, -1)
	}
	return out
}

// pageMeta is the v1/v2 list envelope, with absolute URLs on the request's
// own Twilio host.
func pageMeta(c *call, key string, p page, items []any, next int) map[string]any {
	base := c.baseURL() + c.r.URL.Path
	q := c.r.URL.Query()
	meta := map[string]any{
		"first_page_url":    base + "?" + listQuery(q, p.size, 0, -1),
		"url":               base + "?" + listQuery(q, p.size, p.num, p.from),
		"key":               key,
		"next_page_url":     nil,
		"previous_page_url": nil,
		"page":              p.num,
		"page_size":         p.size,
	}
	if next >= 0 {
		meta["next_page_url"] = base + "?" + listQuery(q, p.size, p.num+1, next)
	}
	if p.num > 0 {
		meta["previous_page_url"] = base + "?" + listQuery(q, p.size, p.num-1, -1)
	}
	return map[string]any{key: items, "meta": meta}
}
