/*
 * OTLP ExportTraceServiceRequest (protobuf wire format) -> the raw spans of ingest.
 *
 * The same result as upb parsing followed by `openinference.raw_span` per span, without a
 * protobuf message object per field: this step was ~16 us of the ~41 us of Python work per
 * span (docs/adr/0007). `_wire_values.c` reads the wire primitives and attribute values; this
 * file reads the messages around them. Schema: opentelemetry-proto trace/v1, common/v1,
 * resource/v1 (field numbers in the comments; a test checks them against the installed
 * descriptors).
 *
 * Strictness: anything this decoder is not sure to read exactly as upb does raises
 * `Unsupported` (truncated or malformed wire data, invalid UTF-8, a known field with another
 * wire type, a singular message field that occurs twice and would be merged, groups,
 * string_value_strindex, values nested deeper than 16). The caller then parses with upb, which
 * gives the canonical result or the canonical error. Unknown fields are skipped, as upb does.
 *
 * Output of decode(data, prefixes, raw_span):
 *   [(resource_attributes: dict, [(scope_name, scope_version, [raw_span(...), ...]), ...]), ...]
 * where raw_span is called positionally with (trace_id, span_id, parent_span_id, name,
 * start_ns, end_ns, attributes, indexed, events, status_code, status_message); attributes whose
 * key starts with one of `prefixes` go to `indexed`, the others to `attributes`; events are
 * (name, time_unix_nano, attributes) tuples. Attribute values: strings, ints, floats and bools
 * as they are, arrays as lists, kvlists as dicts, bytes as base64 text, an unset value None.
 */
#include "_wire.h"

/* Attributes into one dict, or split between `attrs` and `indexed` by key prefix. */
typedef struct {
    const char **bytes;
    Py_ssize_t *lens;
    Py_ssize_t count;
} Prefixes;

