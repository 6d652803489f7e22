package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"go.uber.org/zap"

	"github.com/changeproof/changeproof/model"
)

// Sources, the suffixes of the event topics.
const (
	SourceGitHub     = "github"
	SourceDeploy     = "deploy"
	SourceAccess     = "access"
	SourceDeadLetter = "deadletter"
)

// topicOf is the topic a record of source goes to.
func (o Options) topicOf(source string) (string, error) {
	switch source {
	case model.SourceGitHub, model.SourceGitHubREST:
		return o.Topic(SourceGitHub), nil
	case model.SourceDeploy:
		return o.Topic(SourceDeploy), nil
	case model.SourceAccess:
		return o.Topic(SourceAccess), nil
	}
	return "", fmt.Errorf("transport: no topic for source %q", source)
}

// SASL mechanisms accepted in Options.SASL.Mechanism (config.SASL's values).
const (
	SASLPlain       = "PLAIN"
	SASLSCRAMSHA256 = "SCRAM-SHA-256"
	SASLSCRAMSHA512 = "SCRAM-SHA-512"
)

// Defaults of the zero Options fields.
const (
	DefaultPartitions        = 6
	DefaultReplicationFactor = 1
	DefaultBatchSize         = 500
	DefaultBatchWait         = 250 * time.Millisecond
	DefaultHeartbeatInterval = time.Second
	DefaultSessionTimeout    = 10 * time.Second
	DefaultRebalanceTimeout  = 30 * time.Second
	DefaultMaxWait           = time.Second
	DefaultRetryBackoff      = 500 * time.Millisecond
	DefaultDialTimeout       = 10 * time.Second
)

// MaxMessageBytes bounds one Kafka message: a GitHub payload (at most 25 MiB)
// in its envelope, base64-encoded in the worst case. Topics are created with
// max.message.bytes set to it, and producer and consumer size their requests
// by it.
const MaxMessageBytes = 48 << 20

// maxRetryBackoff caps the wait between retries of a failing batch.
const maxRetryBackoff = 30 * time.Second

// Options configures the producer and the consumer. The first fields mirror
// config.Kafka; the rest are tuning, where zero means the default.
type Options struct {
	// Brokers are the bootstrap brokers as host:port (kafka.brokers).
	Brokers []string
	// TopicPrefix is prepended to every topic name (kafka.topic_prefix).
	TopicPrefix string
	// Group is the consumer group of the pipeline workers (kafka.group);
	// required by NewConsumer.
	Group string
	// Partitions of the topics EnsureTopics creates. Default 6. Existing
	// topics are left as they are.
	Partitions int
	// ReplicationFactor of the topics EnsureTopics creates. Default 1.
	ReplicationFactor int
	// TLS, when not nil, turns TLS to the brokers on (kafka.tls: a
	// config with the system roots).
	TLS *tls.Config
	// SASL authenticates to the brokers (kafka.sasl); an empty Mechanism
	// turns it off. Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	SASL struct{ Mechanism, Username, Password string }
	// BatchSize is the most messages a consumer hands to its handlers at
	// once. Default 500.
	BatchSize int
	// BatchWait is how long a consumer waits to fill a batch after its first
	// message. Default 250ms.
	BatchWait time.Duration
	// Log receives the transport's logs. Default: none.
	Log *zap.Logger

	// HeartbeatInterval is the consumer group heartbeat; a rebalance is
	// noticed within it. Default 1s.
	HeartbeatInterval time.Duration
	// SessionTimeout is how long the group waits for a silent worker before
	// giving its partitions to others. Default 10s (brokers usually allow
	// no less than 6s).
	SessionTimeout time.Duration
	// RebalanceTimeout is how long a rebalance waits for members to rejoin.
	// Default 30s.
	RebalanceTimeout time.Duration
	// MaxWait is the longest a fetch waits at the broker for new messages.
	// Default 1s.
	MaxWait time.Duration
	// RetryBackoff is the first wait before a failed batch is retried; it
	// doubles up to 30s. Default 500ms.
	RetryBackoff time.Duration
	// DialTimeout bounds connecting to a broker. Default 10s.
	DialTimeout time.Duration
}

