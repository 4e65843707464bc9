/*
 * The common case of `indexed.parse_indexed` in C: OpenInference messages and documents.
 *
 * indexed_fast(indexed, message, document, parse_json_object) takes the flattened indexed
 * attributes of one span and returns (input_messages, output_messages, documents) as tuples
 * of `message(role, content, ())` and `document(id, content, score, metadata)`, ordered by
 * index, or None when anything falls outside the common case, and `parse_indexed` must do
 * it: a key that is not `llm.input_messages.N.message.{role,content}`,
 * `llm.output_messages.N.message.{role,content}` or
 * `retrieval.documents.N.document.{id,content,score,metadata}` (N in ASCII digits, at most 9),
 * a role, content or id that is not a str, or a score that is not an int or a float. The
 * results then equal `parse_indexed`'s with no leftovers (a test compares the two).
 */
#include "_wire.h"

enum { INPUT, OUTPUT, DOCS, NUM_LISTS };
enum { ROLE, CONTENT, ID, SCORE, METADATA, NUM_FIELDS };

typedef struct {
    long index;
    PyObject *fields[NUM_FIELDS]; /* borrowed from the dict */
} Item;

typedef struct {
    Item *items;
    Py_ssize_t count, capacity;
} List;

static const char *const prefixes[NUM_LISTS] = {
    "llm.input_messages.", "llm.output_messages.", "retrieval.documents."};

/* Which list, index and field a key names; -1 when it is not the common case. */
static int classify(const char *k, Py_ssize_t n, int *list, long *index, int *field) {
    *list = -1;
    for (int i = 0; i < NUM_LISTS; i++) {
        size_t len = strlen(prefixes[i]);
        if ((size_t)n > len && memcmp(k, prefixes[i], len) == 0) {
            *list = i;
            k += len;
            n -= (Py_ssize_t)len;
            break;
        }
    }
    Py_ssize_t digits = 0;
    long value = 0;
    while (digits < n && digits < 10 && k[digits] >= '0' && k[digits] <= '9') {
        value = value * 10 + (k[digits] - '0');
        digits++;
    }
    if (*list < 0 || digits == 0 || digits > 9 || digits >= n || k[digits] != '.') {
        return -1;
    }
    const char *name = k + digits + 1;
    Py_ssize_t name_len = n - digits - 1;
#define IS(s) (name_len == (Py_ssize_t)strlen(s) && memcmp(name, s, name_len) == 0)
    if (*list != DOCS) {
        *field = IS("message.role") ? ROLE : IS("message.content") ? CONTENT : -1;
    } else {
        *field = IS("document.id")        ? ID
                 : IS("document.content") ? CONTENT
                 : IS("document.score")   ? SCORE
                 : IS("document.metadata") ? METADATA
                                           : -1;
    }
#undef IS
    *index = value;
    return *field < 0 ? -1 : 0;
}

static Item *item_at(List *list, long index) {
    for (Py_ssize_t i = 0; i < list->count; i++) {
        if (list->items[i].index == index) {
            return &list->items[i];
        }
    }
    if (list->count == list->capacity) {
        Py_ssize_t capacity = list->capacity ? 2 * list->capacity : 8;
        Item *grown = PyMem_Realloc(list->items, capacity * sizeof(Item));
        if (grown == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        list->items = grown;
        list->capacity = capacity;
    }
    Item *item = &list->items[list->count++];
    memset(item, 0, sizeof(Item));
    item->index = index;
    return item;
}

static int by_index(const void *a, const void *b) {
    long x = ((const Item *)a)->index, y = ((const Item *)b)->index;
    return (x > y) - (x < y);
}

static int is_common_value(int field, PyObject *v) {
    if (field == SCORE) {
        return PyFloat_CheckExact(v) || PyLong_CheckExact(v);
    }
    return field == METADATA || PyUnicode_CheckExact(v);
}

/* Split the dict into the three lists; 1 when done, 0 for "not the common case", -1 error. */
static int collect(PyObject *indexed, List lists[NUM_LISTS]) {
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(indexed, &pos, &key, &value)) {
        Py_ssize_t n;
        const char *k = PyUnicode_Check(key) ? PyUnicode_AsUTF8AndSize(key, &n) : NULL;
        if (k == NULL) {
            PyErr_Clear();
            return 0;
        }
        int list, field;
        long index;
        if (classify(k, n, &list, &index, &field) < 0 || !is_common_value(field, value)) {
            return 0;
        }
        Item *item = item_at(&lists[list], index);
        if (item == NULL) {
            return -1;
        }
        item->fields[field] = value;
    }
    return 1;
}

