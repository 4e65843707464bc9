/*
 * The common case of `openinference.build_row` in C: one store row per valid raw span.
 *
 * rows_fast(spans, resource_attrs, scope_name, scope_version, project) returns
 * (rows, deferred): a list with, per raw span, its `SpanRow` or None, and how many are None.
 * None means "build_row (or the rejection) must do this span": a span that `invalid` refuses,
 * that has events, GenAI message attributes (`gen_ai.input.messages`, ...), indexed attributes
 * outside `indexed_fast`'s common case, or ids, times or status of an unexpected type. A
 * deferred span is left exactly as it came (nothing is read from it destructively before the
 * decision). Every other span gets the row `build_row` gives; a hypothesis test compares both.
 *
 * Conversions follow `attributes.as_str`/`as_int`/`as_float`: their trivial cases (None,
 * bool, int, float, str) are inline; anything else calls the Python function itself, so the
 * rules live in one place. `row_setup(context)` hands over, once, the constants the mapping
 * reads (the key tuples of `semconv`, the enum members, the helper functions).
 *
 * The spans must be `openinference.RawSpan` values: their fields are slots, which keep the
 * objects read here alive while a row is built (they are used as borrowed references).
 */
#include "_wire.h"

#define NUM_COLUMNS 35
#define MIN_TIME_NS 86400000000000LL      /* 1970-01-02T00:00:00Z */
#define MAX_TIME_NS 7258118400000000000LL /* 2200-01-01T00:00:00Z */

/* What `row_setup` hands over, in this order (the call at the end of `openinference`). */
enum {
    C_KINDS, C_KIND_UNKNOWN, C_KIND_LLM, C_GENAI_OPERATION_KINDS, C_LLM_MARKERS,
    C_MODEL, C_PROVIDER, C_PROMPT, C_COMPLETION, C_TOTAL, C_SESSION, C_USER, C_ENVIRONMENT,
    C_SPAN_VERSION, C_HTTP_STATUS, C_GENAI_MESSAGE_KEYS,
    C_STATUSES, C_STATUS_UNSET,
    C_AS_INT, C_AS_FLOAT, C_PARSE_JSON_OBJECT, C_MESSAGE, C_DOCUMENT,
    NUM_CONTEXT
};
static PyObject *ctx[NUM_CONTEXT];

/* Interned names: attribute keys and the fields of `RawSpan`. */
enum {
    K_SPAN_KIND, K_GENAI_OPERATION, K_METADATA, K_INPUT_VALUE, K_OUTPUT_VALUE, K_TAGS,
    K_SCOPE_NAME, K_SCOPE_VERSION, K_SERVICE_VERSION, K_COST_TOTAL, K_COST_PROMPT,
    K_COST_COMPLETION, K_STRIP, K_UPPER,
    F_TRACE_ID, F_SPAN_ID, F_PARENT_SPAN_ID, F_NAME, F_START_NS, F_END_NS, F_ATTRIBUTES,
    F_INDEXED, F_EVENTS, F_STATUS_CODE, F_STATUS_MESSAGE,
    NUM_NAMES
};
static const char *const name_text[NUM_NAMES] = {
    "openinference.span.kind", "gen_ai.operation.name", "metadata", "input.value",
    "output.value", "tag.tags", "otel.scope.name", "otel.scope.version", "service.version",
    "llm.cost.total", "llm.cost.prompt", "llm.cost.completion", "strip", "upper",
    "trace_id", "span_id", "parent_span_id", "name", "start_ns", "end_ns", "attributes",
    "indexed", "events", "status_code", "status_message",
};
static PyObject *names[NUM_NAMES];
static PyObject *empty_tuple, *no_indexed; /* (), and ((), (), ()) for no indexed keys */

