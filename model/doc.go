// Package model holds the types every other package shares: raw deliveries,
// the canonical evidence records enrichment derives from them, and the
// findings controls produce. It sits at the bottom of the import graph and
// imports nothing from this module.
package model
