package model

// AccessClass is what the access controls judge an event by besides its
// id and time: the events of one class get the same verdicts but for their
// subject and occurrence time (when the controls' findings are checked to
// depend on nothing else). Events counts the class's stored events.
type AccessClass struct {
	Principal string `json:"principal"`
	Role      string `json:"role"`
	Ticket    string `json:"ticket"`
	Result    string `json:"result"`
	Events    uint64 `json:"events"`
}

// ClassFinding is one finding every event of Class gets: its Subject and
// OccurredAt are each event's own (SYSTEM:ID, the event's time), the rest
// is Finding's.
type ClassFinding struct {
	Class   AccessClass
	Finding Finding
}
