package store

import (
	"strings"
)

// ArrayParam renders strings as a ClickHouse Array(String) literal for Params.
func ArrayParam(ss []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(QuoteString(s))
	}
	b.WriteByte(']')
	return b.String()
}

// QuoteString renders s as a ClickHouse string literal.
func QuoteString(s string) string {
	return "'" + quoter.Replace(s) + "'"
}

var quoter = strings.NewReplacer(`\`, `\\`, `'`, `\'`)