static PyObject *or_empty(PyObject *v) {
    return v != NULL ? Py_NewRef(v) : PyUnicode_New(0, 127);
}

/* What the `__init__` of a frozen, slotted dataclass does with all its fields given in order:
   allocate, then `object.__setattr__` each field (the class's own __setattr__ refuses). That
   call through Python costs ~0.7 µs per object; this, a few dozen ns. A class of another shape
   (no `__slots__` of `n` names, or a `__post_init__`) is called as usual. */
static PyObject *construct(PyObject *cls, PyObject **args, size_t n) {
    static PyObject *slots_name, *post_init_name;
    if (slots_name == NULL && (slots_name = PyUnicode_InternFromString("__slots__")) == NULL) {
        return NULL;
    }
    if (post_init_name == NULL &&
        (post_init_name = PyUnicode_InternFromString("__post_init__")) == NULL) {
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)cls;
    PyObject *slots = PyType_Check(cls) ? PyDict_GetItemWithError(type->tp_dict, slots_name) : NULL;
    if (slots == NULL || !PyTuple_Check(slots) || (size_t)PyTuple_GET_SIZE(slots) != n ||
        _PyType_Lookup(type, post_init_name) != NULL) {
        return PyErr_Occurred() ? NULL : PyObject_Vectorcall(cls, args, n, NULL);
    }
    PyObject *obj = type->tp_alloc(type, 0);
    for (size_t i = 0; obj != NULL && i < n; i++) {
        if (PyObject_GenericSetAttr(obj, PyTuple_GET_ITEM(slots, i), args[i]) < 0) {
            Py_CLEAR(obj);
        }
    }
    return obj;
}

/* `construct(cls, args)` with `n` new references (NULL: an error already set), all released
   after. */
static PyObject *call_owned(PyObject *cls, PyObject **args, size_t n) {
    PyObject *out = NULL;
    size_t ready = 0;
    while (ready < n && args[ready] != NULL) {
        ready++;
    }
    if (ready == n) {
        out = construct(cls, args, n);
    }
    for (size_t i = 0; i < n; i++) {
        Py_XDECREF(args[i]);
    }
    return out;
}

static PyObject *message(const Item *item, PyObject *cls) {
    PyObject *args[3] = {or_empty(item->fields[ROLE]), or_empty(item->fields[CONTENT]),
                         PyTuple_New(0)};
    return call_owned(cls, args, 3);
}

static PyObject *document(const Item *item, PyObject *cls, PyObject *parse_json_object) {
    PyObject *score = item->fields[SCORE];
    PyObject *meta = item->fields[METADATA] == Py_None ? NULL : item->fields[METADATA];
    PyObject *args[4] = {
        Py_NewRef(item->fields[ID] != NULL ? item->fields[ID] : Py_None),
        or_empty(item->fields[CONTENT]),
        score == NULL ? Py_NewRef(Py_None) : PyNumber_Float(score),
        meta == NULL ? Py_NewRef(Py_None) : PyObject_CallOneArg(parse_json_object, meta),
    };
    return call_owned(cls, args, 4);
}

static PyObject *build(List *list, int which, PyObject *const *args) {
    qsort(list->items, list->count, sizeof(Item), by_index);
    PyObject *out = PyTuple_New(list->count);
    for (Py_ssize_t i = 0; out != NULL && i < list->count; i++) {
        PyObject *obj = which == DOCS ? document(&list->items[i], args[2], args[3])
                                      : message(&list->items[i], args[1]);
        if (obj == NULL) {
            Py_CLEAR(out);
        } else {
            PyTuple_SET_ITEM(out, i, obj);
        }
    }
    return out;
}

PyObject *indexed_fast(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 4 || !PyDict_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError,
                        "indexed_fast(indexed: dict, message, document, parse_json_object)");
        return NULL;
    }
    List lists[NUM_LISTS] = {{NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}};
    PyObject *out = NULL;
    int rc = collect(args[0], lists);
    if (rc == 0) {
        out = Py_NewRef(Py_None);
    } else if (rc > 0) {
        PyObject *built[NUM_LISTS];
        for (int i = 0; i < NUM_LISTS; i++) {
            built[i] = build(&lists[i], i, args);
        }
        if (built[0] && built[1] && built[2]) {
            out = PyTuple_Pack(3, built[0], built[1], built[2]);
        }
        for (int i = 0; i < NUM_LISTS; i++) {
            Py_XDECREF(built[i]);
        }
    }
    for (int i = 0; i < NUM_LISTS; i++) {
        PyMem_Free(lists[i].items);
    }
    return out;
}