static int has_prefix(PyObject *key, const Prefixes *pre) {
    Py_ssize_t n;
    const char *k = PyUnicode_AsUTF8AndSize(key, &n);
    if (k == NULL) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < pre->count; i++) {
        if (n >= pre->lens[i] && memcmp(k, pre->bytes[i], pre->lens[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static int split_key_value(PyObject *attrs, PyObject *indexed, Buf kv, const Prefixes *pre) {
    PyObject *key, *value;
    if (key_value(kv, 0, &key, &value) < 0) {
        return -1;
    }
    int routed = has_prefix(key, pre);
    int rc = routed < 0 ? -1 : PyDict_SetItem(routed ? indexed : attrs, key, value);
    Py_DECREF(key);
    Py_DECREF(value);
    return rc;
}

/* Event: 1 time_unix_nano (fixed64), 2 name, 3 attributes, 4 dropped_attributes_count. */
static PyObject *event(Buf b) {
    PyObject *attrs = PyDict_New();
    PyObject *name = NULL;
    uint64_t time_ns = 0;
    uint32_t field, wire;
    Buf sub;
    if (attrs == NULL) {
        return NULL;
    }
    while (b.p < b.end) {
        if (read_tag(&b, &field, &wire) < 0) {
            goto fail;
        }
        if (field == 1) {
            if (expect_wire(wire, 1) < 0 || read_fixed64(&b, &time_ns) < 0) {
                goto fail;
            }
        } else if (field == 2) {
            if (expect_wire(wire, 2) < 0 || read_len(&b, &sub) < 0) {
                goto fail;
            }
            Py_XSETREF(name, to_str(sub));
            if (name == NULL) {
                goto fail;
            }
        } else if (field == 3) {
            if (attributes_field(&b, wire, attrs) < 0) {
                goto fail;
            }
        } else if (field == 4) {
            if (expect_wire(wire, 0) < 0 || skip_field(&b, wire) < 0) {
                goto fail;
            }
        } else if (skip_field(&b, wire) < 0) {
            goto fail;
        }
    }
    if (name == NULL && (name = PyUnicode_New(0, 127)) == NULL) {
        goto fail;
    }
    PyObject *out = Py_BuildValue("(NKN)", name, (unsigned long long)time_ns, attrs);
    return out;
fail:
    Py_XDECREF(name);
    Py_DECREF(attrs);
    return NULL;
}

/* Link: 1 trace_id, 2 span_id, 3 trace_state, 4 attributes, 5 dropped, 6 flags. Validated
   (upb would refuse a malformed one) and dropped: links are not stored. */
static int check_link(Buf b) {
    PyObject *attrs = PyDict_New();
    uint32_t field, wire;
    Buf sub;
    int rc = attrs == NULL ? -1 : 0;
    while (rc == 0 && b.p < b.end) {
        rc = read_tag(&b, &field, &wire);
        if (rc < 0) {
            break;
        }
        if (field == 1 || field == 2 || field == 3) {
            rc = expect_wire(wire, 2) < 0 || read_len(&b, &sub) < 0 ? -1 : 0;
            if (rc == 0 && field == 3) {
                rc = check_utf8(sub);
            }
        } else if (field == 4) {
            rc = attributes_field(&b, wire, attrs);
        } else if (field == 5 || field == 6) {
            rc = expect_wire(wire, field == 5 ? 0 : 5) < 0 ? -1 : skip_field(&b, wire);
        } else {
            rc = skip_field(&b, wire);
        }
    }
    Py_XDECREF(attrs);
    return rc;
}

/* Status: 1 deprecated code, 2 message, 3 code (enum). */
static int status(Buf b, long *code, PyObject **message) {
    uint32_t field, wire;
    uint64_t v;
    Buf sub;
    while (b.p < b.end) {
        if (read_tag(&b, &field, &wire) < 0) {
            return -1;
        }
        if (field == 2) {
            if (expect_wire(wire, 2) < 0 || read_len(&b, &sub) < 0) {
                return -1;
            }
            PyObject *m = to_str(sub);
            if (m == NULL) {
                return -1;
            }
            Py_SETREF(*message, m);
        } else if (field == 3 || field == 1) {
            if (expect_wire(wire, 0) < 0 || read_varint(&b, &v) < 0) {
                return -1;
            }
            if (field == 3) {
                *code = (long)(int32_t)(uint32_t)v;
            }
        } else if (skip_field(&b, wire) < 0) {
            return -1;
        }
    }
    return 0;
}

typedef struct {
    Buf trace_id, span_id, parent_span_id;
    PyObject *name, *attrs, *indexed, *events, *status_message;
    uint64_t start_ns, end_ns;
    long status_code;
    int has_status;
} SpanFields;

static int span_bytes_field(Buf *b, uint32_t wire, Buf *out) {
    return expect_wire(wire, 2) < 0 ? -1 : read_len(b, out);
}

static int span_field(Buf *b, uint32_t field, uint32_t wire, SpanFields *s, const Prefixes *pre) {
    Buf sub;
    switch (field) {
    case 1:
        return span_bytes_field(b, wire, &s->trace_id);
    case 2:
        return span_bytes_field(b, wire, &s->span_id);
    case 4:
        return span_bytes_field(b, wire, &s->parent_span_id);
    case 3:
        return span_bytes_field(b, wire, &sub) < 0 ? -1 : check_utf8(sub);
    case 5:
        if (span_bytes_field(b, wire, &sub) < 0) {
            return -1;
        }
        Py_XSETREF(s->name, to_str(sub));
        return s->name == NULL ? -1 : 0;
    case 6:
    case 10:
    case 12:
    case 14:
        return expect_wire(wire, 0) < 0 ? -1 : skip_field(b, wire);
    case 7:
        return expect_wire(wire, 1) < 0 ? -1 : read_fixed64(b, &s->start_ns);
    case 8:
        return expect_wire(wire, 1) < 0 ? -1 : read_fixed64(b, &s->end_ns);
    case 9:
        if (span_bytes_field(b, wire, &sub) < 0) {
            return -1;
        }
        return split_key_value(s->attrs, s->indexed, sub, pre);
    case 11:
        if (span_bytes_field(b, wire, &sub) < 0) {
            return -1;
        }
        return append_new(s->events, event(sub));
    case 13:
        return span_bytes_field(b, wire, &sub) < 0 ? -1 : check_link(sub);
    case 15:
        if (s->has_status) {
            return unsupported("Span.status twice (would be merged)");
        }
        s->has_status = 1;
        if (span_bytes_field(b, wire, &sub) < 0) {
            return -1;
        }
        return status(sub, &s->status_code, &s->status_message);
    case 16:
        return expect_wire(wire, 5) < 0 ? -1 : skip_field(b, wire);
    default:
        return skip_field(b, wire);
    }
}

static PyObject *bytes_of(Buf b) {
    return PyBytes_FromStringAndSize((const char *)b.p, b.p == NULL ? 0 : b.end - b.p);
}

static PyObject *span(Buf b, const Prefixes *pre, PyObject *raw_span) {
    SpanFields s = {{NULL, NULL}, {NULL, NULL}, {NULL, NULL}, NULL, PyDict_New(), PyDict_New(),
                    PyList_New(0), PyUnicode_New(0, 127), 0, 0, 0, 0};
    PyObject *out = NULL;
    uint32_t field, wire;
    if (s.attrs == NULL || s.indexed == NULL || s.events == NULL || s.status_message == NULL) {
        goto done;
    }
    while (b.p < b.end) {
        if (read_tag(&b, &field, &wire) < 0 || span_field(&b, field, wire, &s, pre) < 0) {
            goto done;
        }
    }
    if (s.name == NULL && (s.name = PyUnicode_New(0, 127)) == NULL) {
        goto done;
    }
    PyObject *args[11] = {
        bytes_of(s.trace_id), bytes_of(s.span_id), bytes_of(s.parent_span_id), s.name,
        PyLong_FromUnsignedLongLong(s.start_ns), PyLong_FromUnsignedLongLong(s.end_ns),
        s.attrs, s.indexed, s.events, PyLong_FromLong(s.status_code), s.status_message,
    };
    int ok = args[0] && args[1] && args[2] && args[4] && args[5] && args[9];
    if (ok) {
        out = PyObject_Vectorcall(raw_span, args, 11, NULL);
    }
    Py_XDECREF(args[0]);
    Py_XDECREF(args[1]);
    Py_XDECREF(args[2]);
    Py_XDECREF(args[4]);
    Py_XDECREF(args[5]);
    Py_XDECREF(args[9]);
done:
    Py_XDECREF(s.name);
    Py_XDECREF(s.attrs);
    Py_XDECREF(s.indexed);
    Py_XDECREF(s.events);
    Py_XDECREF(s.status_message);
    return out;
}

/* InstrumentationScope: 1 name, 2 version, 3 attributes (validated), 4 dropped. */
static int scope(Buf b, PyObject **name, PyObject **version) {
    uint32_t field, wire;
    Buf sub;
    PyObject *attrs = PyDict_New();
    int rc = attrs == NULL ? -1 : 0;
    while (rc == 0 && b.p < b.end) {
        if (read_tag(&b, &field, &wire) < 0) {
            rc = -1;
        } else if (field == 1 || field == 2) {
            PyObject *s = NULL;
            rc = expect_wire(wire, 2) < 0 || read_len(&b, &sub) < 0 || (s = to_str(sub)) == NULL
                     ? -1
                     : 0;
            if (rc == 0) {
                Py_SETREF(*(field == 1 ? name : version), s);
            }
        } else if (field == 3) {
            rc = attributes_field(&b, wire, attrs);
        } else if (field == 4) {
            rc = expect_wire(wire, 0) < 0 ? -1 : skip_field(&b, wire);
        } else {
            rc = skip_field(&b, wire);
        }
    }
    Py_XDECREF(attrs);
    return rc;
}

/* ScopeSpans: 1 scope, 2 spans, 3 schema_url -> (scope_name, scope_version, [raw spans]). */
static PyObject *scope_spans(Buf b, const Prefixes *pre, PyObject *raw_span) {
    PyObject *name = PyUnicode_New(0, 127);
    PyObject *version = PyUnicode_New(0, 127);
    PyObject *spans = PyList_New(0);
    int has_scope = 0;
    uint32_t field, wire;
    Buf sub;
    if (name == NULL || version == NULL || spans == NULL) {
        goto fail;
    }
    while (b.p < b.end) {
        if (read_tag(&b, &field, &wire) < 0) {
            goto fail;
        }
        if (field == 1 || field == 2 || field == 3) {
            if (expect_wire(wire, 2) < 0 || read_len(&b, &sub) < 0) {
                goto fail;
            }
        } else if (skip_field(&b, wire) < 0) {
            goto fail;
        }
        if (field == 1) {
            if (has_scope) {
                unsupported("ScopeSpans.scope twice (would be merged)");
                goto fail;
            }
            has_scope = 1;
            if (scope(sub, &name, &version) < 0) {
                goto fail;
            }
        } else if (field == 2) {
            if (append_new(spans, span(sub, pre, raw_span)) < 0) {
                goto fail;
            }
        } else if (field == 3 && check_utf8(sub) < 0) {
            goto fail;
        }
    }
    return Py_BuildValue("(NNN)", name, version, spans);
fail:
    Py_XDECREF(name);
    Py_XDECREF(version);
    Py_XDECREF(spans);
    return NULL;
}

/* EntityRef: 1 schema_url, 2 type, 3 id_keys, 4 description_keys (all strings). */
static int check_entity_ref(Buf b) {
    uint32_t field, wire;
    Buf sub;
    while (b.p < b.end) {
        if (read_tag(&b, &field, &wire) < 0) {
            return -1;
        }
        if (field >= 1 && field <= 4) {
            if (expect_wire(wire, 2) < 0 || read_len(&b, &sub) < 0 || check_utf8(sub) < 0) {
                return -1;
            }
        } else if (skip_field(&b, wire) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Resource: 1 attributes, 2 dropped_attributes_count, 3 entity_refs. */
static int resource(Buf b, PyObject *attrs) {
    uint32_t field, wire;
    Buf sub;
    while (b.p < b.end) {
        if (read_tag(&b, &field, &wire) < 0) {
            return -1;
        }
        if (field == 1) {
            if (attributes_field(&b, wire, attrs) < 0) {
                return -1;
            }
        } else if (field == 2) {
            if (expect_wire(wire, 0) < 0 || skip_field(&b, wire) < 0) {
                return -1;
            }
        } else if (field == 3) {
            if (expect_wire(wire, 2) < 0 || read_len(&b, &sub) < 0 || check_entity_ref(sub) < 0) {
                return -1;
            }
        } else if (skip_field(&b, wire) < 0) {
            return -1;
        }
    }
    return 0;
}

/* ResourceSpans: 1 resource, 2 scope_spans, 3 schema_url -> (resource_attrs, [scopes]). */
static PyObject *resource_spans(Buf b, const Prefixes *pre, PyObject *raw_span) {
    PyObject *attrs = PyDict_New();
    PyObject *scopes = PyList_New(0);
    int has_resource = 0;
    uint32_t field, wire;
    Buf sub;
    if (attrs == NULL || scopes == NULL) {
        goto fail;
    }
    while (b.p < b.end) {
        if (read_tag(&b, &field, &wire) < 0) {
            goto fail;
        }
        if (field < 1 || field > 3) {
            if (skip_field(&b, wire) < 0) {
                goto fail;
            }
            continue;
        }
        if (expect_wire(wire, 2) < 0 || read_len(&b, &sub) < 0) {
            goto fail;
        }
        if (field == 1) {
            if (has_resource) {
                unsupported("ResourceSpans.resource twice (would be merged)");
                goto fail;
            }
            has_resource = 1;
            if (resource(sub, attrs) < 0) {
                goto fail;
            }
        } else if (field == 2) {
            if (append_new(scopes, scope_spans(sub, pre, raw_span)) < 0) {
                goto fail;
            }
        } else if (check_utf8(sub) < 0) {
            goto fail;
        }
    }
    return Py_BuildValue("(NN)", attrs, scopes);
fail:
    Py_XDECREF(attrs);
    Py_XDECREF(scopes);
    return NULL;
}

static int read_prefixes(PyObject *seq, Prefixes *pre) {
    pre->count = PyTuple_GET_SIZE(seq);
    pre->bytes = PyMem_Calloc(pre->count + 1, sizeof(char *));
    pre->lens = PyMem_Calloc(pre->count + 1, sizeof(Py_ssize_t));
    if (pre->bytes == NULL || pre->lens == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < pre->count; i++) {
        PyObject *item = PyTuple_GET_ITEM(seq, i);
        if (!PyUnicode_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "prefixes must be a tuple of str");
            return -1;
        }
        pre->bytes[i] = PyUnicode_AsUTF8AndSize(item, &pre->lens[i]);
        if (pre->bytes[i] == NULL) {
            return -1;
        }
    }
    return 0;
}

static PyObject *decode(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 3 || !PyTuple_Check(args[1]) || !PyCallable_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "decode(data, prefixes: tuple[str, ...], raw_span)");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    Prefixes pre = {NULL, NULL, 0};
    PyObject *out = NULL;
    Buf b = {(const uint8_t *)view.buf, (const uint8_t *)view.buf + view.len};
    Buf sub;
    int more = 0;
    if (read_prefixes(args[1], &pre) < 0 || (out = PyList_New(0)) == NULL) {
        goto fail;
    }
    /* ExportTraceServiceRequest: 1 resource_spans. */
    while ((more = next_repeated(&b, &sub)) > 0) {
        if (append_new(out, resource_spans(sub, &pre, args[2])) < 0) {
            goto fail;
        }
    }
    if (more < 0) {
        goto fail;
    }
    PyMem_Free(pre.bytes);
    PyMem_Free(pre.lens);
    PyBuffer_Release(&view);
    return out;
fail:
    Py_XDECREF(out);
    PyMem_Free(pre.bytes);
    PyMem_Free(pre.lens);
    PyBuffer_Release(&view);
    return NULL;
}

static PyMethodDef methods[] = {
    {"decode", (PyCFunction)(void (*)(void))decode, METH_FASTCALL,
     "decode(data, prefixes, raw_span) -> [(resource_attrs, [(scope_name, scope_version, "
     "[raw spans])])]; raises Unsupported where upb must decide."},
    {"indexed_fast", (PyCFunction)(void (*)(void))indexed_fast, METH_FASTCALL,
     "indexed_fast(indexed, message, document, parse_json_object) -> (input_messages, "
     "output_messages, documents) or None where parse_indexed must decide."},
    {"row_setup", (PyCFunction)row_setup, METH_O,
     "row_setup(context) hands over the constants rows_fast reads (openinference)."},
    {"rows_fast", (PyCFunction)(void (*)(void))rows_fast, METH_FASTCALL,
     "rows_fast(spans, resource_attrs, scope_name, scope_version, project) -> (rows, "
     "deferred): per raw span its store row, or None where build_row must decide."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_wire",
    "OTLP ExportTraceServiceRequest wire format to raw spans (see _wire.c).", -1, methods,
};

PyMODINIT_FUNC PyInit__wire(void) {
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL) {
        return NULL;
    }
    wire_unsupported = PyErr_NewExceptionWithDoc(
        "llmpulse.ingest._wire.Unsupported",
        "The body holds something only upb may decide (see _wire.c); parse it with upb.",
        PyExc_ValueError, NULL);
    if (wire_unsupported == NULL ||
        PyModule_AddObjectRef(m, "Unsupported", wire_unsupported) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
