package store_test

import (
	"reflect"
	"testing"

	"github.com/changeproof/changeproof/store"
)

// TestStoreHandsOutNoDB: nothing on the store's API returns the database
// beneath it, so nothing outside the store reaches the engine past it;
// tests use storetest.DB.
func TestStoreHandsOutNoDB(t *testing.T) {
	db := reflect.TypeOf((*store.DB)(nil)).Elem()
	st := reflect.TypeOf(&store.Store{})
	if st.NumMethod() < 20 {
		t.Fatalf("only %d methods: is this the store?", st.NumMethod())
	}
	for i := 0; i < st.NumMethod(); i++ {
		m := st.Method(i)
		for o := 0; o < m.Type.NumOut(); o++ {
			if out := m.Type.Out(o); out == db || (out.Kind() != reflect.Interface && out.Implements(db)) {
				t.Errorf("(*store.Store).%s returns %s: the database beneath the store is not its API", m.Name, out)
			}
		}
	}
}
