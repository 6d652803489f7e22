package deploy_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/changeproof/changeproof/config"
)

// ---------------------------------------------------------------------------
// ClickHouse cluster example

type chConfig struct {
	Clusters struct {
		Changeproof *struct {
			Secret struct {
				FromEnv string `xml:"from_env,attr"`
			} `xml:"secret"`
			Shards []struct {
				InternalReplication bool `xml:"internal_replication"`
				Replicas            []struct {
					Host string `xml:"host"`
					Port int    `xml:"port"`
				} `xml:"replica"`
			} `xml:"shard"`
		} `xml:"changeproof"`
	} `xml:"remote_servers"`
	Zookeeper []struct {
		Host string `xml:"host"`
		Port int    `xml:"port"`
	} `xml:"zookeeper>node"`
	Macros struct {
		Cluster string `xml:"cluster"`
		Shard   string `xml:"shard"`
		Replica string `xml:"replica"`
	} `xml:"macros"`
	Keeper struct {
		TCPPort  int `xml:"tcp_port"`
		ServerID struct {
			FromEnv string `xml:"from_env,attr"`
		} `xml:"server_id"`
		Servers []struct {
			ID       int    `xml:"id"`
			Hostname string `xml:"hostname"`
		} `xml:"raft_configuration>server"`
	} `xml:"keeper_server"`
}

func readXML(t *testing.T, path string) chConfig {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Well-formed, all the way through.
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	var c chConfig
	if err := xml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func TestClickHouseCluster(t *testing.T) {
	dir := filepath.Join(root, "deploy", "clickhouse-cluster")
	cluster := readXML(t, filepath.Join(dir, "config.d", "cluster.xml"))
	cp := cluster.Clusters.Changeproof
	if cp == nil {
		t.Fatal("config.d/cluster.xml defines no remote_servers cluster named changeproof")
	}
	if len(cp.Shards) != 2 {
		t.Errorf("cluster changeproof has %d shards, want 2", len(cp.Shards))
	}
	if cp.Secret.FromEnv == "" {
		t.Error("cluster changeproof has no inter-server secret")
	}
	var hosts []string
	for i, s := range cp.Shards {
		if !s.InternalReplication {
			t.Errorf("shard %d: internal_replication is off; replicated tables would be written twice", i+1)
		}
		if len(s.Replicas) != 2 {
			t.Errorf("shard %d has %d replicas, want 2", i+1, len(s.Replicas))
		}
		for _, r := range s.Replicas {
			hosts = append(hosts, r.Host)
			m := readXML(t, filepath.Join(dir, "macros", r.Host+".xml")).Macros
			if m.Shard != strconv.Itoa(i+1) || m.Replica != r.Host || m.Cluster != "changeproof" {
				t.Errorf("macros/%s.xml: shard %q replica %q cluster %q, want %d, %s, changeproof", r.Host, m.Shard, m.Replica, m.Cluster, i+1, r.Host)
			}
		}
	}
	macroFiles, _ := filepath.Glob(filepath.Join(dir, "macros", "*.xml"))
	if len(macroFiles) != len(hosts) {
		t.Errorf("%d macros files for %d servers", len(macroFiles), len(hosts))
	}

	keeper := readXML(t, filepath.Join(dir, "keeper", "keeper_config.xml")).Keeper
	if len(keeper.Servers) != 3 {
		t.Errorf("Keeper has %d servers, want 3 (a majority survives one loss)", len(keeper.Servers))
	}
	if keeper.ServerID.FromEnv == "" {
		t.Error("keeper_config.xml: server_id is not taken from the environment")
	}
	var keepers []string
	for i, s := range keeper.Servers {
		if s.ID != i+1 {
			t.Errorf("Keeper server %d has id %d", i+1, s.ID)
		}
		keepers = append(keepers, s.Hostname)
	}
	var zk []string
	for _, n := range cluster.Zookeeper {
		zk = append(zk, n.Host)
		if n.Port != keeper.TCPPort {
			t.Errorf("server config reaches Keeper %s on port %d, Keeper listens on %d", n.Host, n.Port, keeper.TCPPort)
		}
	}
	if !slices.Equal(zk, keepers) {
		t.Errorf("servers use Keeper nodes %v, the ensemble is %v", zk, keepers)
	}

	// The example compose file runs exactly these nodes, each with its own
	// macros and the shared cluster config.
	c := readYAML(t, filepath.Join(dir, "docker-compose.yml"))
	services := mapAt(t, c, "services")
	for _, h := range hosts {
		svc := mapAt(t, services, h)
		vols := strList(t, svc["volumes"])
		for _, want := range []string{
			"./config.d/cluster.xml:/etc/clickhouse-server/config.d/cluster.xml:ro",
			"./macros/" + h + ".xml:/etc/clickhouse-server/config.d/macros.xml:ro",
		} {
			if !slices.Contains(vols, want) {
				t.Errorf("services.%s does not mount %s", h, want)
			}
		}
		if svc["hostname"] != h {
			t.Errorf("services.%s.hostname = %v: replicas reach each other by the name in remote_servers", h, svc["hostname"])
		}
		if envMap(t, svc["environment"])["CLICKHOUSE_CLUSTER_SECRET"] == "" {
			t.Errorf("services.%s does not set CLICKHOUSE_CLUSTER_SECRET", h)
		}
	}
	for i, k := range keepers {
		svc := mapAt(t, services, k)
		if id := envMap(t, svc["environment"])[keeper.ServerID.FromEnv]; id != strconv.Itoa(i+1) {
			t.Errorf("services.%s: %s = %q, want %d", k, keeper.ServerID.FromEnv, id, i+1)
		}
	}
	if len(services) != len(hosts)+len(keepers) {
		t.Errorf("cluster compose has %d services, want %d servers + %d Keeper nodes", len(services), len(hosts), len(keepers))
	}

	// The changeproof side: clickhouse.cluster names the cluster.
	path := filepath.Join(dir, "changeproof.yaml")
	raw := readYAML(t, path)
	checkNoInlineSecrets(t, raw, "")
	env, _ := secretOverrides(t, raw, "/run/secrets", func(name string) (string, bool) { return fakeSecret(name), true })
	cfg, err := config.LoadWithEnv(path, env)
	if err != nil {
		t.Fatalf("%s does not load: %v", path, err)
	}
	if cfg.ClickHouse.Cluster != "changeproof" {
		t.Errorf("clickhouse.cluster = %q, want changeproof", cfg.ClickHouse.Cluster)
	}
	if host, _, _ := strings.Cut(cfg.ClickHouse.Addr, ":"); !slices.Contains(hosts, host) {
		t.Errorf("clickhouse.addr = %q, want a server of the cluster %v", cfg.ClickHouse.Addr, hosts)
	}
}
