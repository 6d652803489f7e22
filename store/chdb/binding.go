package chdb

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>

// The engine's C API, declared by hand: libchdb.so ships without a header and
// is opened at run time, so a build never needs it.
typedef struct { void *internal_data; } chdb_result;
typedef struct { void *internal_data; } *chdb_connection;

static void *cp_handle;
static chdb_connection *(*cp_connect)(int, char **);
static void (*cp_close_conn)(chdb_connection *);
static chdb_result *(*cp_query_n)(chdb_connection, const char *, size_t, const char *, size_t);
static chdb_result *(*cp_query_with_params)(chdb_connection, const char *, const char *, const char *const *, const char *const *, size_t);
static void (*cp_destroy)(chdb_result *);
static char *(*cp_result_buffer)(chdb_result *);
static size_t (*cp_result_length)(chdb_result *);
static const char *(*cp_result_error)(chdb_result *);
static uint64_t (*cp_result_rows_written)(chdb_result *);
static void (*cp_set_signal_handlers_enabled)(int);
// Streaming results (optional: engines without them answer in one piece).
static chdb_result *(*cp_stream_query_with_params)(chdb_connection, const char *, const char *, const char *const *, const char *const *, size_t);
static chdb_result *(*cp_stream_fetch)(chdb_connection, chdb_result *);
static void (*cp_stream_cancel)(chdb_connection, chdb_result *);

static const char *cp_missing;

static void *cp_sym(const char *name) {
	void *p = dlsym(cp_handle, name);
	if (p == NULL && cp_missing == NULL) cp_missing = name;
	return p;
}

// The signals whose handlers the Go runtime needs and the engine takes:
// its static initialisers and chdb_connect (even with its own handlers
// disabled) set them to its handlers or to SIG_DFL. Without Go's handlers a
// nil dereference in Go code kills the process (no panic, no recover, no
// trace), and SIGURG is how Go preempts goroutines.
static const int cp_guarded[] = {SIGILL, SIGABRT, SIGFPE, SIGBUS, SIGSEGV, SIGSYS, SIGURG};
#define CP_NGUARDED (sizeof(cp_guarded) / sizeof(cp_guarded[0]))
static struct sigaction cp_saved[CP_NGUARDED];
static int cp_saved_ok;

// cp_save_signals records Go's handlers, once, before the engine first runs.
static void cp_save_signals(void) {
	if (cp_saved_ok) return;
	for (size_t i = 0; i < CP_NGUARDED; i++) sigaction(cp_guarded[i], NULL, &cp_saved[i]);
	cp_saved_ok = 1;
}

// cp_restore_signals puts Go's handlers back, flags (SA_ONSTACK, SA_SIGINFO)
// and masks included, after each call into the engine that may replace them.
static void cp_restore_signals(void) {
	if (!cp_saved_ok) return;
	for (size_t i = 0; i < CP_NGUARDED; i++) sigaction(cp_guarded[i], &cp_saved[i], NULL);
}

// cp_load returns NULL on success, or the reason the library is unusable.
static const char *cp_load(const char *path) {
	cp_save_signals();
	cp_handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	cp_restore_signals();
	if (cp_handle == NULL) return dlerror();
	cp_missing = NULL;
	cp_connect = cp_sym("chdb_connect");
	cp_close_conn = cp_sym("chdb_close_conn");
	cp_query_n = cp_sym("chdb_query_n");
	cp_query_with_params = cp_sym("chdb_query_with_params");
	cp_destroy = cp_sym("chdb_destroy_query_result");
	cp_result_buffer = cp_sym("chdb_result_buffer");
	cp_result_length = cp_sym("chdb_result_length");
	cp_result_error = cp_sym("chdb_result_error");
	cp_result_rows_written = cp_sym("chdb_result_rows_written");
	if (cp_missing != NULL) return cp_missing;
	// Optional: older engines lack it.
	cp_set_signal_handlers_enabled = dlsym(cp_handle, "chdb_set_signal_handlers_enabled");
	cp_stream_query_with_params = dlsym(cp_handle, "chdb_stream_query_with_params");
	cp_stream_fetch = dlsym(cp_handle, "chdb_stream_fetch_result");
	cp_stream_cancel = dlsym(cp_handle, "chdb_stream_cancel_query");
	return NULL;
}

