package transport

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/segmentio/kafka-go/sasl"
)

// SCRAM (RFC 5802, RFC 7677) as Kafka speaks it, for kafka-go's sasl
// interface. kafka-go's own sasl/scram needs a module this build does not
// carry, and the exchange is small.

type scramHash struct {
	name string
	new  func() hash.Hash
}

var (
	scramSHA256 = scramHash{SASLSCRAMSHA256, sha256.New}
	scramSHA512 = scramHash{SASLSCRAMSHA512, sha512.New}
)

// scramMaxIterations refuses a server that would make the client spin.
const scramMaxIterations = 1 << 20

type scramMechanism struct {
	h                  scramHash
	username, password string
	nonce              func() string // client nonce; tests fix it
}

func newSCRAM(h scramHash, username, password string) *scramMechanism {
	return &scramMechanism{h: h, username: username, password: password, nonce: randomNonce}
}

func randomNonce() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func (m *scramMechanism) Name() string { return m.h.name }

// Start sends client-first-message.
func (m *scramMechanism) Start(context.Context) (sasl.StateMachine, []byte, error) {
	// saslname: ',' and '=' escaped (RFC 5802 5.1). SASLprep is not applied;
	// Kafka's own clients do not apply it either.
	name := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(m.username)
	s := &scramSession{m: m, clientNonce: m.nonce()}
	s.clientFirstBare = "n=" + name + ",r=" + s.clientNonce
	return s, []byte("n,," + s.clientFirstBare), nil
}

type scramSession struct {
	m               *scramMechanism
	clientNonce     string
	clientFirstBare string
	serverSignature []byte
	step            int
}

func (s *scramSession) Next(_ context.Context, challenge []byte) (bool, []byte, error) {
	s.step++
	switch s.step {
	case 1:
		resp, err := s.final(string(challenge))
		return false, resp, err
	case 2:
		return true, nil, s.verify(string(challenge))
	}
	return false, nil, errors.New("scram: unexpected challenge after the exchange ended")
}

// final answers server-first-message with client-final-message.
func (s *scramSession) final(serverFirst string) ([]byte, error) {
	attrs, err := scramAttrs(serverFirst)
	if err != nil {
		return nil, err
	}
	if e, ok := attrs["e"]; ok {
		return nil, fmt.Errorf("scram: server error %q", e)
	}
	nonce := attrs["r"]
	if !strings.HasPrefix(nonce, s.clientNonce) || len(nonce) == len(s.clientNonce) {
		return nil, errors.New("scram: server nonce does not extend the client nonce")
	}
	salt, err := base64.StdEncoding.DecodeString(attrs["s"])
	if err != nil || len(salt) == 0 {
		return nil, errors.New("scram: bad salt")
	}
	iter, err := strconv.Atoi(attrs["i"])
	if err != nil || iter < 1 || iter > scramMaxIterations {
		return nil, fmt.Errorf("scram: bad iteration count %q", attrs["i"])
	}
	h := s.m.h.new
	salted, err := pbkdf2.Key(h, s.m.password, salt, iter, h().Size())
	if err != nil {
		return nil, fmt.Errorf("scram: %w", err)
	}
	withoutProof := "c=biws,r=" + nonce // biws = base64("n,,")
	authMessage := []byte(s.clientFirstBare + "," + serverFirst + "," + withoutProof)

	clientKey := scramHMAC(h, salted, []byte("Client Key"))
	storedKey := h()
	storedKey.Write(clientKey)
	clientSig := scramHMAC(h, storedKey.Sum(nil), authMessage)
	proof := make([]byte, len(clientKey))
	subtle.XORBytes(proof, clientKey, clientSig)
	serverKey := scramHMAC(h, salted, []byte("Server Key"))
	s.serverSignature = scramHMAC(h, serverKey, authMessage)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// verify checks server-final-message, which proves the server knew the
// password too.
func (s *scramSession) verify(serverFinal string) error {
	attrs, err := scramAttrs(serverFinal)
	if err != nil {
		return err
	}
	if e, ok := attrs["e"]; ok {
		return fmt.Errorf("scram: server error %q", e)
	}
	v, err := base64.StdEncoding.DecodeString(attrs["v"])
	if err != nil || !hmac.Equal(v, s.serverSignature) {
		return errors.New("scram: server signature does not verify")
	}
	return nil
}

func scramHMAC(h func() hash.Hash, key, msg []byte) []byte {
	m := hmac.New(h, key)
	m.Write(msg)
	return m.Sum(nil)
}

// scramAttrs splits "a=1,b=2" into its attributes.
func scramAttrs(msg string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(msg, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || len(k) != 1 {
			if kv == "" {
				continue
			}
			return nil, fmt.Errorf("scram: malformed server message %q", bytes.TrimSpace([]byte(msg)))
		}
		out[k] = v
	}
	return out, nil
}
