package clickhouse

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// Options say which server to use and how.
type Options struct {
	// Addr is the server's native-protocol host:port (usually port 9000,
	// 9440 with TLS); several comma-separated addresses are tried in order.
	Addr string
	// Database holds the tables; created if missing. Default "changeproof".
	Database string
	// User and Password authenticate; User defaults to "default".
	User, Password string
	// TLS, when set, is the TLS configuration of the connection.
	TLS *tls.Config
	// Cluster, when set, is the cluster the database is created on and
	// the tables are replicated across (store.OnCluster); inserts then wait
	// until every shard has stored its rows.
	Cluster string
	// DialTimeout bounds connecting; zero means 30s.
	DialTimeout time.Duration
}

// DefaultDatabase is the database used when Options.Database is empty.
const DefaultDatabase = "changeproof"

var nameRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`)

// Validate reports every invalid field, each error naming its field.
func (o Options) Validate() error {
	var errs []error
	if strings.TrimSpace(o.Addr) == "" {
		errs = append(errs, errors.New("clickhouse addr: required (host:port of the native protocol, e.g. localhost:9000)"))
	}
	for _, a := range o.addrs() {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" || port == "" {
			errs = append(errs, fmt.Errorf("clickhouse addr: %q is not host:port", a))
		}
	}
	if o.Database != "" && !nameRe.MatchString(o.Database) {
		errs = append(errs, fmt.Errorf("clickhouse database: %q must be letters, digits, '_' and '-'", o.Database))
	}
	if o.Cluster != "" && !nameRe.MatchString(o.Cluster) {
		errs = append(errs, fmt.Errorf("clickhouse cluster: %q must be letters, digits, '_' and '-'", o.Cluster))
	}
	if o.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("clickhouse dial timeout: %s is negative", o.DialTimeout))
	}
	return errors.Join(errs...)
}

func (o Options) addrs() []string {
	var out []string
	for _, a := range strings.Split(o.Addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func (o Options) database() string {
	if o.Database == "" {
		return DefaultDatabase
	}
	return o.Database
}

// clusterSettings are every session's settings in cluster mode. An insert
// into a Distributed table returns only once each shard has written its
// rows (store.DB's durability promise), and both inserts and reads go to
// the first healthy replica of each shard, so that a read sees the writes
// before it while replication catches up.
var clusterSettings = ch.Settings{
	"insert_distributed_sync": 1,
	"load_balancing":          "in_order",
}

// driverOptions are the clickhouse-go options of a connection to database
// ("" = the user's default database).
func (o Options) driverOptions(database string) *ch.Options {
	opts := &ch.Options{
		Protocol: ch.Native,
		Addr:     o.addrs(),
		Auth: ch.Auth{
			Database: database,
			Username: o.User,
			Password: o.Password,
		},
		TLS:              o.TLS,
		DialTimeout:      o.DialTimeout,
		Compression:      &ch.Compression{Method: ch.CompressionLZ4},
		ConnOpenStrategy: ch.ConnOpenInOrder,
	}
	if o.Cluster != "" {
		opts.Settings = ch.Settings{}
		for k, v := range clusterSettings {
			opts.Settings[k] = v
		}
	}
	return opts
}