PyObject *row_setup(PyObject *module, PyObject *context) {
    (void)module;
    if (!PyTuple_Check(context) || PyTuple_GET_SIZE(context) != NUM_CONTEXT) {
        PyErr_Format(PyExc_TypeError, "row_setup takes a tuple of %d values", NUM_CONTEXT);
        return NULL;
    }
    for (int i = 0; i < NUM_CONTEXT; i++) {
        Py_XSETREF(ctx[i], Py_NewRef(PyTuple_GET_ITEM(context, i)));
    }
    for (int i = 0; i < NUM_NAMES; i++) {
        if (names[i] == NULL && (names[i] = PyUnicode_InternFromString(name_text[i])) == NULL) {
            return NULL;
        }
    }
    if (empty_tuple == NULL && (empty_tuple = PyTuple_New(0)) == NULL) {
        return NULL;
    }
    if (no_indexed == NULL &&
        (no_indexed = PyTuple_Pack(3, empty_tuple, empty_tuple, empty_tuple)) == NULL) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* A borrowed value of `d` (NULL when absent); -1 on error. */
static int get(PyObject *d, PyObject *key, PyObject **out) {
    *out = PyDict_GetItemWithError(d, key);
    return (*out == NULL && PyErr_Occurred()) ? -1 : 0;
}

/* `first_present`: the first of `keys` whose value is not None (borrowed, NULL if none). */
static int first_present(PyObject *d, PyObject *keys, PyObject **out) {
    Py_ssize_t n = PyTuple_GET_SIZE(keys);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (get(d, PyTuple_GET_ITEM(keys, i), out) < 0) {
            return -1;
        }
        if (*out != NULL && *out != Py_None) {
            return 0;
        }
    }
    *out = NULL;
    return 0;
}

static PyObject *as_str(PyObject *v) {
    if (v == NULL || v == Py_None || PyBool_Check(v)) {
        return Py_NewRef(Py_None);
    }
    if (PyUnicode_Check(v)) {
        return Py_NewRef(v);
    }
    if (PyLong_Check(v) || PyFloat_Check(v)) {
        return PyObject_Str(v);
    }
    return Py_NewRef(Py_None);
}

static PyObject *as_int(PyObject *v) {
    if (v == NULL || v == Py_None || PyBool_Check(v)) {
        return Py_NewRef(Py_None);
    }
    if (PyLong_Check(v)) {
        return Py_NewRef(v);
    }
    return PyObject_CallOneArg(ctx[C_AS_INT], v);
}

static PyObject *as_float(PyObject *v) {
    if (v == NULL || v == Py_None || PyBool_Check(v)) {
        return Py_NewRef(Py_None);
    }
    if (PyFloat_Check(v)) {
        return Py_NewRef(v); /* float(v) of a float is v */
    }
    return PyObject_CallOneArg(ctx[C_AS_FLOAT], v);
}

static PyObject *str_of_first(PyObject *d, int keys) {
    PyObject *v;
    return first_present(d, ctx[keys], &v) < 0 ? NULL : as_str(v);
}

static PyObject *int_of_first(PyObject *d, int keys) {
    PyObject *v;
    return first_present(d, ctx[keys], &v) < 0 ? NULL : as_int(v);
}

static PyObject *float_of(PyObject *d, int key) {
    PyObject *v;
    return get(d, names[key], &v) < 0 ? NULL : as_float(v);
}

/* `x or 0.0` for x a float or None (-0.0 is falsy too). */
static double or_zero(PyObject *x) {
    double v = x == Py_None ? 0.0 : PyFloat_AsDouble(x);
    return v == 0.0 ? 0.0 : v;
}

/* `semconv._cost`. */
static PyObject *cost(PyObject *attrs) {
    PyObject *total = float_of(attrs, K_COST_TOTAL);
    if (total == NULL || total != Py_None) {
        return total;
    }
    Py_DECREF(total);
    PyObject *prompt = float_of(attrs, K_COST_PROMPT);
    PyObject *completion = prompt == NULL ? NULL : float_of(attrs, K_COST_COMPLETION);
    PyObject *out = NULL;
    if (completion != NULL) {
        if (prompt == Py_None && completion == Py_None) {
            out = Py_NewRef(Py_None);
        } else if (PyFloat_Check(prompt) || prompt == Py_None) {
            out = PyFloat_FromDouble(or_zero(prompt) + or_zero(completion));
        } else {
            PyErr_SetString(PyExc_TypeError, "as_float gave a non-float");
        }
    }
    Py_XDECREF(prompt);
    Py_XDECREF(completion);
    return out;
}

