/*
 * The OTLP wire decoder's readers (see _wire.c): protobuf wire primitives, strict UTF-8, the
 * attribute-key cache, and KeyValue / AnyValue / ArrayValue / KeyValueList into Python values
 * (common/v1: KeyValue 1 key, 2 value, 3 key_strindex; AnyValue 1 string, 2 bool, 3 int64,
 * 4 double, 5 array, 6 kvlist, 7 bytes, 8 string_value_strindex).
 */
#include "_wire.h"

#define MAX_DEPTH 16 /* AnyValue levels; upb counts message depth to 100, so stay well inside */
#define KEY_CACHE_SLOTS 1024
#define KEY_CACHE_MAX_LEN 128

PyObject *wire_unsupported = NULL;

/* Every reader returns 0 on success and -1 with an exception set. */
int unsupported(const char *why) {
    PyErr_SetString(wire_unsupported, why);
    return -1;
}

int read_varint(Buf *b, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (b->p >= b->end) {
            return unsupported("truncated varint");
        }
        uint8_t c = *b->p++;
        if (shift == 63 && (c & 0x7e)) {
            return unsupported("varint over 64 bits");
        }
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return unsupported("varint over 10 bytes");
}

int read_tag(Buf *b, uint32_t *field, uint32_t *wire) {
    uint64_t v;
    if (read_varint(b, &v) < 0) {
        return -1;
    }
    if ((v >> 3) == 0 || (v >> 3) > 536870911u) {
        return unsupported("invalid field number");
    }
    *field = (uint32_t)(v >> 3);
    *wire = (uint32_t)(v & 7);
    return 0;
}

int read_fixed64(Buf *b, uint64_t *out) {
    if (b->end - b->p < 8) {
        return unsupported("truncated fixed64");
    }
    memcpy(out, b->p, 8);
    b->p += 8;
    return 0;
}

int read_len(Buf *b, Buf *sub) {
    uint64_t n;
    if (read_varint(b, &n) < 0) {
        return -1;
    }
    if (n > (uint64_t)(b->end - b->p)) {
        return unsupported("length past the end");
    }
    sub->p = b->p;
    sub->end = b->p + n;
    b->p += n;
    return 0;
}

int skip_field(Buf *b, uint32_t wire) {
    uint64_t v;
    Buf sub;
    switch (wire) {
    case 0:
        return read_varint(b, &v);
    case 1:
        return read_fixed64(b, &v);
    case 2:
        return read_len(b, &sub);
    case 5:
        if (b->end - b->p < 4) {
            return unsupported("truncated fixed32");
        }
        b->p += 4;
        return 0;
    default:
        return unsupported("group or invalid wire type");
    }
}

int expect_wire(uint32_t wire, uint32_t want) {
    return wire == want ? 0 : unsupported("known field with another wire type");
}

/* Strict UTF-8 to str; invalid text is Unsupported (upb refuses it in proto3 strings). */
PyObject *to_str(Buf s) {
    PyObject *out = PyUnicode_DecodeUTF8((const char *)s.p, s.end - s.p, NULL);
    if (out == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
        unsupported("invalid UTF-8 in a string field");
    }
    return out;
}

int check_utf8(Buf s) {
    PyObject *o = to_str(s);
    if (o == NULL) {
        return -1;
    }
    Py_DECREF(o);
    return 0;
}

/* Attribute keys repeat from span to span: share one str per key (its hash is cached too). */
typedef struct {
    PyObject *str;
    Py_ssize_t len;
    char bytes[KEY_CACHE_MAX_LEN];
} KeySlot;

static KeySlot key_cache[KEY_CACHE_SLOTS];

PyObject *key_str(Buf s) {
    Py_ssize_t n = s.end - s.p;
    if (n > KEY_CACHE_MAX_LEN) {
        return to_str(s);
    }
    uint32_t h = 2166136261u;
    for (Py_ssize_t i = 0; i < n; i++) {
        h = (h ^ s.p[i]) * 16777619u;
    }
    KeySlot *slot = &key_cache[h & (KEY_CACHE_SLOTS - 1)];
    if (slot->str != NULL && slot->len == n && memcmp(slot->bytes, s.p, n) == 0) {
        Py_INCREF(slot->str);
        return slot->str;
    }
    PyObject *out = to_str(s);
    if (out == NULL) {
        return NULL;
    }
    Py_XSETREF(slot->str, Py_NewRef(out));
    slot->len = n;
    memcpy(slot->bytes, s.p, n);
    return out;
}

static PyObject *base64_str(Buf s) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    Py_ssize_t n = s.end - s.p;
    Py_ssize_t out_len = 4 * ((n + 2) / 3);
    PyObject *out = PyUnicode_New(out_len, 127);
    if (out == NULL) {
        return NULL;
    }
    char *o = (char *)PyUnicode_DATA(out);
    const uint8_t *p = s.p;
    Py_ssize_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
        *o++ = alphabet[(v >> 18) & 63];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = alphabet[(v >> 18) & 63];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8);
        *o++ = alphabet[(v >> 18) & 63];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = '=';
    }
    return out;
}

static PyObject *any_value(Buf b, int depth);

