package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/changeproof/changeproof/model"
)

// judgedAccessColumns are the fields of an access event the access controls
// judge (control.AccessControl): not the raw line, which is most of a
// stored event's bytes.
var judgedAccessColumns = []column{{"id", kString}, {"time", kTimeMilli}, {"principal", kString}, {"role", kString},
	{"ticket", kString}, {"result", kString}}

type judgedAccessRow struct {
	ID        string `json:"id"`
	Time      Time   `json:"time"`
	Principal string `json:"principal"`
	Role      string `json:"role"`
	Ticket    string `json:"ticket"`
	Result    string `json:"result"`
}

func decodeJudgedAccess(r *binReader) judgedAccessRow {
	return judgedAccessRow{ID: r.str(), Time: r.timeMilli(), Principal: r.str(), Role: r.str(), Ticket: r.str(),
		Result: r.str()}
}

// JudgedAccess hands fn, in id order, up to limit events of system with
// id > after, holding the fields the access controls judge (ID, System,
// Time, Principal, Role, Ticket, Result; the others empty): a cursor for
// judging every stored event in bounded memory. It returns how many it
// handed over.
func (s *Store) JudgedAccess(ctx context.Context, system, after string, limit int, fn func(model.AccessEvent) error) (int, error) {
	query := `SELECT ` + columnList(judgedAccessColumns) + ` FROM access_events FINAL
WHERE system = {system:String} AND id > {after:String} ORDER BY id LIMIT {n:UInt32}`
	p := Params{"system": system, "after": after, "n": strconv.Itoa(limit)}
	event := func(r judgedAccessRow) model.AccessEvent {
		return model.AccessEvent{ID: r.ID, System: system, Time: r.Time.T(), Principal: r.Principal, Role: r.Role,
			Ticket: r.Ticket, Result: r.Result}
	}
	r, ok, err := s.queryBinary(ctx, query, p, judgedAccessColumns)
	if err != nil {
		return 0, fmt.Errorf("read access events of %s: %w", system, err)
	}
	n := 0
	if !ok {
		var rows []judgedAccessRow
		if err := s.db.Query(ctx, query, p, &rows); err != nil {
			return 0, fmt.Errorf("read access events of %s: %w", system, err)
		}
		for _, row := range rows {
			if err := fn(event(row)); err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}
	for r.next() {
		row := decodeJudgedAccess(r)
		if r.err != nil {
			break
		}
		if err := fn(event(row)); err != nil {
			return n, err
		}
		n++
	}
	if err := r.Err(); err != nil {
		return n, fmt.Errorf("read access events of %s: %w", system, err)
	}
	return n, nil
}

// VerdictsBetween hands fn the current verdict of every (rule, subject)
// with rule in rules and from <= subject <= to, without evidence, sorted by
// rule then subject (byte order, as the engine sorts strings). The finding
// is fn's only for the call. The findings table is ordered by (rule,
// subject), so this reads one stretch of it per rule however many subjects
// the stretch holds, and nothing is held but the row at hand.
func (s *Store) VerdictsBetween(ctx context.Context, rules []string, from, to string, fn func(*model.Finding) error) error {
	if len(rules) == 0 || from > to {
		return nil
	}
	// In key order the newest row of a (rule, subject) comes last: a row is
	// handed over once the next is of another (rule, subject), which
	// spares the engine a sort of the whole stretch.
	var prev model.Finding
	held := false
	err := s.readVerdicts(ctx, `SELECT `+columnList(verdictColumns)+` FROM findings FINAL
WHERE rule IN {rules:Array(String)} AND subject >= {from:String} AND subject <= {to:String}
ORDER BY rule, subject, evaluated_at`, Params{"rules": ArrayParam(rules), "from": from, "to": to},
		func(f model.Finding) error {
			if held && (prev.Rule != f.Rule || prev.Subject != f.Subject) {
				if err := fn(&prev); err != nil {
					return err
				}
			}
			prev, held = f, true
			return nil
		})
	if err == nil && held {
		err = fn(&prev)
	}
	if err != nil {
		return fmt.Errorf("read verdicts of %s..%s: %w", from, to, err)
	}
	return nil
}
