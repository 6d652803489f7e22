package access

import "github.com/changeproof/changeproof/ingest/ndjson"

// MaxLineBytes is the longest line (or pretty-printed object) accepted:
// 1 MiB. A longer one is rejected without being held in memory whole.
const MaxLineBytes = ndjson.MaxLineBytes

// MaxDocumentBytes is the longest JSON document accepted by the formats that
// take whole documents of records (a CloudTrail log file, an EventList, an
// Okta or GCP API answer): 64 MiB, on one line or pretty-printed over many.
// A CloudTrail log file is one line of every record of five minutes.
const MaxDocumentBytes = 64 << 20
