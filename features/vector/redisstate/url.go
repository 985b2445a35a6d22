package redisstate

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// client is what the guard needs of a single-node or a cluster client.
type client = redis.UniversalClient

// newClient builds the client REDIS_URL names, without dialling. One node
// (redis://[user:pass@]host:port/db) is a plain client; several nodes
// separated by commas (redis://[user:pass@]h1:p1,h2:p2,h3:p3) are seeds of
// a Redis Cluster: the cluster client learns the other nodes and the slot
// map from them (CLUSTER SLOTS) and follows failovers. Credentials, TLS
// (rediss://) and go-redis's query options apply to every node. addr is
// the node list, fit to show (no credentials).
func newClient(raw string, timeout time.Duration) (c client, addr string, isCluster bool, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the URL in its error: never show it
		return nil, "", false, errors.New("parse REDIS_URL: not a URL (want redis://[user:pass@]host:port/db, or host:port,host:port,... for a cluster)")
	}
	hosts := strings.Split(u.Host, ",")
	if len(hosts) == 1 {
		opt, err := redis.ParseURL(raw)
		if err != nil {
			return nil, "", false, fmt.Errorf("parse REDIS_URL: %w", err)
		}
		// go-redis defaults (5 s dial, 5 dial attempts 100 ms apart, 3
		// retries) cost seconds per call against a dead Redis; bound them all.
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = timeout, timeout, timeout, timeout
		opt.DialerRetries = 1
		opt.MaxRetries = -1
		opt.ContextTimeoutEnabled = true
		opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
		return redis.NewClient(opt), opt.Addr, false, nil
	}
	if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
		return nil, "", false, fmt.Errorf("parse REDIS_URL: a Redis Cluster has only database 0, the URL names /%s", p)
	}
	for i, h := range hosts {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" || port == "" {
			return nil, "", false, fmt.Errorf("parse REDIS_URL: cluster node %d (%q): want host:port", i+1, h)
		}
	}
	// go-redis's own cluster URL form: the first node in the authority,
	// the others as addr= options.
	seed := *u
	seed.Host, seed.Path, seed.RawPath = hosts[0], "", ""
	q := u.Query()
	if q.Has("addr") {
		return nil, "", false, errors.New("parse REDIS_URL: name the cluster's nodes in the host part (h1:p1,h2:p2), not as addr= options")
	}
	q["addr"] = hosts[1:]
	seed.RawQuery = q.Encode()
	opt, err := redis.ParseClusterURL(seed.String())
	if err != nil {
		return nil, "", false, fmt.Errorf("parse REDIS_URL: %w", err)
	}
	if opt.TLSConfig != nil {
		opt.TLSConfig.ServerName = "" // each node is verified under its own name, not the first's
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = timeout, timeout, timeout, timeout
	opt.DialerRetries = 1
	opt.MaxRetries = -1
	opt.ContextTimeoutEnabled = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return redis.NewClusterClient(opt), strings.Join(hosts, ","), true, nil
}
