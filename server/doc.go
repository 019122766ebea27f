// Package server answers DNS over UDP and TCP from a zones.Snapshot: it owns
// the sockets, the per-packet path and the swap of snapshots on reload.
//
// Every query, from either transport, goes through ServePacket: bytes in,
// bytes out. The answer follows docs/design.md#answers (authoritative answers, CNAME
// chasing inside our zones, referrals, negative answers with the SOA, EDNS,
// truncation) and docs/design.md#the-client-its-site-and-its-scope (the client is the packet source or, when the config
// enables client_subnet, the EDNS Client Subnet address); the client's site
// picks the answer set of a site-aware name and package ordering orders it.
//
//	snap, err := zones.Load("contoso.toml", zones.NewCounters())
//	if err != nil {
//		return err
//	}
//	srv := server.New(server.Config{Listen: []string{"127.0.0.1:5300"}, Stats: metrics.NewStats()}, snap)
//	if err := srv.Start(); err != nil {
//		return err
//	}
//	// On reload: srv.Swap(newSnap). On exit:
//	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
//	defer cancel()
//	return srv.Shutdown(ctx)
//
// UDP is served by one reader goroutine per socket, several sockets per
// address sharing the port through SO_REUSEPORT; TCP by one goroutine per
// connection, with pipelining, an idle timeout and connection caps. Each
// query loads the snapshot once, so a Swap never mixes two configurations in
// one answer.
package server