/* `semconv.span_kind` (borrowed member). */
static PyObject *span_kind(PyObject *attrs, int has_messages) {
    PyObject *declared, *kind;
    if (get(attrs, names[K_SPAN_KIND], &declared) < 0) {
        return NULL;
    }
    if (declared != NULL && PyUnicode_Check(declared)) {
        if (get(ctx[C_KINDS], declared, &kind) < 0) {
            return NULL;
        }
        if (kind != NULL) {
            return kind;
        }
        PyObject *stripped = PyObject_CallMethodNoArgs(declared, names[K_STRIP]);
        PyObject *upper = stripped ? PyObject_CallMethodNoArgs(stripped, names[K_UPPER]) : NULL;
        Py_XDECREF(stripped);
        if (upper == NULL) {
            return NULL;
        }
        int rc = get(ctx[C_KINDS], upper, &kind);
        Py_DECREF(upper);
        return rc < 0 ? NULL : kind != NULL ? kind : ctx[C_KIND_UNKNOWN];
    }
    PyObject *operation;
    if (get(attrs, names[K_GENAI_OPERATION], &operation) < 0) {
        return NULL;
    }
    if (operation != NULL && PyUnicode_Check(operation)) {
        if (get(ctx[C_GENAI_OPERATION_KINDS], operation, &kind) < 0) {
            return NULL;
        }
        return kind != NULL ? kind : ctx[C_KIND_LLM];
    }
    if (has_messages) {
        return ctx[C_KIND_LLM];
    }
    PyObject *markers = ctx[C_LLM_MARKERS];
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(markers); i++) {
        int rc = PyDict_Contains(attrs, PyTuple_GET_ITEM(markers, i));
        if (rc != 0) {
            return rc < 0 ? NULL : ctx[C_KIND_LLM];
        }
    }
    return ctx[C_KIND_UNKNOWN];
}

/* `semconv._pop_str`. */
static PyObject *pop_str(PyObject *attrs, int key) {
    PyObject *v;
    if (get(attrs, names[key], &v) < 0) {
        return NULL;
    }
    if (v == NULL || v == Py_None) {
        return Py_NewRef(Py_None);
    }
    PyObject *text = as_str(v);
    if (text != NULL && text != Py_None && PyDict_DelItem(attrs, names[key]) < 0) {
        Py_CLEAR(text);
    }
    return text;
}

/* `semconv._pop_tags` (only called when the key is present). */
static PyObject *pop_tags(PyObject *attrs) {
    PyObject *raw;
    if (get(attrs, names[K_TAGS], &raw) < 0) {
        return NULL;
    }
    PyObject *out;
    if (PyUnicode_Check(raw)) {
        out = PyTuple_Pack(1, raw);
    } else if (PyList_Check(raw)) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(raw); i++) {
            if (!PyUnicode_Check(PyList_GET_ITEM(raw, i))) {
                return Py_NewRef(empty_tuple);
            }
        }
        out = PyList_AsTuple(raw);
    } else {
        return Py_NewRef(empty_tuple);
    }
    if (out != NULL && PyDict_DelItem(attrs, names[K_TAGS]) < 0) {
        Py_CLEAR(out);
    }
    return out;
}

