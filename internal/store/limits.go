package store

// The bounds of the listings, where the params leave them to the store.

// Max is the most runs [Store.RunList] returns for p: p.Limit, or 100
// when that is not positive.
func (p *RunListParams) Max() int { return limitOr(p.Limit, 100) }

// Max is the most lines [Store.LogList] returns for p: p.Limit, or 10,000
// when that is not positive.
func (p *LogListParams) Max() int { return limitOr(p.Limit, 10000) }

// Max is the most entries [Store.AuditList] returns for p: p.Limit, or
// 100 when that is not positive.
func (p *AuditListParams) Max() int { return limitOr(p.Limit, 100) }

// limitOr is limit, or def when limit is not positive.
func limitOr(limit, def int) int {
	if limit <= 0 {
		return def
	}
	return limit
}