static chdb_connection *cp_do_connect(int argc, char **argv) {
	// The Go runtime owns SIGSEGV, SIGPIPE and friends; the engine must not
	// replace its handlers.
	if (cp_set_signal_handlers_enabled != NULL) cp_set_signal_handlers_enabled(0);
	chdb_connection *c = cp_connect(argc, argv);
	cp_restore_signals();
	return c;
}
static void cp_do_close(chdb_connection *c) {
	cp_close_conn(c);
	cp_restore_signals();
}
static chdb_result *cp_do_query(chdb_connection *c, const char *q, size_t ql, const char *f, size_t fl) {
	return cp_query_n(*c, q, ql, f, fl);
}
static chdb_result *cp_do_query_params(chdb_connection *c, const char *q, const char *f, char **names, char **values, size_t n) {
	return cp_query_with_params(*c, q, f, (const char *const *)names, (const char *const *)values, n);
}
static void cp_do_destroy(chdb_result *r) { cp_destroy(r); }
static char *cp_buf(chdb_result *r) { return cp_result_buffer(r); }
static size_t cp_len(chdb_result *r) { return cp_result_length(r); }
static const char *cp_err(chdb_result *r) { return cp_result_error(r); }
static uint64_t cp_rows_written(chdb_result *r) { return cp_result_rows_written(r); }
static int cp_can_stream(void) { return cp_stream_query_with_params != NULL && cp_stream_fetch != NULL && cp_stream_cancel != NULL; }
static chdb_result *cp_do_stream_query_params(chdb_connection *c, const char *q, const char *f, char **names, char **values, size_t n) {
	return cp_stream_query_with_params(*c, q, f, (const char *const *)names, (const char *const *)values, n);
}
static chdb_result *cp_do_stream_fetch(chdb_connection *c, chdb_result *s) { return cp_stream_fetch(*c, s); }
static void cp_do_stream_cancel(chdb_connection *c, chdb_result *s) { cp_stream_cancel(*c, s); }
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// engine is the process-wide handle on libchdb.so. The engine allows one
// storage path per process, so there is exactly one.
type engine struct {
	conn *C.chdb_connection
}

func loadLibrary(path string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	if msg := C.cp_load(cpath); msg != nil {
		return fmt.Errorf("load %s: %s", path, C.GoString(msg))
	}
	return nil
}

func connect(args []string) (*engine, error) {
	argv := make([]*C.char, len(args))
	for i, a := range args {
		argv[i] = C.CString(a)
	}
	defer func() {
		for _, p := range argv {
			C.free(unsafe.Pointer(p))
		}
	}()
	var argvp **C.char
	if len(argv) > 0 {
		argvp = &argv[0]
	}
	conn := C.cp_do_connect(C.int(len(argv)), argvp)
	if conn == nil {
		return nil, errors.New("chdb_connect returned NULL (the engine allows one data path per process)")
	}
	return &engine{conn: conn}, nil
}

func (e *engine) close() {
	if e.conn != nil {
		C.cp_do_close(e.conn)
		e.conn = nil
	}
}

// result copies the engine's answer into Go memory and frees it.
func result(r *C.chdb_result) ([]byte, uint64, error) {
	if r == nil {
		return nil, 0, errors.New("chdb: no result")
	}
	defer C.cp_do_destroy(r)
	if msg := C.cp_err(r); msg != nil {
		return nil, 0, errors.New(C.GoString(msg))
	}
	n := C.cp_len(r)
	var out []byte
	if n > 0 {
		out = C.GoBytes(unsafe.Pointer(C.cp_buf(r)), C.int(n))
	}
	return out, uint64(C.cp_rows_written(r)), nil
}

