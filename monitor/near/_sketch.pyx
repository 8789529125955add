# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The arithmetic of a sketch, compiled: shingles, bins and keys in plain C loops.

monitor.near.sketch decides what goes in (each word's code, which words are
names); this module turns the codes into the two views' shingles, the bytes of
their bins and the index keys. numpy did the same in some fifty small calls per
article, each costing more than the work it did on a few hundred numbers.
The outputs are stored in users' databases: they must stay bit for bit what
tests/near/test_sketch_kernel.py's reference (the former numpy code) gives.

Also here: counting the values two sorted arrays share, the exact measures'
inner loop (monitor.near.similarity).

Built by ``pip install -e .`` (setup.py); run it again after editing this file.
"""

from cpython.set cimport PySet_Contains
from cpython.unicode cimport Py_UNICODE_ISDIGIT
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc

import numpy as np

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
}


def views(list codes, list words, names):
    """(word shingles, masked shingles, word bins, masked bins, keys) of one text.

    ``codes``: each word's code (its hash, flags in the low bits); ``names``: the
    words that are names or numbers, kept by the masked view and by its keys.
    """
    cdef Py_ssize_t n = len(codes), i
    if len(words) != n:
        raise ValueError("one code per word")
    # Padded with zeros to the longest shingle: a short text still has one shingle.
    cdef Py_ssize_t room = n if n > MASKED_SHINGLE else MASKED_SHINGLE
    cdef uint64_t* code = <uint64_t*> malloc(room * sizeof(uint64_t))
    cdef uint64_t* masked = <uint64_t*> malloc(room * sizeof(uint64_t))
    cdef unsigned char* named = <unsigned char*> malloc(room)
    if code == NULL or masked == NULL or named == NULL:
        free(code)
        free(masked)
        free(named)
        raise MemoryError()
    try:
        for i in range(n):
            code[i] = codes[i]
            named[i] = PySet_Contains(names, words[i]) == 1
            masked[i] = code[i] if named[i] or (code[i] & FUNCTION) else MASK
        for i in range(n, room):
            code[i], masked[i], named[i] = 0, 0, 0
        word_shingles = _shingles(code, n, WORD_SHINGLE)
        masked_shingles = _shingles(masked, n, MASKED_SHINGLE)
        keys = _all_keys(word_shingles, masked_shingles, code, named, n)
        return word_shingles, masked_shingles, _bins(word_shingles), _bins(masked_shingles), keys
    finally:
        free(code)
        free(masked)
        free(named)


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


def jaccards(bytes one, list many):
    """``jaccard(one, other)`` for each of ``many``, as a float64 array."""
    if len(one) != BINS:
        raise ValueError(f"a sketch view has {BINS} bins")
    result = np.empty(len(many), dtype=np.float64)
    cdef double[::1] out = result
    cdef Py_ssize_t i
    cdef bytes other
    for i in range(len(many)):
        other = many[i]
        if len(other) != BINS:
            raise ValueError(f"a sketch view has {BINS} bins")
        out[i] = _agreement(one, other)
    return result