/* `bytes.hex()` of `b`, or None for an empty parent id. */
static PyObject *hex(PyObject *b, int empty_is_none) {
    static const char digits[] = "0123456789abcdef";
    Py_ssize_t n = PyBytes_GET_SIZE(b);
    if (n == 0 && empty_is_none) {
        return Py_NewRef(Py_None);
    }
    PyObject *out = PyUnicode_New(2 * n, 127);
    if (out == NULL) {
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(b);
    Py_UCS1 *o = PyUnicode_1BYTE_DATA(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        o[2 * i] = digits[p[i] >> 4];
        o[2 * i + 1] = digits[p[i] & 15];
    }
    return out;
}

static int all_zero(PyObject *b) {
    const char *p = PyBytes_AS_STRING(b);
    for (Py_ssize_t i = 0; i < PyBytes_GET_SIZE(b); i++) {
        if (p[i] != 0) {
            return 0;
        }
    }
    return 1;
}

/* The span's fields, borrowed from the RawSpan (its attributes keep them alive). */
typedef struct {
    PyObject *f[F_STATUS_MESSAGE - F_TRACE_ID + 1];
    long long start_ns, end_ns;
} Fields;
#define FIELD(fs, name) ((fs)->f[(name) - F_TRACE_ID])

/* Read the fields; 1 when the common case holds, 0 to defer, -1 on error. */
static int read_fields(PyObject *raw, Fields *fs) {
    for (int i = F_TRACE_ID; i <= F_STATUS_MESSAGE; i++) {
        PyObject *v = PyObject_GetAttr(raw, names[i]);
        if (v == NULL) {
            return -1;
        }
        FIELD(fs, i) = v;
        Py_DECREF(v); /* the slot of `raw` keeps it alive */
    }
    PyObject *trace = FIELD(fs, F_TRACE_ID), *span = FIELD(fs, F_SPAN_ID);
    PyObject *parent = FIELD(fs, F_PARENT_SPAN_ID);
    if (!PyBytes_CheckExact(trace) || !PyBytes_CheckExact(span) ||
        !PyBytes_CheckExact(parent) || PyBytes_GET_SIZE(trace) != 16 ||
        PyBytes_GET_SIZE(span) != 8 || all_zero(trace) || all_zero(span) ||
        (PyBytes_GET_SIZE(parent) != 0 && PyBytes_GET_SIZE(parent) != 8)) {
        return 0;
    }
    if (!PyLong_CheckExact(FIELD(fs, F_START_NS)) || !PyLong_CheckExact(FIELD(fs, F_END_NS)) ||
        !PyDict_CheckExact(FIELD(fs, F_ATTRIBUTES)) || !PyDict_Check(FIELD(fs, F_INDEXED)) ||
        !PyList_Check(FIELD(fs, F_EVENTS)) || PyList_GET_SIZE(FIELD(fs, F_EVENTS)) != 0 ||
        !PyUnicode_Check(FIELD(fs, F_STATUS_MESSAGE))) {
        return 0;
    }
    int overflow = 0;
    fs->start_ns = PyLong_AsLongLongAndOverflow(FIELD(fs, F_START_NS), &overflow);
    if (overflow) {
        return 0;
    }
    fs->end_ns = PyLong_AsLongLongAndOverflow(FIELD(fs, F_END_NS), &overflow);
    if (overflow || PyErr_Occurred()) {
        return PyErr_Occurred() ? -1 : 0;
    }
    if (fs->start_ns < MIN_TIME_NS || fs->start_ns >= MAX_TIME_NS || fs->end_ns < MIN_TIME_NS ||
        fs->end_ns >= MAX_TIME_NS || fs->end_ns < fs->start_ns) {
        return 0;
    }
    PyObject *keys = ctx[C_GENAI_MESSAGE_KEYS];
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(keys); i++) {
        int rc = PyDict_Contains(FIELD(fs, F_ATTRIBUTES), PyTuple_GET_ITEM(keys, i));
        if (rc != 0) {
            return rc < 0 ? -1 : 0;
        }
    }
    return 1;
}

/* Messages and documents: a new 3-tuple, Py_None to defer, NULL on error. */
static PyObject *indexed(PyObject *module, Fields *fs) {
    PyObject *ind = FIELD(fs, F_INDEXED);
    if (PyDict_GET_SIZE(ind) == 0) {
        return Py_NewRef(no_indexed);
    }
    PyObject *args[4] = {ind, ctx[C_MESSAGE], ctx[C_DOCUMENT], ctx[C_PARSE_JSON_OBJECT]};
    return indexed_fast(module, args, 4);
}

/* Set `row[i]` to the new reference `v`; -1 when `v` is NULL (an error is set). */
static int put(PyObject *row, Py_ssize_t i, PyObject *v) {
    if (v == NULL) {
        return -1;
    }
    PyList_SET_ITEM(row, i, v);
    return 0;
}

