/* Shared by the two translation units of the OTLP wire decoder (see _wire.c). */
#ifndef LLMPULSE_WIRE_H
#define LLMPULSE_WIRE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the OTLP wire decoder assumes a little-endian host"/* The common case of `indexed.parse_indexed` (see _wire_indexed.c). */
PyObject *indexed_fast(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
/* The common case of `openinference.build_row` (see _wire_row.c). */
PyObject *row_setup(PyObject *module, PyObject *context);
PyObject *rows_fast(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

#endif

/* A slice of the request body being read. */
typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} Buf;

/* The `Unsupported` exception type (created at module init). */
extern PyObject *wire_unsupported;

/* Every reader returns 0 (or a new reference) on success and -1 (or NULL) with an exception
   set; `unsupported` sets `Unsupported`, the signal to decode the body with upb instead. */
int unsupported(const char *why);
int read_varint(Buf *b, uint64_t *out);
int read_tag(Buf *b, uint32_t *field, uint32_t *wire);
int read_fixed64(Buf *b, uint64_t *out);
int read_len(Buf *b, Buf *sub);
int skip_field(Buf *b, uint32_t wire);
int expect_wire(uint32_t wire, uint32_t want);
PyObject *to_str(Buf s);
int check_utf8(Buf s);
PyObject *key_str(Buf s);
/* KeyValue -> (key, value) new references; `depth` counts AnyValue nesting. */
int key_value(Buf b, int depth, PyObject **key, PyObject **value);
int put_key_value(PyObject *into, Buf kv, int depth);
/* Append `item`, a new reference (NULL: an error already set), to `list` and release it. */
int append_new(PyObject *list, PyObject *item);
/* The next length-delimited field 1 of `b` (other fields skipped) in `sub`: 1 when found, 0 at
   the end, -1 on error. Field 1 is the repeated field of the request and of the list values. */
int next_repeated(Buf *b, Buf *sub);
/* One length-delimited KeyValue field of a message, into the dict `into`. */
int attributes_field(Buf *b, uint32_t wire, PyObject *into);
/* The common case of `indexed.parse_indexed` (see _wire_indexed.c). */
PyObject *indexed_fast(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
/* The common case of `openinference.build_row` (see _wire_row.c). */
PyObject *row_setup(PyObject *module, PyObject *context);
PyObject *rows_fast(PyObject *module, PyObject *const *args, Py_ssize_t nargs);

#endif