/* KeyValue: 1 key (string), 2 value (AnyValue), 3 key_strindex (int32, ignored). */
int key_value(Buf b, int depth, PyObject **key, PyObject **value) {
    Buf key_buf = {NULL, NULL};
    Buf value_buf;
    int has_value = 0;
    uint32_t field, wire;
    while (b.p < b.end) {
        if (read_tag(&b, &field, &wire) < 0) {
            return -1;
        }
        if (field == 1) {
            /* A repeated key: the last wins, but upb checks every one's UTF-8. */
            if (key_buf.p != NULL && check_utf8(key_buf) < 0) {
                return -1;
            }
            if (expect_wire(wire, 2) < 0 || read_len(&b, &key_buf) < 0) {
                return -1;
            }
        } else if (field == 2) {
            if (has_value) {
                return unsupported("KeyValue.value twice (would be merged)");
            }
            if (expect_wire(wire, 2) < 0 || read_len(&b, &value_buf) < 0) {
                return -1;
            }
            has_value = 1;
        } else if (field == 3) {
            if (expect_wire(wire, 0) < 0 || skip_field(&b, wire) < 0) {
                return -1;
            }
        } else if (skip_field(&b, wire) < 0) {
            return -1;
        }
    }
    *key = key_buf.p == NULL ? PyUnicode_New(0, 127) : key_str(key_buf);
    if (*key == NULL) {
        return -1;
    }
    *value = has_value ? any_value(value_buf, depth + 1) : Py_NewRef(Py_None);
    if (*value == NULL) {
        Py_CLEAR(*key);
        return -1;
    }
    return 0;
}

/* One KeyValue into the dict `into`; a later duplicate key wins. */
int put_key_value(PyObject *into, Buf kv, int depth) {
    PyObject *key, *value;
    if (key_value(kv, depth, &key, &value) < 0) {
        return -1;
    }
    int rc = PyDict_SetItem(into, key, value);
    Py_DECREF(key);
    Py_DECREF(value);
    return rc;
}

int append_new(PyObject *list, PyObject *item) {
    int rc = item == NULL ? -1 : PyList_Append(list, item);
    Py_XDECREF(item);
    return rc;
}

int next_repeated(Buf *b, Buf *sub) {
    uint32_t field, wire;
    while (b->p < b->end) {
        if (read_tag(b, &field, &wire) < 0) {
            return -1;
        }
        if (field != 1) {
            if (skip_field(b, wire) < 0) {
                return -1;
            }
            continue;
        }
        return expect_wire(wire, 2) < 0 || read_len(b, sub) < 0 ? -1 : 1;
    }
    return 0;
}

/* ArrayValue: 1 values (repeated AnyValue). */
static PyObject *array_value(Buf b, int depth) {
    PyObject *out = PyList_New(0);
    Buf sub;
    int more = 0;
    while (out != NULL && (more = next_repeated(&b, &sub)) > 0) {
        if (append_new(out, any_value(sub, depth + 1)) < 0) {
            Py_CLEAR(out);
        }
    }
    if (more < 0) {
        Py_CLEAR(out);
    }
    return out;
}

/* KeyValueList: 1 values (repeated KeyValue). */
static PyObject *kvlist_value(Buf b, int depth) {
    PyObject *out = PyDict_New();
    Buf sub;
    int more = 0;
    while (out != NULL && (more = next_repeated(&b, &sub)) > 0) {
        if (put_key_value(out, sub, depth + 1) < 0) {
            Py_CLEAR(out);
        }
    }
    if (more < 0) {
        Py_CLEAR(out);
    }
    return out;
}

/* One AnyValue member: 1 string, 2 bool, 3 int64, 4 double, 5 array, 6 kvlist, 7 bytes. */
static PyObject *any_member(Buf *b, uint32_t field, uint32_t wire, int depth) {
    uint64_t v;
    Buf sub;
    switch (field) {
    case 1:
    case 5:
    case 6:
    case 7:
        if (expect_wire(wire, 2) < 0 || read_len(b, &sub) < 0) {
            return NULL;
        }
        if (field == 1) {
            return to_str(sub);
        }
        if (field == 5) {
            return array_value(sub, depth);
        }
        return field == 6 ? kvlist_value(sub, depth) : base64_str(sub);
    case 2:
    case 3:
        if (expect_wire(wire, 0) < 0 || read_varint(b, &v) < 0) {
            return NULL;
        }
        return field == 2 ? PyBool_FromLong(v != 0) : PyLong_FromLongLong((int64_t)v);
    case 4: {
        double d;
        if (expect_wire(wire, 1) < 0 || read_fixed64(b, &v) < 0) {
            return NULL;
        }
        memcpy(&d, &v, 8);
        return PyFloat_FromDouble(d);
    }
    default:
        unsupported("string_value_strindex");
        return NULL;
    }
}

/* AnyValue: the oneof member set last wins; an empty AnyValue is None. */
static PyObject *any_value(Buf b, int depth) {
    if (depth > MAX_DEPTH) {
        unsupported("nesting too deep");
        return NULL;
    }
    PyObject *out = Py_NewRef(Py_None);
    uint32_t last = 0;
    uint32_t field, wire;
    while (b.p < b.end) {
        if (read_tag(&b, &field, &wire) < 0) {
            goto fail;
        }
        if (field > 8) {
            if (skip_field(&b, wire) < 0) {
                goto fail;
            }
            continue;
        }
        if (field == last && (field == 5 || field == 6)) {
            unsupported("AnyValue message member twice (would be merged)");
            goto fail;
        }
        PyObject *member = any_member(&b, field, wire, depth);
        if (member == NULL) {
            goto fail;
        }
        Py_SETREF(out, member);
        last = field;
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* One attributes field (a length-delimited KeyValue) of a message, into the dict `into`. */
int attributes_field(Buf *b, uint32_t wire, PyObject *into) {
    Buf sub;
    if (expect_wire(wire, 2) < 0 || read_len(b, &sub) < 0) {
        return -1;
    }
    return put_key_value(into, sub, 0);
}

