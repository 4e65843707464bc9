/*
 * The search indexer's tally of one block's terms (docs/adr/0061).
 *
 * tally(texts) -> (terms, spans, last)
 *   texts: a sequence of str or None (one span's lower-cased search_text each; None is empty).
 *   terms: list of bytes, every distinct term of the texts in order of first occurrence;
 *   spans: list of int, per term, how many of the texts hold it;
 *   last:  list of int, per term, the index in texts of the last text holding it.
 *
 * A term is a maximal run of UTF-8 bytes other than the separators of `search_terms`: every
 * ASCII byte but a-z and 0-9 (the Python `search_terms.tally` gives exactly the same result;
 * a property test compares the two). The Python version makes a bytes object and three hash
 * table operations per occurrence; here each occurrence is one probe of one table whose entry
 * remembers the last text that counted it, and only a distinct term becomes an object. The
 * scan runs without the interpreter lock (the texts are held by a tuple made first).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const char *at;
    Py_ssize_t len;
    uint64_t hash;
    Py_ssize_t spans;
    Py_ssize_t last;
} Term;

typedef struct {
    Term *terms;      /* distinct terms, in order of first occurrence */
    Py_ssize_t count; /* used entries of terms */
    Py_ssize_t room;  /* allocated entries of terms */
    Py_ssize_t *slots; /* open addressing: index into terms, or -1 */
    size_t mask;      /* slots has mask + 1 entries (a power of two) */
} Table;

static unsigned char SEPARATOR[256];

