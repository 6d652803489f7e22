package access

import "github.com/changeproof/changeproof/ingest/ndjson"

// MaxLineBytes is the longest line (or pretty-printed object) accepted:
// 1 MiB. A longer one is rejected without being held in memory whole.
const MaxLineBytes = ndjson.MaxLineBytes