/* The typed columns of `build_row` (`semconv.typed_values`) into `row`: 11-20, 22-24, 31, 34. */
static int typed(PyObject *row, PyObject *attrs, PyObject *resource) {
    if (put(row, 13, int_of_first(attrs, C_PROMPT)) < 0 ||
        put(row, 14, int_of_first(attrs, C_COMPLETION)) < 0 ||
        put(row, 15, int_of_first(attrs, C_TOTAL)) < 0) {
        return -1;
    }
    PyObject *prompt = PyList_GET_ITEM(row, 13), *completion = PyList_GET_ITEM(row, 14);
    if (PyList_GET_ITEM(row, 15) == Py_None && (prompt != Py_None || completion != Py_None)) {
        /* (prompt or 0) + (completion or 0); as_int gives ints or None */
        PyObject *zero = PyLong_FromLong(0);
        if (zero == NULL) {
            return -1;
        }
        PyObject *a = prompt != Py_None ? prompt : zero;
        PyObject *b = completion != Py_None ? completion : zero;
        PyObject *total = PyNumber_Add(a, b);
        Py_DECREF(zero);
        if (total == NULL || PyList_SetItem(row, 15, total) < 0) {
            return -1;
        }
    }
    if (put(row, 11, str_of_first(attrs, C_MODEL)) < 0 ||
        put(row, 12, str_of_first(attrs, C_PROVIDER)) < 0 || put(row, 16, cost(attrs)) < 0 ||
        put(row, 17, str_of_first(attrs, C_SESSION)) < 0 ||
        put(row, 18, str_of_first(attrs, C_USER)) < 0 ||
        put(row, 22, int_of_first(attrs, C_HTTP_STATUS)) < 0) {
        return -1;
    }
    PyObject *span_env, *span_version, *fallback = NULL;
    if (first_present(attrs, ctx[C_ENVIRONMENT], &span_env) < 0 ||
        first_present(attrs, ctx[C_SPAN_VERSION], &span_version) < 0) {
        return -1;
    }
    /* as_str(span_env or first_present(resource, ENVIRONMENT)) */
    int truthy = span_env == NULL ? 0 : PyObject_IsTrue(span_env);
    if (truthy < 0 || (!truthy && first_present(resource, ctx[C_ENVIRONMENT], &fallback) < 0) ||
        put(row, 19, as_str(truthy ? span_env : fallback)) < 0) {
        return -1;
    }
    /* as_str(span_version or resource.get("service.version")) */
    fallback = NULL;
    truthy = span_version == NULL ? 0 : PyObject_IsTrue(span_version);
    if (truthy < 0 || (!truthy && get(resource, names[K_SERVICE_VERSION], &fallback) < 0) ||
        put(row, 20, as_str(truthy ? span_version : fallback)) < 0) {
        return -1;
    }
    PyObject *metadata;
    if (get(attrs, names[K_METADATA], &metadata) < 0) {
        return -1;
    }
    if (metadata == NULL || metadata == Py_None) {
        if (put(row, 31, PyDict_New()) < 0) {
            return -1;
        }
    } else if (put(row, 31, PyObject_CallOneArg(ctx[C_PARSE_JSON_OBJECT], metadata)) < 0) {
        return -1;
    }
    if (metadata != NULL && PyDict_DelItem(attrs, names[K_METADATA]) < 0) {
        return -1;
    }
    if (put(row, 23, pop_str(attrs, K_INPUT_VALUE)) < 0 ||
        put(row, 24, pop_str(attrs, K_OUTPUT_VALUE)) < 0) {
        return -1;
    }
    int has_tags = PyDict_Contains(attrs, names[K_TAGS]);
    return has_tags < 0 ? -1 : put(row, 34, has_tags ? pop_tags(attrs) : Py_NewRef(empty_tuple));
}

