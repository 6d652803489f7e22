package store

import "strings"

// paramEscaper writes a value in ClickHouse's escaped text format, which is
// how the server (and the embedded engine) parse a query parameter.
var paramEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\x00", `\0`)

// LiteralParams returns params with every value bound to a {name:String}
// placeholder of query escaped, so that the engine takes it literally:
// without it a \ in a filter value starts an escape sequence (a\/b matched
// a/b, and a trailing \ failed the query). Other types (ArrayParam's
// literals, times, numbers) are formatted by the caller and pass as given.
// params is not modified.
func LiteralParams(query string, params Params) Params {
	var out Params
	for k, v := range params {
		if !strings.ContainsAny(v, "\\\t\n\r\x00") || !strings.Contains(query, "{"+k+":String}") {
			continue
		}
		if out == nil {
			out = make(Params, len(params))
			for k2, v2 := range params {
				out[k2] = v2
			}
		}
		out[k] = paramEscaper.Replace(v)
	}
	if out == nil {
		return params
	}
	return out
}