func (e *engine) query(q []byte, format string) ([]byte, uint64, error) {
	if len(q) == 0 {
		return nil, 0, errors.New("chdb: empty query")
	}
	cf := C.CString(format)
	defer C.free(unsafe.Pointer(cf))
	r := C.cp_do_query(e.conn, (*C.char)(unsafe.Pointer(&q[0])), C.size_t(len(q)), cf, C.size_t(len(format)))
	return result(r)
}

func (e *engine) queryParams(q, format string, names, values []string) ([]byte, error) {
	var r *C.chdb_result
	withCParams(q, format, names, values, func(cq, cf *C.char, cn, cv **C.char, n C.size_t) {
		r = C.cp_do_query_params(e.conn, cq, cf, cn, cv, n)
	})
	out, _, err := result(r)
	return out, err
}

// withCParams calls f with the statement, the format and the parameters'
// names and values as C strings, freed when f returns.
func withCParams(q, format string, names, values []string, f func(cq, cf *C.char, cn, cv **C.char, n C.size_t)) {
	cq := C.CString(q)
	defer C.free(unsafe.Pointer(cq))
	cf := C.CString(format)
	defer C.free(unsafe.Pointer(cf))
	n := len(names)
	cn := C.malloc(C.size_t(n+1) * C.size_t(unsafe.Sizeof(uintptr(0))))
	cv := C.malloc(C.size_t(n+1) * C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(cn)
	defer C.free(cv)
	na := unsafe.Slice((**C.char)(cn), n+1)
	va := unsafe.Slice((**C.char)(cv), n+1)
	for i := 0; i < n; i++ {
		na[i] = C.CString(names[i])
		va[i] = C.CString(values[i])
	}
	defer func() {
		for i := 0; i < n; i++ {
			C.free(unsafe.Pointer(na[i]))
			C.free(unsafe.Pointer(va[i]))
		}
	}()
	f(cq, cf, (**C.char)(cn), (**C.char)(cv), C.size_t(n))
}

// canStream says whether the engine has the streaming API.
func canStream() bool { return C.cp_can_stream() != 0 }

// rowStream is a running streaming query on one connection.
type rowStream struct {
	e    *engine
	r    *C.chdb_result
	done bool // fetched to the end: nothing to cancel
}

func (e *engine) streamQuery(q, format string, names, values []string) (*rowStream, error) {
	var r *C.chdb_result
	withCParams(q, format, names, values, func(cq, cf *C.char, cn, cv **C.char, n C.size_t) {
		r = C.cp_do_stream_query_params(e.conn, cq, cf, cn, cv, n)
	})
	if r == nil {
		return nil, errors.New("chdb: streaming query returned no handle")
	}
	if msg := C.cp_err(r); msg != nil {
		err := errors.New(C.GoString(msg))
		C.cp_do_destroy(r)
		return nil, err
	}
	return &rowStream{e: e, r: r}, nil
}

// fetch returns the next chunk of output, "" at the end.
func (s *rowStream) fetch() (string, error) {
	c := C.cp_do_stream_fetch(s.e.conn, s.r)
	if c == nil {
		return "", errors.New("chdb: streaming fetch returned no result")
	}
	defer C.cp_do_destroy(c)
	if msg := C.cp_err(c); msg != nil {
		return "", errors.New(C.GoString(msg))
	}
	n := C.cp_len(c)
	if n == 0 {
		return "", nil
	}
	// One copy into Go memory; the rows' strings are slices of it.
	return C.GoStringN(C.cp_buf(c), C.int(n)), nil
}

// close cancels a stream not read to its end (so the connection is free
// for the next statement) and releases it.
func (s *rowStream) close() {
	if !s.done {
		C.cp_do_stream_cancel(s.e.conn, s.r)
	}
	C.cp_do_destroy(s.r)
}
