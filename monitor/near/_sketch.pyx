# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The arithmetic of a sketch, compiled: shingles, bins and keys in plain C loops.

monitor.near.sketch decides what goes in (each word's code, which words are
names); this module turns the codes into the two views' shingles, the bytes of
their bins and the index keys. numpy did the same in some fifty small calls per
article, each costing more than the work it did on a few hundred numbers.
The outputs are stored in users' databases: they must stay bit for bit what
tests/near/test_sketch_kernel.py's reference (the former numpy code) gives.

For a text folding to Latin-1 (``Reader``: most news) it also reads the words, their
codes (from monitor.near.sketch's cache) and the names in one pass, as the sketch's
Python path does through monitor.text.fold; and it ranks the story names and sorts the names'
hashes (the sketch's Python did each with a sort of Python objects).

Also here: counting the values two sorted arrays share, the exact measures'
inner loop (monitor.near.similarity); and what monitor.near.decide asks of every
article against each of its few dozen candidates (gathering them from the postings,
the prefilter on their bins, their names' share), where Python's or numpy's overhead
per call outweighed the work.

Built by ``pip install -e .`` (setup.py); run it again after editing this file.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItemWithError, PyDict_SetDefault
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from cpython.set cimport PySet_Contains
from cpython.unicode cimport (
    Py_UCS1,
    Py_UCS2,
    Py_UNICODE_ISDIGIT,
    PyUnicode_1BYTE_DATA,
    PyUnicode_2BYTE_DATA,
    PyUnicode_4BYTE_DATA,
    PyUnicode_GET_LENGTH,
    PyUnicode_New,
)
from libc.stdint cimport int64_t, uint16_t, uint64_t
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memcpy, memset

import numpy as np

cdef extern from "Python.h":
    int PyUnicode_KIND(object text)
    int PyUnicode_1BYTE_KIND
    int PyUnicode_2BYTE_KIND
    void* PyUnicode_DATA(object text)
    Py_UCS4 PyUnicode_READ(int kind, const void* data, Py_ssize_t index) nogil
    # The same, on a borrowed string, to compare strings while sorting.
    Py_ssize_t _length "PyUnicode_GET_LENGTH"(PyObject* text) nogil
    int _kind_of "PyUnicode_KIND"(PyObject* text) nogil
    void* _data_of "PyUnicode_DATA"(PyObject* text) nogil
    void PyUnicode_InternInPlace(PyObject** text)

cdef enum:
    BINS = 64
    WORD_SHINGLE = 3
    MASKED_SHINGLE = 6
    KEYS_PER_VIEW = 6
    LEAD_KEYS = 4
    LEAD_WORDS = 25
    COMMON = 1  # the flags monitor.near.sketch sets in a word's code
    FUNCTION = 2
    MASK = 0  # what a masked word counts as
    MAX_KEYS = 2 * KEYS_PER_VIEW + LEAD_KEYS
    MAX_NAMES = 48
    RANKED_WORDS = 30_000
    STORY_NAMES = 40

# What an ASCII character is in a word (monitor.text.fold keeps letters and digits,
# every other character is a space): 0, not in a word.
cdef enum:
    LOWER = 1
    UPPER = 2
    DIGIT = 4
    SPACE = 32
    MAX_FOLD = 3  # characters the reader takes a character folding to ("½": "1 2")
    NOT_READ = 255
    WIDE_LIMIT = 20_000  # characters past Latin-1 cached (as monitor.text.fold does)

cdef uint64_t EMPTY = 0xFFFFFFFFFFFFFFFF
cdef uint64_t SIGN = 0x80000000  # a key's top bit: the key is negative
cdef int64_t WRAP = 0x100000000
cdef uint64_t P1 = 0x9E3779B97F4A7C15
cdef uint64_t P2 = 0xC2B2AE3D27D4EB4F
cdef uint64_t[6] FACTORS = [
    0x165667B19E3779F9,
    0x27D4EB2F165667C5,
    0x85EBCA77C2B2AE63,
    0xFF51AFD7ED558CCD,
    0xC4CEB9FE1A85EC53,
    0x9E3779B97F4A7C15,
]
cdef uint64_t[4] VIEW_TAGS = [0, 0x2545F4914F6CDD1D, 0x9FB21C651E98DF25, 0x4CF5AD432745937F]

# The constants monitor.near.sketch defines too: a test checks the two agree.
LAYOUT = {
    "BINS": BINS,
    "WORD_SHINGLE": WORD_SHINGLE,
    "MASKED_SHINGLE": MASKED_SHINGLE,
    "KEYS_PER_VIEW": KEYS_PER_VIEW,
    "LEAD_KEYS": LEAD_KEYS,
    "LEAD_WORDS": LEAD_WORDS,
    "MASK": MASK,
    "_COMMON": COMMON,
    "_FUNCTION": FUNCTION,
    "MAX_NAMES": MAX_NAMES,
    "RANKED_WORDS": RANKED_WORDS,
    "STORY_NAMES": STORY_NAMES,
}


def views(list codes, list words, names):
    """(word shingles, masked shingles, word bins, masked bins, keys) of one text.

    ``codes``: each word's code (its hash, flags in the low bits); ``names``: the
    words that are names or numbers, kept by the masked view and by its keys.
    """
    cdef Py_ssize_t n = len(codes), i
    if len(words) != n:
        raise ValueError("one code per word")
    cdef _Words text = _Words(n)
    for i in range(n):
        text.code[i] = codes[i]
        text.named[i] = PySet_Contains(names, words[i]) == 1
    text.count = n
    return text.views()


@cython.final
cdef class _Words:
    """A text's words as the views read them: each word's code, and whether it is a
    name; room for at least a shingle's worth, so a short text still has one."""

    cdef uint64_t* code
    cdef unsigned char* named
    cdef Py_ssize_t count, room

    def __cinit__(self, Py_ssize_t most):
        self.room = most if most > MASKED_SHINGLE else MASKED_SHINGLE
        self.code = <uint64_t*> malloc(self.room * sizeof(uint64_t))
        self.named = <unsigned char*> malloc(self.room)
        self.count = 0
        if self.code == NULL or self.named == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.code)
        free(self.named)

    cdef void push(self, uint64_t code, bint named):
        if self.count == self.room:
            self._grow()
        self.code[self.count] = code
        self.named[self.count] = named
        self.count += 1

    cdef void _grow(self):
        cdef uint64_t* code = <uint64_t*> realloc(self.code, 2 * self.room * sizeof(uint64_t))
        if code != NULL:
            self.code = code
        cdef unsigned char* named = <unsigned char*> realloc(self.named, 2 * self.room)
        if named != NULL:
            self.named = named
        if code == NULL or named == NULL:
            raise MemoryError()
        self.room *= 2

    cdef tuple views(self):
        """See ``views``: the words past ``count`` are padding, zeros."""
        cdef Py_ssize_t n = self.count, i
        cdef uint64_t* masked = <uint64_t*> malloc(self.room * sizeof(uint64_t))
        if masked == NULL:
            raise MemoryError()
        try:
            for i in range(n, self.room):
                self.code[i], self.named[i] = 0, 0
            for i in range(self.room):
                masked[i] = self.code[i] if self.named[i] or (self.code[i] & FUNCTION) else MASK
            word_shingles = _shingles(self.code, n, WORD_SHINGLE)
            masked_shingles = _shingles(masked, n, MASKED_SHINGLE)
        finally:
            free(masked)
        # Typed once, not at each use: each typed view of an array asks numpy for its buffer.
        cdef const uint64_t[::1] words = word_shingles, masked_words = masked_shingles
        keys = _all_keys(words, masked_words, self.code, self.named, n)
        return word_shingles, masked_shingles, _bins(words), _bins(masked_words), keys


ctypedef fused _Char:
    Py_UCS1
    Py_UCS2
    Py_UCS4


@cython.final
cdef class Reader:
    """Reads a text into its names and views in one pass, as monitor.near.sketch's
    Python path does from the text folded (monitor.text.fold), lower-cased and
    split, without making the folded text, its two lists of words and the list of
    codes (three fifths of the sketch's time).

    The fold works character by character, and lower-casing does too when every
    folded character is a Latin-1 letter or digit, or a space: so folding a text is
    looking its characters up, in a table for Latin-1 (most news: ASCII, "£", "é"),
    else in a cache (curly quotes, dashes). A text with a character that folds to
    anything else ("µ": a Greek letter; Cyrillic, Chinese) is the Python path's.
    ``fold_of(character)``: what the character folds to, cased.
    """

    cdef unsigned char[256][MAX_FOLD] fold
    cdef unsigned char[256] fold_length  # NOT_READ: a character the reader leaves
    cdef unsigned char[256] kind  # of a folded character: 0 (a space), LOWER, UPPER, DIGIT
    cdef unsigned char[256] lower
    cdef dict wide  # code point past Latin-1 -> its fold as Latin-1 bytes, or None
    cdef object fold_of

    def __init__(self, fold_of):
        cdef int c, k
        self.fold_of, self.wide = fold_of, {}
        for c in range(256):
            self.kind[c], self.lower[c] = _kind(chr(c)), ord(chr(c).lower())
            folded = self._latin1_fold(chr(c))
            self.fold_length[c] = NOT_READ if folded is None else len(folded)
            for k in range(0 if folded is None else len(folded)):
                self.fold[c][k] = folded[k]

    def views(self, str text, dict codes, code_of):
        """``(names, views(...))`` of ``text``; None when a character is not read.

        ``codes``: the vocabulary's cache, word -> code; ``code_of(word)``: the
        code of a word not in it (and caches it).
        """
        cdef int kind = PyUnicode_KIND(text)
        cdef Py_ssize_t length = PyUnicode_GET_LENGTH(text)
        cdef _Words read = _Words((length + 1) // 2)  # a word and a space at least
        cdef list words = []
        cdef set names = set()
        # One loop per string layout (a fused type), each reading its characters directly.
        if kind == PyUnicode_1BYTE_KIND:
            done = self._read_all(
                PyUnicode_1BYTE_DATA(text), length, read, words, names, codes, code_of
            )
        elif kind == PyUnicode_2BYTE_KIND:
            done = self._read_all(
                PyUnicode_2BYTE_DATA(text), length, read, words, names, codes, code_of
            )
        else:
            done = self._read_all(
                PyUnicode_4BYTE_DATA(text), length, read, words, names, codes, code_of
            )
        if not done:
            return None
        _mark_names(read, words, names)
        return names, read.views()

    cdef bint _read_all(
        self,
        const _Char* chars,
        Py_ssize_t length,
        _Words read,
        list words,
        set names,
        dict codes,
        code_of,
    ) except -1:
        """Reads the words into ``read`` and ``words``, the names into ``names``;
        False at a character the reader leaves."""
        cdef _Word word = _Word(length * MAX_FOLD)
        cdef const unsigned char* folded
        cdef int folded_length, k
        cdef Py_ssize_t i
        cdef Py_UCS4 c
        for i in range(length + 1):
            c = chars[i] if i < length else SPACE  # the last word ends too
            if c < 256:  # most characters: looked up in the table, inline
                folded, folded_length = self.fold[c], self.fold_length[c]
            else:
                folded = self._wide_fold(c, &folded_length)
            if folded_length == NOT_READ:
                return False
            for k in range(folded_length):
                if self.kind[folded[k]]:
                    word.add(self.lower[folded[k]], self.kind[folded[k]])
                elif word.length:
                    words.append(self._read(word, read, names, codes, code_of))
                    word.clear()
        return True

    cdef const unsigned char* _wide_fold(self, Py_UCS4 c, int* length) except? NULL:
        """What ``c`` (past Latin-1) folds to, ``length`` characters (NOT_READ: the
        reader leaves it)."""
        character = chr(c)
        found = self.wide.get(character, False)
        if found is False:
            if len(self.wide) > WIDE_LIMIT:
                self.wide.clear()
            found = self.wide[character] = self._latin1_fold(character)
        if found is None:
            length[0] = NOT_READ
            return NULL
        length[0] = PyBytes_GET_SIZE(found)
        # Held by ``wide`` until the next character is looked up.
        return <const unsigned char*> PyBytes_AS_STRING(found)

    cdef object _latin1_fold(self, str ch):
        """What ``ch`` folds to, as Latin-1 bytes; None when the reader leaves it."""
        folded = self.fold_of(ch)
        if len(folded) > MAX_FOLD or not all(map(_readable, folded)):
            return None
        return folded.encode("latin-1")

    cdef str _read(self, _Word word, _Words read, set names, dict codes, code_of):
        """The word as a string, its code and whether it is a name set in ``read``."""
        cdef str text = word.text()
        cdef PyObject* found = PyDict_GetItemWithError(codes, text)
        code = <object> found if found != NULL else code_of(text)
        read.push(code, word.kinds == DIGIT)
        # A name: a capitalised word that is not common; or a number.
        if word.kinds == DIGIT or (word.kinds & UPPER and not read.code[read.count - 1] & COMMON):
            if not PySet_Contains(names, text):
                names.add(_interned(text))
        return text


def _readable(str ch):
    """A folded character the reader takes: a space, or a Latin-1 letter or digit
    that lower-cases to one Latin-1 character."""
    lower = ch.lower()
    return ch == " " or (_kind(ch) != 0 and len(lower) == 1 and ord(ch) < 256 and ord(lower) < 256)


cdef int _kind(str ch):
    if ch.isdigit():
        return DIGIT
    if ch.isalnum():
        return UPPER if ch.lower() != ch else LOWER
    return 0


@cython.final
cdef class _Word:
    """The word being read, lower-cased: its characters, and the kinds met in it."""

    cdef Py_UCS1* chars
    cdef Py_ssize_t length
    cdef unsigned char kinds, widest

    def __cinit__(self, Py_ssize_t most):
        self.chars = <Py_UCS1*> malloc(most + 1)
        self.length, self.kinds, self.widest = 0, 0, 0
        if self.chars == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.chars)

    cdef inline void add(self, Py_UCS1 lower, unsigned char kind) noexcept:
        self.chars[self.length] = lower
        self.length += 1
        self.kinds |= kind
        self.widest |= lower

    cdef str text(self):
        # ASCII or not decides the string's layout: Python compares strings by it.
        cdef str text = PyUnicode_New(self.length, 255 if self.widest & 0x80 else 127)
        memcpy(PyUnicode_1BYTE_DATA(text), self.chars, self.length)
        return text

    cdef inline void clear(self) noexcept:
        self.length, self.kinds, self.widest = 0, 0, 0


cdef void _mark_names(_Words read, list words, set names):
    """Every occurrence of a name is one, capitalised or not. Names are never common
    words, except numbers (already marked): only the others are looked up."""
    cdef Py_ssize_t i
    for i in range(read.count):
        if not read.named[i] and not read.code[i] & COMMON:
            read.named[i] = PySet_Contains(names, words[i]) == 1


cdef object _interned(str word):
    """``sys.intern(word)``: one string per name across articles, thousands of texts'
    names are held at once."""
    cdef PyObject* interned = <PyObject*> word
    Py_INCREF(word)  # the reference InternInPlace may swap for the interned string's
    PyUnicode_InternInPlace(&interned)
    result = <object> interned
    Py_DECREF(result)
    return result


cdef object _shingles(const uint64_t* hashes, Py_ssize_t n, int size):
    """The hash of each run of ``size`` words (one for a shorter text), in text order:
    a polynomial of the word hashes mod 2**64, then a finaliser so the high bits are
    as random as the low ones."""
    cdef Py_ssize_t span = n - size + 1 if n >= size else 1, i
    cdef int offset
    cdef uint64_t value
    result = np.empty(span, dtype=np.uint64)
    cdef uint64_t[::1] out = result
    for i in range(span):
        value = 0
        for offset in range(size):
            value += hashes[i + offset] * FACTORS[offset]
        value ^= value >> 31
        value *= P2
        value ^= value >> 29
        out[i] = value
    return result


cdef bytes _bins(const uint64_t[::1] shingles):
    """One byte per bin, the low bits of the bin's minimum (1..255; 0: empty)."""
    cdef uint64_t[BINS] least
    cdef unsigned char[BINS] out
    cdef Py_ssize_t i
    cdef int b
    for b in range(BINS):
        least[b] = EMPTY
    for i in range(shingles.shape[0]):
        b = shingles[i] & (BINS - 1)
        if shingles[i] < least[b]:
            least[b] = shingles[i]
    for b in range(BINS):
        out[b] = (least[b] >> 6) % 255 + 1 if least[b] != EMPTY else 0
    return (<char*> out)[:BINS]


cdef tuple _all_keys(
    const uint64_t[::1] words,
    const uint64_t[::1] masked,
    const uint64_t* code,
    const unsigned char* named,
    Py_ssize_t n,
):
    """Both views' keys and the opening's, sorted, each once.

    Word keys come from shingles not made of common words only; masked keys from
    shingles holding a name (a text shorter than a shingle: its one shingle
    counts all its words).
    """
    cdef int64_t[MAX_KEYS] keys
    cdef int found = 0, kept = 0, i
    cdef Py_ssize_t span = words.shape[0]
    cdef unsigned char* rare = <unsigned char*> malloc(span)
    cdef unsigned char* with_name = <unsigned char*> malloc(masked.shape[0])
    if rare == NULL or with_name == NULL:
        free(rare)
        free(with_name)
        raise MemoryError()
    try:
        _windows(code, NULL, n, WORD_SHINGLE, rare, span)
        _windows(NULL, named, n, MASKED_SHINGLE, with_name, masked.shape[0])
        found += _keys(&words[0], rare, span, 1, KEYS_PER_VIEW, keys + found)
        found += _keys(&masked[0], with_name, masked.shape[0], 2, KEYS_PER_VIEW, keys + found)
        found += _keys(&words[0], NULL, min(span, LEAD_WORDS), 3, LEAD_KEYS, keys + found)
    finally:
        free(rare)
        free(with_name)
    _sort(keys, found)
    for i in range(found):
        if i == 0 or keys[i] != keys[i - 1]:
            keys[kept] = keys[i]
            kept += 1
    return tuple([keys[i] for i in range(kept)])


cdef void _windows(
    const uint64_t* code,
    const unsigned char* named,
    Py_ssize_t n,
    int size,
    unsigned char* keep,
    Py_ssize_t span,
) noexcept:
    """Which shingles are worth a key: with ``named``, those whose window holds a
    name; else (``code``) those whose window holds a word that is not common."""
    cdef Py_ssize_t i, j, count
    cdef Py_ssize_t width = size if n >= size else n  # a short text: all its words
    for i in range(span):
        count = 0
        for j in range(i, i + width):
            if named != NULL:
                count += named[j]
            else:
                count += code[j] & COMMON
        keep[i] = count > 0 if named != NULL else count < size


cdef int _keys(
    const uint64_t* shingles,
    const unsigned char* keep,
    Py_ssize_t n,
    int view,
    int count,
    int64_t* out,
) noexcept:
    """The least kept shingle of each coarse bin, as a signed 32-bit key tagged with its view."""
    cdef uint64_t[KEYS_PER_VIEW] least
    cdef uint64_t top
    cdef Py_ssize_t i
    cdef int b, found = 0
    for b in range(count):
        least[b] = EMPTY
    for i in range(n):
        if keep == NULL or keep[i]:
            b = (shingles[i] >> 6) % count
            if shingles[i] < least[b]:
                least[b] = shingles[i]
    for b in range(count):
        if least[b] != EMPTY:
            top = ((least[b] ^ VIEW_TAGS[view]) * P1) >> 32
            out[found] = <int64_t> top - WRAP if top >= SIGN else <int64_t> top
            found += 1
    return found


cdef void _sort(int64_t* values, int n) noexcept:
    """Insertion sort: there are at most MAX_KEYS."""
    cdef int i, j
    cdef int64_t value
    for i in range(1, n):
        value = values[i]
        j = i - 1
        while j >= 0 and values[j] > value:
            values[j + 1] = values[j]
            j -= 1
        values[j + 1] = value


def names_of(list cased, list words, common):
    """Capitalised words that are not in ``common``, and numbers: ``words`` (the folded
    text's words, lower-cased) whose ``cased`` form differs, and those all digits.
    When the two differ in length (a character that lower-cases to two words), the
    numbers alone. One pass over the words (monitor.near.sketch says why)."""
    cdef Py_ssize_t i, n = len(words)
    cdef bint aligned = len(cased) == n
    cdef set found = set()
    cdef str word
    for i in range(n):
        word = words[i]
        # A word is never empty (split): a number starts with a digit.
        if Py_UNICODE_ISDIGIT(word[0]) and word.isdigit():
            found.add(word)
        if aligned and word != <str> cased[i] and word not in common:
            found.add(word)
    return found


cdef struct _Ranked:
    long rank
    PyObject* name


def story_names(names, rank, calendar):
    """(names, weights) of up to STORY_NAMES names, the rarest first: numbers and
    ``calendar`` words left out, ties in name order. A name's weight is 1 plus twice
    its ``rank`` (RANKED_WORDS when not ranked) over RANKED_WORDS (monitor.near.sketch
    says why). Sorted here: a Python sort of (rank, name) pairs cost a tenth of the sketch.
    """
    cdef _Ranked* ranked = <_Ranked*> malloc((len(names) + 1) * sizeof(_Ranked))
    if ranked == NULL:
        raise MemoryError()
    cdef Py_ssize_t count = 0, i
    try:
        for name in names:
            if _all_digits(name) or PySet_Contains(calendar, name):
                continue
            ranked[count].rank = _rank(rank, name)
            ranked[count].name = <PyObject*> name  # held by ``names``
            count += 1
        qsort(ranked, count, sizeof(_Ranked), _rarer_first)
        count = min(count, STORY_NAMES)
        return (
            tuple([<object> ranked[i].name for i in range(count)]),
            tuple([1 + 2 * ranked[i].rank / <double> RANKED_WORDS for i in range(count)]),
        )
    finally:
        free(ranked)


cdef long _rank(rank, str name) except? -1:
    """``rank.get(name, RANKED_WORDS)``, without a method call for a dict."""
    if type(rank) is not dict:
        return rank.get(name, RANKED_WORDS)
    cdef PyObject* found = PyDict_GetItemWithError(rank, name)
    return <object> found if found != NULL else RANKED_WORDS


cdef int _rarer_first(const void* a, const void* b) noexcept nogil:
    cdef const _Ranked* x = <const _Ranked*> a
    cdef const _Ranked* y = <const _Ranked*> b
    if x.rank != y.rank:
        return -1 if x.rank > y.rank else 1
    return _code_point_order(x.name, y.name)


cdef int _code_point_order(PyObject* a, PyObject* b) noexcept nogil:
    """How Python orders two strings (``a < b``): by code point, then by length."""
    cdef Py_ssize_t i, n = min(_length(a), _length(b))
    cdef int kind_a = _kind_of(a), kind_b = _kind_of(b)
    cdef const void* data_a = _data_of(a)
    cdef const void* data_b = _data_of(b)
    cdef Py_UCS4 x, y
    for i in range(n):
        x, y = PyUnicode_READ(kind_a, data_a, i), PyUnicode_READ(kind_b, data_b, i)
        if x != y:
            return -1 if x < y else 1
    return (_length(a) > _length(b)) - (_length(a) < _length(b))


cdef bint _all_digits(str word):
    """``word.isdigit()``"""
    cdef Py_ssize_t i, n = PyUnicode_GET_LENGTH(word)
    cdef int kind = PyUnicode_KIND(word)
    cdef const void* data = PyUnicode_DATA(word)
    for i in range(n):
        if not Py_UNICODE_ISDIGIT(PyUnicode_READ(kind, data, i)):
            return False
    return n > 0


def name_hashes(names, dict hashes, hash_of):
    """The MAX_NAMES least of the names' 16-bit hashes, sorted, each once.

    ``hashes``: the cache, name -> its hash; ``hash_of(name)``: the hash of a name
    not in it (and caches it).
    """
    cdef uint16_t* least = <uint16_t*> malloc((len(names) + 1) * sizeof(uint16_t))
    if least == NULL:
        raise MemoryError()
    cdef Py_ssize_t count = 0, kept = 0, i
    cdef PyObject* found
    cdef uint64_t hash
    try:
        for name in names:
            found = PyDict_GetItemWithError(hashes, name)
            hash = <object> found if found != NULL else hash_of(name)
            least[count] = hash & 0xFFFF
            count += 1
        qsort(least, count, sizeof(uint16_t), _in_order)
        for i in range(count):
            if kept < MAX_NAMES and (i == 0 or least[i] != least[kept - 1]):
                least[kept] = least[i]
                kept += 1
        return tuple([least[i] for i in range(kept)])
    finally:
        free(least)


cdef int _in_order(const void* a, const void* b) noexcept nogil:
    return (<const uint16_t*> a)[0] - (<const uint16_t*> b)[0]


def shared(const uint64_t[::1] a, const uint64_t[::1] b):
    """How many values two sorted arrays of distinct values have in common."""
    cdef Py_ssize_t i = 0, j = 0, count = 0
    cdef Py_ssize_t n = a.shape[0], m = b.shape[0]
    with nogil:
        while i < n and j < m:
            if a[i] < b[j]:
                i += 1
            elif a[i] > b[j]:
                j += 1
            else:
                count += 1
                i += 1
                j += 1
    return count


def distinct(const uint64_t[::1] values):
    """The values sorted, each once (what ``numpy.unique`` gives, without its overhead)."""
    result = np.sort(values)
    cdef uint64_t[::1] out = result
    cdef Py_ssize_t i, kept = 0
    for i in range(out.shape[0]):
        if i == 0 or out[i] != out[kept - 1]:
            out[kept] = out[i]
            kept += 1
    return result[:kept]


cdef inline double _agreement(const unsigned char* x, const unsigned char* y) noexcept nogil:
    cdef int b, used = 0, agree = 0
    for b in range(BINS):
        if x[b] | y[b]:
            used += 1
            agree += x[b] == y[b]
    return agree / <double> used if used else 0.0


def jaccard(bytes a, bytes b):
    """One-permutation MinHash estimate: bins that agree among bins not empty in both."""
    if len(a) != BINS or len(b) != BINS:
        raise ValueError(f"a sketch view has {BINS} bins")
    return _agreement(a, b)


def jaccard_pairs(
    const unsigned char[:, ::1] mine,
    const unsigned char[:, ::1] theirs,
    const Py_ssize_t[::1] left,
    const Py_ssize_t[::1] right,
):
    """``jaccard(mine[left[i]], theirs[right[i]])`` for each pair i, as a float64 array:
    a batch's articles against the stored sketches they share a key with, the rows
    picked in place (numpy's fancy indexing copied every pair's bins first)."""
    if mine.shape[1] != BINS or theirs.shape[1] != BINS:
        raise ValueError(f"a sketch view has {BINS} bins")
    if left.shape[0] != right.shape[0]:
        raise ValueError("one right row per left row")
    cdef Py_ssize_t i, n = left.shape[0]
    for i in range(n):
        if not (0 <= left[i] < mine.shape[0] and 0 <= right[i] < theirs.shape[0]):
            raise IndexError("row out of range")
    result = np.empty(n, dtype=np.float64)
    cdef double[::1] out = result
    with nogil:
        for i in range(n):
            out[i] = _agreement(&mine[left[i], 0], &theirs[right[i], 0])
    return result


cdef struct _Close:
    double closeness
    Py_ssize_t index


def closest(bytes words, bytes masked, double length, list others, double floor):
    """Which of ``others`` (sketches: ``words``, ``masked``, ``word_count``) pass the
    prefilter against the sketch of bins ``words``, ``masked`` and ``length`` word
    shingles, the closest first (ties in their order): their indexes.

    What monitor.near.similarity.prefilter decides of each pair, and orders by,
    in the same float64 operations; one call an article, where numpy spent more
    on its dozen calls than on the few dozen pairs.
    """
    if len(words) != BINS or len(masked) != BINS:
        raise ValueError(f"a sketch view has {BINS} bins")
    cdef Py_ssize_t i, kept = 0, n = len(others)
    cdef _Close* found = <_Close*> malloc((n + 1) * sizeof(_Close))
    if found == NULL:
        raise MemoryError()
    cdef bytes their_words, their_masked
    cdef double count, word_j, masked_j, small, containment
    try:
        for i in range(n):
            other = others[i]
            their_words, their_masked = other.words, other.masked
            if len(their_words) != BINS or len(their_masked) != BINS:
                raise ValueError(f"a sketch view has {BINS} bins")
            count = other.word_count
            word_j = _agreement(words, their_words)
            masked_j = _agreement(masked, their_masked)
            small = count if count < length else length
            # |A ∩ B| = J (|A| + |B|) / (1 + J); its share of the smaller set.
            containment = (
                word_j * (count + length) / (1 + word_j) / (small if small > 1 else 1.0)
                if small > 0
                else 0.0
            )
            if word_j >= floor or masked_j >= floor or containment >= 2 * floor:
                found[kept].closeness = word_j if word_j >= containment else containment
                found[kept].index = i
                kept += 1
        qsort(found, kept, sizeof(_Close), _closer_first)
        return [found[i].index for i in range(kept)]
    finally:
        free(found)


cdef int _closer_first(const void* a, const void* b) noexcept nogil:
    cdef const _Close* x = <const _Close*> a
    cdef const _Close* y = <const _Close*> b
    if x.closeness != y.closeness:
        return -1 if x.closeness > y.closeness else 1
    return (x.index > y.index) - (x.index < y.index)


def names_share(a, b):
    """The share of one side's names found in the other's, below both sides' cut-offs
    (each keeps only its MAX_NAMES least hashes, sorted: a tuple or an array of 16-bit
    values), of the side with fewer there; 1.0 when one side names nothing.

    monitor.near.similarity's former Python (two bisects, a set and an intersection),
    step for step, for every pair an article screens.
    """
    cdef Py_ssize_t n = len(a), m = len(b)
    if n == 0 or m == 0:
        return 1.0
    cdef uint16_t* mine = <uint16_t*> malloc((n + m) * sizeof(uint16_t))
    if mine == NULL:
        raise MemoryError()
    cdef uint16_t* theirs = mine + n
    cdef Py_ssize_t i
    cdef long cut
    try:
        for i in range(n):
            mine[i] = a[i]
        for i in range(m):
            theirs[i] = b[i]
        cut = min(_cut_off(mine, n), _cut_off(theirs, m))
        n, m = _bisect_right(mine, n, cut), _bisect_right(theirs, m, cut)
        if n <= m:
            return _found_share(mine, n, theirs, m)
        return _found_share(theirs, m, mine, n)
    finally:
        free(mine)


cdef inline long _cut_off(const uint16_t* names, Py_ssize_t n) noexcept nogil:
    return names[n - 1] if n >= MAX_NAMES else 0xFFFF


cdef Py_ssize_t _bisect_right(const uint16_t* names, Py_ssize_t n, long x) noexcept nogil:
    """Python's ``bisect.bisect_right``, the same steps."""
    cdef Py_ssize_t low = 0, high = n, middle
    while low < high:
        middle = (low + high) // 2
        if x < names[middle]:
            high = middle
        else:
            low = middle + 1
    return low


cdef double _found_share(
    const uint16_t* small, Py_ssize_t n, const uint16_t* large, Py_ssize_t m
) noexcept nogil:
    """``len(set(small) & set(large)) / len(small)``, 0.0 when ``small`` is empty."""
    if n == 0:
        return 0.0
    cdef uint64_t[1024] present  # a bit for each 16-bit value
    cdef Py_ssize_t i, found = 0
    memset(present, 0, sizeof(present))
    for i in range(m):
        present[large[i] >> 6] |= (<uint64_t> 1) << (large[i] & 63)
    for i in range(n):
        if present[small[i] >> 6] & ((<uint64_t> 1) << (small[i] & 63)):
            found += 1
            present[small[i] >> 6] &= ~((<uint64_t> 1) << (small[i] & 63))  # counted once
    return found / <double> n


def filed_under(dict postings, keys, str leave):
    """The entries of ``postings`` (key -> list of entries, each with an ``article_id``)
    under ``keys``, each article once (its first entry), in the order the keys give
    them, but for the article ``leave``: an article's candidates, some hundreds
    late in a large run, most of them under several of its keys."""
    cdef dict first = {}
    cdef PyObject* filed
    cdef list entries
    for key in keys:
        filed = PyDict_GetItemWithError(postings, key)
        if filed == NULL:
            continue
        entries = <list> filed
        for entry in entries:
            PyDict_SetDefault(first, entry.article_id, entry)
    first.pop(leave, None)
    return list(first.values())
