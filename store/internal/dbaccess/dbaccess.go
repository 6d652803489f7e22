// Package dbaccess hands test support (store/storetest) the database a
// store wraps, without a method on the store's serving API: only packages
// under store/ may import it, and of those only storetest does.
package dbaccess

// Of returns the database *store.Store s wraps (a store.DB); package store
// sets it when it is loaded. The types are any because this package sits
// below store.
var Of func(s any) any
