// Package clickhouse runs the store on a ClickHouse server, or a cluster of
// them, over the native protocol (clickhouse-go/v2). It runs the same SQL as
// the embedded engine (store/chdb): statements take server-side
// {name:Type} parameters, rows are structs whose json tags name the
// columns, and store.Time's zero travels as the Unix epoch.
//
// In cluster mode (Options.Cluster) the database is created ON CLUSTER and
// inserts into the Distributed tables wait for every shard; apply the
// migrations through store.OnCluster, which makes the replicated tables and
// their Distributed fronts:
//
//	db, err := clickhouse.Open(ctx, opts)
//	...
//	err = store.Migrate(ctx, store.OnCluster(db, db.Cluster(), db.Database()))
package clickhouse
