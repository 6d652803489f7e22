package config

import (
	"fmt"
	"regexp"
	"sync"
)

// compiled caches TicketRegexp's results: Policy is passed by value and
// consulted per event, and a pattern never changes its meaning.
var compiled sync.Map // pattern string -> *regexp.Regexp

// TicketRegexp returns TicketPattern compiled. It panics if the pattern
// does not compile, which cannot happen to a Policy that passed Validate
// (Load validates).
func (p Policy) TicketRegexp() *regexp.Regexp {
	if re, ok := compiled.Load(p.TicketPattern); ok {
		return re.(*regexp.Regexp)
	}
	re, err := regexp.Compile(p.TicketPattern)
	if err != nil {
		panic(fmt.Sprintf("config: policy.ticket_pattern was not validated: %v", err))
	}
	compiled.Store(p.TicketPattern, re)
	return re
}