// Validate reports the first invalid field, by its configuration name.
func (o Options) Validate() error {
	if len(o.Brokers) == 0 {
		return errors.New("kafka.brokers: at least one broker is required")
	}
	for i, b := range o.Brokers {
		host, port, err := net.SplitHostPort(b)
		if err != nil || host == "" {
			return fmt.Errorf("kafka.brokers[%d]: %q is not host:port", i, b)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("kafka.brokers[%d]: %q: bad port", i, b)
		}
	}
	if err := validTopicName(o.TopicPrefix + SourceDeadLetter); err != nil {
		return fmt.Errorf("kafka.topic_prefix: %q: %v", o.TopicPrefix, err)
	}
	if o.Partitions < 0 {
		return fmt.Errorf("Partitions: %d is negative", o.Partitions)
	}
	if o.ReplicationFactor < 0 || o.ReplicationFactor > 32767 {
		return fmt.Errorf("ReplicationFactor: %d out of range", o.ReplicationFactor)
	}
	if o.BatchSize < 0 {
		return fmt.Errorf("BatchSize: %d is negative", o.BatchSize)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"BatchWait", o.BatchWait}, {"HeartbeatInterval", o.HeartbeatInterval},
		{"SessionTimeout", o.SessionTimeout}, {"RebalanceTimeout", o.RebalanceTimeout},
		{"MaxWait", o.MaxWait}, {"RetryBackoff", o.RetryBackoff}, {"DialTimeout", o.DialTimeout}} {
		if d.v < 0 {
			return fmt.Errorf("%s: %v is negative", d.name, d.v)
		}
	}
	switch o.SASL.Mechanism {
	case "":
		if o.SASL.Username != "" || o.SASL.Password != "" {
			return errors.New("kafka.sasl.mechanism: required with a username or password (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")
		}
	case SASLPlain, SASLSCRAMSHA256, SASLSCRAMSHA512:
		if o.SASL.Username == "" {
			return fmt.Errorf("kafka.sasl.username: required with mechanism %s", o.SASL.Mechanism)
		}
		if o.SASL.Password == "" {
			return fmt.Errorf("kafka.sasl.password: required with mechanism %s", o.SASL.Mechanism)
		}
	default:
		return fmt.Errorf("kafka.sasl.mechanism: %q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", o.SASL.Mechanism)
	}
	return nil
}

// validTopicName applies Kafka's rule: 1..249 characters of [a-zA-Z0-9._-].
func validTopicName(s string) error {
	if len(s) > 249 {
		return errors.New("topic names are at most 249 characters")
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("character %q not allowed in a topic name (letters, digits, '.', '_', '-')", r)
		}
	}
	return nil
}

// withDefaults fills the zero tuning fields.
func (o Options) withDefaults() Options {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if o.Partitions == 0 {
		o.Partitions = DefaultPartitions
	}
	if o.ReplicationFactor == 0 {
		o.ReplicationFactor = DefaultReplicationFactor
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	def(&o.BatchWait, DefaultBatchWait)
	def(&o.HeartbeatInterval, DefaultHeartbeatInterval)
	def(&o.SessionTimeout, DefaultSessionTimeout)
	def(&o.RebalanceTimeout, DefaultRebalanceTimeout)
	def(&o.MaxWait, DefaultMaxWait)
	def(&o.RetryBackoff, DefaultRetryBackoff)
	def(&o.DialTimeout, DefaultDialTimeout)
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return o
}

// Topic returns the full name of a source's topic.
func (o Options) Topic(source string) string { return o.TopicPrefix + source }

// sourceOf is Topic's inverse ("" for a topic not under the prefix).
func (o Options) sourceOf(topic string) string {
	s, ok := strings.CutPrefix(topic, o.TopicPrefix)
	if !ok {
		return ""
	}
	return s
}

func (o Options) mechanism() (sasl.Mechanism, error) {
	switch o.SASL.Mechanism {
	case "":
		return nil, nil
	case SASLPlain:
		return plain.Mechanism{Username: o.SASL.Username, Password: o.SASL.Password}, nil
	case SASLSCRAMSHA256:
		return newSCRAM(scramSHA256, o.SASL.Username, o.SASL.Password), nil
	case SASLSCRAMSHA512:
		return newSCRAM(scramSHA512, o.SASL.Username, o.SASL.Password), nil
	}
	return nil, fmt.Errorf("kafka.sasl.mechanism: %q is not supported", o.SASL.Mechanism)
}

// dialer is what the consumer group, EnsureTopics and the tests connect with.
func (o Options) dialer() (*kafka.Dialer, error) {
	m, err := o.mechanism()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{
		ClientID:      "changeproof",
		Timeout:       o.DialTimeout,
		DualStack:     true,
		TLS:           o.TLS,
		SASLMechanism: m,
	}, nil
}

// transport is what writers and clients connect with.
func (o Options) transport() (*kafka.Transport, error) {
	m, err := o.mechanism()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{
		ClientID:    "changeproof",
		DialTimeout: o.DialTimeout,
		TLS:         o.TLS,
		SASL:        m,
		MetadataTTL: 10 * time.Second,
	}, nil
}

// kafkaLogger adapts zap to kafka-go's logger: its chatter at debug, its
// errors at warn (they are retried; failures that matter are reported by
// this package).
func kafkaLogger(l *zap.Logger, warn bool) kafka.Logger {
	s := l.WithOptions(zap.AddCallerSkip(1)).Sugar()
	if warn {
		return kafka.LoggerFunc(func(msg string, args ...any) { s.Warnf("kafka: "+msg, args...) })
	}
	return kafka.LoggerFunc(func(msg string, args ...any) { s.Debugf("kafka: "+msg, args...) })
}