/* One span's row: a new list, Py_None to defer, NULL on error. */
static PyObject *row_of(PyObject *module, PyObject *raw, PyObject *const *args) {
    Fields fs;
    int rc = read_fields(raw, &fs);
    if (rc <= 0) {
        return rc < 0 ? NULL : Py_NewRef(Py_None);
    }
    PyObject *found = indexed(module, &fs);
    if (found == NULL || found == Py_None) {
        return found;
    }
    PyObject *attrs = FIELD(&fs, F_ATTRIBUTES);
    PyObject *status;
    if (get(ctx[C_STATUSES], FIELD(&fs, F_STATUS_CODE), &status) < 0) {
        Py_DECREF(found);
        return NULL;
    }
    status = status != NULL ? status : ctx[C_STATUS_UNSET];
    int has_messages = PyTuple_GET_SIZE(PyTuple_GET_ITEM(found, 0)) > 0 ||
                       PyTuple_GET_SIZE(PyTuple_GET_ITEM(found, 1)) > 0;
    PyObject *kind = span_kind(attrs, has_messages);
    PyObject *row = kind ? PyList_New(NUM_COLUMNS) : NULL;
    if (row == NULL) {
        Py_DECREF(found);
        return NULL;
    }
    long long start_us = fs.start_ns / 1000, end_us = fs.end_ns / 1000;
    /* An ERROR with no message would take the exception's, but a span with events is
       deferred: the message stays as it came. */
    PyObject *message = FIELD(&fs, F_STATUS_MESSAGE);
    PyObject *scope_name = args[2], *scope_version = args[3];
    int ok =
        put(row, 0, Py_NewRef(args[4])) == 0 &&
        put(row, 1, hex(FIELD(&fs, F_TRACE_ID), 0)) == 0 &&
        put(row, 2, hex(FIELD(&fs, F_SPAN_ID), 0)) == 0 &&
        put(row, 3, hex(FIELD(&fs, F_PARENT_SPAN_ID), 1)) == 0 &&
        put(row, 4, Py_NewRef(FIELD(&fs, F_NAME))) == 0 && put(row, 5, Py_NewRef(kind)) == 0 &&
        put(row, 6, PyLong_FromLongLong(start_us)) == 0 &&
        put(row, 7, PyLong_FromLongLong(end_us)) == 0 &&
        put(row, 8, PyFloat_FromDouble((double)(end_us - start_us) / 1000.0)) == 0 &&
        put(row, 9, Py_NewRef(status)) == 0 && put(row, 10, Py_NewRef(message)) == 0 &&
        put(row, 21, Py_NewRef(Py_None)) == 0 && put(row, 25, Py_NewRef(Py_None)) == 0 &&
        put(row, 26, Py_NewRef(Py_None)) == 0 &&
        put(row, 27, Py_NewRef(PyTuple_GET_ITEM(found, 0))) == 0 &&
        put(row, 28, Py_NewRef(PyTuple_GET_ITEM(found, 1))) == 0 &&
        put(row, 29, Py_NewRef(PyTuple_GET_ITEM(found, 2))) == 0 &&
        put(row, 30, Py_NewRef(empty_tuple)) == 0 && typed(row, attrs, args[1]) == 0;
    Py_DECREF(found);
    int named = ok ? PyObject_IsTrue(scope_name) : 0;
    ok = ok && named >= 0;
    if (ok && named) {
        ok = PyDict_SetItem(attrs, names[K_SCOPE_NAME], scope_name) == 0;
        int versioned = ok ? PyObject_IsTrue(scope_version) : 0;
        ok = ok && versioned >= 0 &&
             (!versioned || PyDict_SetItem(attrs, names[K_SCOPE_VERSION], scope_version) == 0);
    }
    ok = ok && put(row, 32, Py_NewRef(attrs)) == 0 && put(row, 33, Py_NewRef(args[1])) == 0;
    if (!ok) {
        Py_DECREF(row); /* NULL items of a list are skipped by its dealloc */
        return NULL;
    }
    return row;
}

PyObject *rows_fast(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5 || !PyList_Check(args[0]) || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "rows_fast(spans: list, resource_attrs: dict, "
                                         "scope_name, scope_version, project)");
        return NULL;
    }
    if (ctx[C_KINDS] == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "row_setup was not called");
        return NULL;
    }
    PyObject *spans = args[0];
    Py_ssize_t n = PyList_GET_SIZE(spans), deferred = 0;
    PyObject *rows = PyList_New(n);
    for (Py_ssize_t i = 0; rows != NULL && i < n; i++) {
        PyObject *row = row_of(module, PyList_GET_ITEM(spans, i), args);
        if (row == NULL) {
            Py_CLEAR(rows);
        } else {
            deferred += row == Py_None;
            PyList_SET_ITEM(rows, i, row);
        }
    }
    if (rows == NULL) {
        return NULL;
    }
    PyObject *count = PyLong_FromSsize_t(deferred);
    PyObject *out = count ? PyTuple_Pack(2, rows, count) : NULL;
    Py_DECREF(rows);
    Py_XDECREF(count);
    return out;
}