static void init_separators(void) {
    for (int b = 0; b < 256; b++) {
        SEPARATOR[b] = b < 128 && !((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z'));
    }
}

static uint64_t hash_bytes(const char *at, Py_ssize_t len) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (Py_ssize_t i = 0; i < len; i++) {
        h ^= (unsigned char)at[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static int table_init(Table *t, size_t slots) {
    t->count = 0;
    t->room = (Py_ssize_t)(slots / 2);
    t->terms = malloc(sizeof(Term) * (size_t)t->room);
    t->slots = malloc(sizeof(Py_ssize_t) * slots);
    t->mask = slots - 1;
    if (t->terms == NULL || t->slots == NULL) {
        return -1;
    }
    memset(t->slots, 0xff, sizeof(Py_ssize_t) * slots);
    return 0;
}

static void table_free(Table *t) {
    free(t->terms);
    free(t->slots);
}

/* Double the slots (and the room for terms) and place every term again. */
static int table_grow(Table *t) {
    size_t slots = (t->mask + 1) * 2;
    Py_ssize_t *fresh = malloc(sizeof(Py_ssize_t) * slots);
    Term *terms = realloc(t->terms, sizeof(Term) * (slots / 2));
    if (terms != NULL) {
        t->terms = terms;
    }
    if (fresh == NULL || terms == NULL) {
        free(fresh);
        return -1;
    }
    memset(fresh, 0xff, sizeof(Py_ssize_t) * slots);
    for (Py_ssize_t i = 0; i < t->count; i++) {
        size_t s = t->terms[i].hash & (slots - 1);
        while (fresh[s] >= 0) {
            s = (s + 1) & (slots - 1);
        }
        fresh[s] = i;
    }
    free(t->slots);
    t->slots = fresh;
    t->mask = slots - 1;
    t->room = (Py_ssize_t)(slots / 2);
    return 0;
}

/* Count one occurrence of a term in text `span`; -1 when out of memory. */
static int table_add(Table *t, const char *at, Py_ssize_t len, Py_ssize_t span) {
    uint64_t h = hash_bytes(at, len);
    size_t s = h & t->mask;
    for (;;) {
        Py_ssize_t i = t->slots[s];
        if (i < 0) {
            break;
        }
        Term *e = &t->terms[i];
        if (e->hash == h && e->len == len && memcmp(e->at, at, (size_t)len) == 0) {
            if (e->last != span) {
                e->spans++;
                e->last = span;
            }
            return 0;
        }
        s = (s + 1) & t->mask;
    }
    if (t->count >= t->room) {
        if (table_grow(t) < 0) {
            return -1;
        }
        s = h & t->mask;
        while (t->slots[s] >= 0) {
            s = (s + 1) & t->mask;
        }
    }
    Term *e = &t->terms[t->count];
    e->at = at;
    e->len = len;
    e->hash = h;
    e->spans = 1;
    e->last = span;
    t->slots[s] = t->count++;
    return 0;
}

static int scan(Table *t, const char *const *texts, const Py_ssize_t *lens, Py_ssize_t n) {
    for (Py_ssize_t span = 0; span < n; span++) {
        const char *p = texts[span];
        const char *end = p + lens[span];
        while (p < end) {
            while (p < end && SEPARATOR[(unsigned char)*p]) {
                p++;
            }
            const char *start = p;
            while (p < end && !SEPARATOR[(unsigned char)*p]) {
                p++;
            }
            if (p > start && table_add(t, start, p - start, span) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

static PyObject *result(const Table *t) {
    PyObject *terms = PyList_New(t->count);
    PyObject *spans = PyList_New(t->count);
    PyObject *last = PyList_New(t->count);
    if (terms == NULL || spans == NULL || last == NULL) {
        goto fail;
    }
    for (Py_ssize_t i = 0; i < t->count; i++) {
        const Term *e = &t->terms[i];
        PyObject *term = PyBytes_FromStringAndSize(e->at, e->len);
        PyObject *n = PyLong_FromSsize_t(e->spans);
        PyObject *at = PyLong_FromSsize_t(e->last);
        if (term == NULL || n == NULL || at == NULL) {
            Py_XDECREF(term);
            Py_XDECREF(n);
            Py_XDECREF(at);
            goto fail;
        }
        PyList_SET_ITEM(terms, i, term);
        PyList_SET_ITEM(spans, i, n);
        PyList_SET_ITEM(last, i, at);
    }
    return Py_BuildValue("(NNN)", terms, spans, last);
fail:
    Py_XDECREF(terms);
    Py_XDECREF(spans);
    Py_XDECREF(last);
    return NULL;
}

static PyObject *tally(PyObject *self, PyObject *arg) {
    (void)self;
    PyObject *held = PySequence_Tuple(arg); /* the texts stay alive and in place */
    if (held == NULL) {
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(held);
    const char **texts = PyMem_Malloc(sizeof(char *) * (size_t)(n ? n : 1));
    Py_ssize_t *lens = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)(n ? n : 1));
    PyObject *out = NULL;
    Table t = {0};
    if (texts == NULL || lens == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *text = PyTuple_GET_ITEM(held, i);
        if (text == Py_None) {
            texts[i] = "";
            lens[i] = 0;
            continue;
        }
        if (!PyUnicode_Check(text)) {
            PyErr_Format(PyExc_TypeError, "tally: text %zd is %.80s, not str or None", i,
                         Py_TYPE(text)->tp_name);
            goto done;
        }
        texts[i] = PyUnicode_AsUTF8AndSize(text, &lens[i]);
        if (texts[i] == NULL) {
            goto done;
        }
    }
    if (table_init(&t, 1024) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = scan(&t, texts, lens, n);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        PyErr_NoMemory();
        goto done;
    }
    out = result(&t);
done:
    table_free(&t);
    PyMem_Free(texts);
    PyMem_Free(lens);
    Py_DECREF(held);
    return out;
}

static PyMethodDef METHODS[] = {
    {"tally", tally, METH_O,
     "tally(texts) -> (terms, spans, last): the distinct terms of the texts (bytes, in order "
     "of first occurrence), how many texts hold each, and the index of the last one."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "_terms", "The search indexer's tally of a block's terms.", -1,
    METHODS, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__terms(void) {
    init_separators();
    return PyModule_Create(&MODULE);
}
