# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The hot loop of matching, compiled: an article folded, split and looked up in
one pass over its characters, then every term checked where its anchor stands.

Every term is a sequence of word tests (a word as written, a stem, or a prefix),
so no automaton is needed: each distinct word is looked up once in a dictionary
and, the first time it is met, learnt: its stem, which written words, stems and
prefixes of the watchlists it is, and which terms it anchors (its *triggers*).
An article is then a list of word ids; a word with triggers wakes its terms,
which are checked around it with integer comparisons. The semantics are those of
monitor.text.fold (folding), monitor.match.index (anchors, needs) and the
docstring of monitor.match.scan (NEAR windows, case).

Built by ``pip install -e .`` (setup.py); run it again after editing this file.
"""

from cpython.dict cimport PyDict_GetItemWithError
from cpython.long cimport PyLong_FromLong
from cpython.ref cimport Py_INCREF, PyObject
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport (
    PyUnicode_4BYTE_KIND,
    PyUnicode_DATA,
    PyUnicode_FromKindAndData,
    PyUnicode_GET_LENGTH,
    PyUnicode_KIND,
    PyUnicode_READ,
)
from libc.stdint cimport uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcmp, memcpy, memset

from array import array

from cpython.array cimport array as cyarray
from cpython.object cimport Py_SIZE

from monitor.text.fold import _BYTES, _fold_char

BARRIER = "\x1f"

cdef enum:
    EXACT = 0
    STEM = 1
    PREFIX = 2
    MAX_CANDIDATES = 6  # per word of a NEAR term: the nearest few are enough
    MAX_WORDS = 64  # more than a term can hold (monitor.watchlist.terms.MAX_WORDS)
    # A pattern's facts, side by side in Lexicon.pattern (one cache line for the few
    # read about each term an anchor wakes): word count, anchor, NEAR window (-1:
    # side by side), whole, case, first test, first need, need count.
    P_N = 0
    P_ANCHOR = 1
    P_NEAR = 2
    P_WHOLE = 3
    P_CASE = 4
    P_TEST = 5
    P_NEED = 6
    P_NEEDS = 7
    PATTERN = 8  # ints per pattern
    # A trigger (a term an anchor wakes) is four ints: the pattern, then one test
    # that rules most of them out without reading the pattern: a word at an offset
    # from the anchor (kind, value), or QUICK_NEED: a need (kind, value) of the
    # article, or QUICK_NONE.
    TRIGGER = 4
    QUICK_NONE = 0
    QUICK_NEED = 1000

KINDS = {"exact": EXACT, "stem": STEM, "prefix": PREFIX}


# Growable int arrays -------------------------------------------------------------

cdef struct IntVec:
    int *data
    Py_ssize_t n
    Py_ssize_t cap


cdef inline int push(IntVec *v, int x) except -1:
    if v.n == v.cap:
        enlarge(v)
    v.data[v.n] = x
    v.n += 1
    return 0


cdef int enlarge(IntVec *v) except -1:
    cdef Py_ssize_t cap = v.cap * 2 if v.cap else 64
    cdef int *grown = <int *>realloc(v.data, cap * sizeof(int))
    if grown == NULL:
        raise MemoryError()
    v.data, v.cap = grown, cap
    return 0


cdef int _push_pattern(
    IntVec *v, int n, int anchor, int near, int whole, int keep_case, int test, int need,
    int needs
) except -1:
    push(v, n)
    push(v, anchor)
    push(v, near)
    push(v, whole)
    push(v, keep_case)
    push(v, test)
    push(v, need)
    push(v, needs)
    return 0


cdef inline void release(IntVec *v) noexcept:
    free(v.data)
    v.data, v.n, v.cap = NULL, 0, 0


# Folding characters ----------------------------------------------------------------

# ASCII folds through a table (as fold.py's bytes.translate); any other character
# through fold._fold_char, remembered in pages of 256 characters, per case mode.
cdef Py_UCS4 _ascii[2][128]
cdef PyObject **_pages[2][0x1100]

for _mode in range(2):
    for _c in range(128):
        _ascii[_mode][_c] = _BYTES[bool(_mode)][_c]


cdef object _folded_char(unsigned int c, int mode):
    """What the character folds to: a string of letters, digits and spaces."""
    cdef PyObject **page = _pages[mode][c >> 8]
    cdef object folded
    if page != NULL and page[c & 255] != NULL:
        return <object>page[c & 255]
    folded = _fold_char(chr(c), bool(mode))
    if _pages[mode][c >> 8] == NULL:
        page = <PyObject **>calloc(256, sizeof(PyObject *))
        if page == NULL:
            raise MemoryError()
        _pages[mode][c >> 8] = page
    page = _pages[mode][c >> 8]
    if page[c & 255] == NULL:
        Py_INCREF(folded)
        page[c & 255] = <PyObject *>folded
    return folded


# The words an article is made of -----------------------------------------------

# FNV-1a over the letters of a word
cdef uint64_t FNV_OFFSET = 14695981039346656037ULL
cdef uint64_t FNV_PRIME = 1099511628211ULL

cdef class _Words:
    """Word ids: the facts about each word met, learnt once (see Lexicon.learn),
    found again by their letters in an open-addressing hash table (no string made)."""

    cdef Py_ssize_t count
    cdef IntVec written  # id → its id among the written words of the terms, or -1
    cdef IntVec stem  # id → the id of its stem among the terms' stems, or -1
    cdef IntVec prefix_at, prefix_n, prefixes  # the prefixes of the terms it starts with
    cdef IntVec trigger_at, trigger_n  # the patterns it anchors: where, how many
    cdef IntVec triggers  # TRIGGER ints each
    cdef IntVec letters_at, letters_n  # id → where its letters are in ``letters``
    cdef Py_UCS4 *letters
    cdef Py_ssize_t letters_size, letters_used
    cdef int *slots  # word id or -1
    cdef uint64_t *hashes
    cdef Py_ssize_t mask  # slots - 1 (a power of two less one)

    def __cinit__(self):
        self.mask = 1023
        self.slots = <int *>malloc((self.mask + 1) * sizeof(int))
        self.hashes = <uint64_t *>malloc((self.mask + 1) * sizeof(uint64_t))
        if self.slots == NULL or self.hashes == NULL:
            raise MemoryError()
        memset(self.slots, 0xFF, (self.mask + 1) * sizeof(int))

    def __dealloc__(self):
        release(&self.written)
        release(&self.stem)
        release(&self.prefix_at)
        release(&self.prefix_n)
        release(&self.prefixes)
        release(&self.trigger_at)
        release(&self.trigger_n)
        release(&self.triggers)
        release(&self.letters_at)
        release(&self.letters_n)
        free(self.letters)
        free(self.slots)
        free(self.hashes)

    cdef inline int find(self, const Py_UCS4 *word, Py_ssize_t n, uint64_t h) noexcept:
        """The id of the word of ``n`` letters at ``word`` (hash ``h``), -1 if unknown."""
        cdef Py_ssize_t i = <Py_ssize_t>(h & <uint64_t>self.mask)
        cdef int wid
        while True:
            wid = self.slots[i]
            if wid < 0:
                return -1
            if (
                self.hashes[i] == h
                and self.letters_n.data[wid] == n
                and memcmp(self.letters + self.letters_at.data[wid], word, n * sizeof(Py_UCS4)) == 0
            ):
                return wid
            i = (i + 1) & self.mask

    cdef int file(self, const Py_UCS4 *word, Py_ssize_t n, uint64_t h) except -1:
        """Give the next id to this word (its facts pushed by the caller)."""
        cdef Py_ssize_t i, size, wid = self.count
        cdef Py_UCS4 *grown
        if self.letters_used + n > self.letters_size:
            size = max(2 * self.letters_size, self.letters_used + n, 4096)
            grown = <Py_UCS4 *>realloc(self.letters, size * sizeof(Py_UCS4))
            if grown == NULL:
                raise MemoryError()
            self.letters, self.letters_size = grown, size
        memcpy(self.letters + self.letters_used, word, n * sizeof(Py_UCS4))
        push(&self.letters_at, <int>self.letters_used)
        push(&self.letters_n, <int>n)
        self.letters_used += n
        if 2 * (self.count + 1) > self.mask + 1:
            self.grow()
        i = <Py_ssize_t>(h & <uint64_t>self.mask)
        while self.slots[i] >= 0:
            i = (i + 1) & self.mask
        self.slots[i], self.hashes[i] = <int>wid, h
        self.count += 1
        return 0

    cdef int grow(self) except -1:
        cdef Py_ssize_t size = 2 * (self.mask + 1), i, j, mask = size - 1
        cdef int *slots = <int *>malloc(size * sizeof(int))
        cdef uint64_t *hashes = <uint64_t *>malloc(size * sizeof(uint64_t))
        if slots == NULL or hashes == NULL:
            free(slots)
            free(hashes)
            raise MemoryError()
        memset(slots, 0xFF, size * sizeof(int))
        for i in range(self.mask + 1):
            if self.slots[i] >= 0:
                j = <Py_ssize_t>(self.hashes[i] & <uint64_t>mask)
                while slots[j] >= 0:
                    j = (j + 1) & mask
                slots[j], hashes[j] = self.slots[i], self.hashes[i]
        free(self.slots)
        free(self.hashes)
        self.slots, self.hashes, self.mask = slots, hashes, mask
        return 0

    cdef inline bint test(self, int word, int kind, int value) noexcept:
        cdef int i, end
        if word < 0:  # the barrier between title and body is no word
            return False
        if kind == EXACT:
            return self.written.data[word] == value
        if kind == STEM:
            return self.stem.data[word] == value
        i = self.prefix_at.data[word]
        end = i + self.prefix_n.data[word]
        while i < end:
            if self.prefixes.data[i] == value:
                return True
            i += 1
        return False


cdef class Lexicon:
    """The terms of an index for one language, and the words of the articles read.

    ``patterns``: per pattern id, None (a regular expression, not scanned) or
    ``(anchor, near or -1, whole, match_case, words, needs)`` where ``words`` are
    ``(kind, value, text)`` (kind "exact", "stem" or "prefix"; value the written
    word, stem or prefix looked for; text the word as the term wrote it, for case)
    and ``needs`` are ``(kind, value)`` of the stems and written words the article
    must contain before a term that is not found whole is looked at closer.
    """

    cdef _Words words
    cdef object stem_word
    cdef Py_ssize_t limit
    cdef dict written_ids, stem_ids, prefix_ids
    cdef tuple prefix_lengths
    cdef dict written_triggers, stem_triggers, prefix_triggers
    cdef IntVec pattern  # PATTERN ints per pattern (P_N, P_ANCHOR, ...)
    cdef IntVec tests, needs  # kind, value: two ints per word of a term, per need
    cdef IntVec quick  # per pattern: offset, kind, value (see TRIGGER)
    cdef list case_text  # per test: the word as written when its term keeps case
    cdef _Scan spare  # the buffers of the last scan, for the next one

    def __init__(self, patterns, stem_word, Py_ssize_t limit=200_000):
        self.words = _Words()
        self.stem_word = stem_word
        self.limit = limit
        self.written_ids, self.stem_ids, self.prefix_ids = {}, {}, {}
        self.written_triggers, self.stem_triggers, self.prefix_triggers = {}, {}, {}
        self.case_text = []
        ids = {EXACT: self.written_ids, STEM: self.stem_ids, PREFIX: self.prefix_ids}
        triggers = {
            EXACT: self.written_triggers, STEM: self.stem_triggers, PREFIX: self.prefix_triggers
        }
        for pid, spec in enumerate(patterns):
            if spec is None:  # a regular expression: run by monitor.match.scan when asked
                _push_pattern(&self.pattern, 0, 0, -1, 0, 0, self.tests.n // 2, self.needs.n // 2, 0)
                self.push_quick(pid)
                continue
            anchor, near, whole, match_case, words, needs = spec
            if len(words) > MAX_WORDS:
                raise ValueError(f"a term has at most {MAX_WORDS} words")
            _push_pattern(
                &self.pattern, len(words), anchor, near, 1 if whole else 0,
                1 if match_case else 0, self.tests.n // 2, self.needs.n // 2, len(needs),
            )
            for i, (kind_name, value, text) in enumerate(words):
                kind = KINDS[kind_name]
                number = ids[kind].setdefault(value, len(ids[kind]))
                push(&self.tests, kind)
                push(&self.tests, number)
                self.case_text.append(text if match_case else None)
                if i == anchor:
                    triggers[kind].setdefault(number, []).append(pid)
            for kind_name, value in needs:
                kind = KINDS[kind_name]
                push(&self.needs, kind)
                push(&self.needs, ids[kind].setdefault(value, len(ids[kind])))
            self.push_quick(pid)
        self.prefix_lengths = tuple(sorted({len(p) for p in self.prefix_ids}))

    cdef int push_quick(self, int pid) except -1:
        """The quick test of pattern ``pid`` (see TRIGGER): the word next to the anchor
        of a term found whole, else the first word the article needs."""
        cdef int *facts = self.pattern.data + PATTERN * pid
        cdef int n = facts[P_N], anchor = facts[P_ANCHOR], t = facts[P_TEST], j
        if facts[P_WHOLE] and n > 1:
            j = anchor + 1 if anchor + 1 < n else anchor - 1
            push(&self.quick, j - anchor)
            push(&self.quick, self.tests.data[2 * (t + j)])
            push(&self.quick, self.tests.data[2 * (t + j) + 1])
        elif not facts[P_WHOLE] and facts[P_NEEDS]:
            push(&self.quick, QUICK_NEED)
            push(&self.quick, self.needs.data[2 * facts[P_NEED]])
            push(&self.quick, self.needs.data[2 * facts[P_NEED] + 1])
        else:
            push(&self.quick, QUICK_NONE)
            push(&self.quick, 0)
            push(&self.quick, 0)
        return 0

    def __dealloc__(self):
        release(&self.quick)
        release(&self.pattern)
        release(&self.tests)
        release(&self.needs)

    @property
    def known_words(self):
        return self.words.count

    cdef int learn(self, _Words words, const Py_UCS4 *letters, Py_ssize_t n, uint64_t h) except -2:
        """The id of a word met for the first time, its facts worked out."""
        cdef int wid, k
        word = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, letters, n)
        written = self.written_ids.get(word, -1)
        stem = self.stem_ids.get(self.stem_word(word), -1)
        prefixes = [
            self.prefix_ids[word[:k]]
            for k in self.prefix_lengths
            if k <= n and word[:k] in self.prefix_ids
        ]
        triggers = [
            *self.written_triggers.get(written, ()),
            *self.stem_triggers.get(stem, ()),
            *[pid for p in prefixes for pid in self.prefix_triggers.get(p, ())],
        ]
        # From here on no Python code runs: another thread sees the word whole or not.
        wid = words.find(letters, n, h)
        if wid >= 0:
            return wid
        wid = <int>words.count
        push(&words.written, written)
        push(&words.stem, stem)
        push(&words.prefix_at, <int>words.prefixes.n)
        push(&words.prefix_n, len(prefixes))
        for p in prefixes:
            push(&words.prefixes, p)
        push(&words.trigger_at, <int>(words.triggers.n // TRIGGER))
        push(&words.trigger_n, len(triggers))
        for p in triggers:
            push(&words.triggers, p)
            for k in range(3):
                push(&words.triggers, self.quick.data[3 * p + k])
        words.file(letters, n, h)
        return wid

    def scan(self, str title, str body):
        """``(title words, found, offsets)``: where each pattern occurs (pattern id →
        occurrences, each the word positions, in order) and the original start and
        end of every word (title words, the barrier, body words) in its field."""
        if self.words.count > self.limit:  # news keeps coining words: start afresh
            self.words = _Words()
        cdef _Scan scan = self.spare
        self.spare = None  # taken: a scan in another thread makes its own
        if scan is None or scan.words is not self.words:
            scan = _Scan(self, self.words)
        try:
            scan.read(title, body)
            scan.find()
            offsets = array("i")
            offsets.frombytes((<char *>scan.offsets.data)[: scan.offsets.n * sizeof(int)])
            return scan.title_words, scan.found, offsets
        finally:
            scan.clear()
            self.spare = scan


# One article ---------------------------------------------------------------------

cdef class _Scan:
    cdef Lexicon lex
    cdef _Words words
    cdef IntVec tokens  # word ids (-1: the barrier)
    cdef IntVec offsets  # per word: start and end in its field
    cdef int title_words
    cdef dict found
    cdef str title, body
    cdef list cased  # the words with their case, when a term that keeps case asks
    # Which of the terms' written words and stems occur: equal to ``stamp`` if so.
    cdef unsigned int *written_here
    cdef unsigned int *stems_here
    cdef Py_ssize_t written_count, stems_count
    cdef unsigned int stamp
    cdef Py_UCS4 *buffer
    cdef Py_ssize_t buffer_size

    def __cinit__(self, Lexicon lex, _Words words):
        self.lex, self.words = lex, words
        self.written_count, self.stems_count = len(lex.written_ids), len(lex.stem_ids)
        self.written_here = <unsigned int *>calloc(self.written_count + 1, sizeof(int))
        self.stems_here = <unsigned int *>calloc(self.stems_count + 1, sizeof(int))
        if self.written_here == NULL or self.stems_here == NULL:
            raise MemoryError()

    cdef void clear(self) noexcept:
        self.tokens.n = self.offsets.n = 0
        self.found = None
        self.title = self.body = None
        self.cased = None

    def __dealloc__(self):
        release(&self.tokens)
        release(&self.offsets)
        free(self.written_here)
        free(self.stems_here)
        free(self.buffer)

    cdef int read(self, str title, str body) except -1:
        self.title, self.body = title, body
        self.found = {}
        self.stamp += 1
        if self.stamp == 0:  # wrapped around: forget every mark
            memset(self.written_here, 0, (self.written_count + 1) * sizeof(int))
            memset(self.stems_here, 0, (self.stems_count + 1) * sizeof(int))
            self.stamp = 1
        self.split(title, 0, None)
        self.title_words = <int>self.tokens.n
        push(&self.tokens, -1)
        push(&self.offsets, 0)
        push(&self.offsets, 0)
        self.split(body, 0, None)
        return 0

    cdef int split(self, str text, int keep_case, list out) except -1:
        """Fold ``text`` and split it into words: looked up (``out`` None) or
        appended to ``out`` as strings. A word starts at the original character
        that gave its first letter and ends at the one that gave the space after it."""
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(text), i, j, m, length = 0, start = 0
        cdef int kind = PyUnicode_KIND(text)
        cdef void *data = PyUnicode_DATA(text)
        cdef Py_UCS4 c, d
        cdef uint64_t h = FNV_OFFSET
        cdef object folded
        for i in range(n):
            c = PyUnicode_READ(kind, data, i)
            if c < 128:
                d = _ascii[keep_case][c]
                if d == 32:
                    if length:
                        self.word(length, h, start, i, out)
                        length = 0
                else:
                    if not length:
                        start, h = i, FNV_OFFSET
                    if length == self.buffer_size:
                        self.grow(length + 1)
                    self.buffer[length] = d
                    h = (h ^ <uint64_t>d) * FNV_PRIME
                    length += 1
                continue
            folded = _folded_char(<unsigned int>c, keep_case)
            m = PyUnicode_GET_LENGTH(folded)
            for j in range(m):
                d = PyUnicode_READ(PyUnicode_KIND(folded), PyUnicode_DATA(folded), j)
                if d == 32:
                    if length:
                        self.word(length, h, start, i, out)
                        length = 0
                else:
                    if not length:
                        start, h = i, FNV_OFFSET
                    if length == self.buffer_size:
                        self.grow(length + 1)
                    self.buffer[length] = d
                    h = (h ^ <uint64_t>d) * FNV_PRIME
                    length += 1
        if length:
            self.word(length, h, start, n, out)
        return 0

    cdef int grow(self, Py_ssize_t at_least) except -1:
        cdef Py_ssize_t size = max(at_least, 2 * self.buffer_size, 256)
        cdef Py_UCS4 *grown = <Py_UCS4 *>realloc(self.buffer, size * sizeof(Py_UCS4))
        if grown == NULL:
            raise MemoryError()
        self.buffer, self.buffer_size = grown, size
        return 0

    cdef int word(
        self, Py_ssize_t length, uint64_t h, Py_ssize_t start, Py_ssize_t end, list out
    ) except -1:
        cdef int wid
        if out is not None:
            out.append(PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, self.buffer, length))
            return 0
        wid = self.words.find(self.buffer, length, h)
        if wid < 0:
            wid = self.lex.learn(self.words, self.buffer, length, h)
        push(&self.tokens, wid)
        push(&self.offsets, <int>start)
        push(&self.offsets, <int>end)
        return 0

    cdef int find(self) except -1:
        cdef _Words words = self.words
        cdef Lexicon lex = self.lex
        cdef Py_ssize_t p, k, end
        cdef int wid, pid, count, w, s, i
        cdef int occurrence[MAX_WORDS]
        cdef int *trigger
        cdef PyObject *found
        cdef unsigned int stamp = self.stamp
        if not lex.written_triggers and not lex.stem_triggers and not lex.prefix_triggers:
            return 0
        for p in range(self.tokens.n):
            wid = self.tokens.data[p]
            if wid < 0:
                continue
            w, s = words.written.data[wid], words.stem.data[wid]
            if w >= 0:
                self.written_here[w] = stamp
            if s >= 0:
                self.stems_here[s] = stamp
        for p in range(self.tokens.n):
            wid = self.tokens.data[p]
            if wid < 0 or words.trigger_n.data[wid] == 0:
                continue
            k = words.trigger_at.data[wid]
            end = k + words.trigger_n.data[wid]
            while k < end:
                trigger = words.triggers.data + TRIGGER * k
                k += 1
                if not self.quick_ok(trigger, <int>p):
                    continue
                pid = trigger[0]
                count = self.around(pid, <int>p, occurrence)
                if count:
                    places = PyTuple_New(count)
                    for i in range(count):
                        number = PyLong_FromLong(occurrence[i])
                        Py_INCREF(number)
                        PyTuple_SET_ITEM(places, i, number)
                    key = PyLong_FromLong(pid)
                    found = PyDict_GetItemWithError(self.found, key)
                    if found == NULL:
                        self.found[key] = {places}
                    else:
                        (<set>found).add(places)
        return 0

    # Checking a term around its anchor ----------------------------------------

    cdef inline bint quick_ok(self, const int *trigger, int at) noexcept:
        """Whether the trigger's quick test (see TRIGGER) lets its term be checked."""
        cdef int offset = trigger[1], q
        if offset == QUICK_NONE:
            return True
        if offset == QUICK_NEED:
            if trigger[2] == STEM:
                return self.stems_here[trigger[3]] == self.stamp
            return self.written_here[trigger[3]] == self.stamp
        q = at + offset
        if q < 0 or q >= self.tokens.n:
            return False
        return self.words.test(self.tokens.data[q], trigger[2], trigger[3])

    cdef inline bint is_(self, int t, int position) except -1:
        """Whether test ``t`` (a word of a term) holds at ``position``, case included."""
        if position < 0 or position >= self.tokens.n:
            return False
        if not self.words.test(self.tokens.data[position], self.lex.tests.data[2 * t],
                               self.lex.tests.data[2 * t + 1]):
            return False
        return self.case_ok(t, position)

    cdef int case_ok(self, int t, int position) except -1:
        text = self.lex.case_text[t]
        if text is None:
            return True
        if self.cased is None:
            cased = []
            self.split(self.title, 1, cased)
            cased.append(BARRIER)
            self.split(self.body, 1, cased)
            self.cased = cased
        if len(self.cased) != self.tokens.n:  # a fold that split words differently
            return False
        word = self.cased[position]
        if self.lex.tests.data[2 * t] == PREFIX:
            return word.startswith(text)
        return word == text

    cdef int around(self, int pid, int at, int *occurrence) except -1:
        """The occurrence of pattern ``pid`` whose anchor stands at ``at`` (its word
        positions written to ``occurrence``): how many words, 0 if none."""
        cdef Lexicon lex = self.lex
        cdef int *facts = lex.pattern.data + PATTERN * pid
        cdef int n = facts[P_N], anchor = facts[P_ANCHOR], t = facts[P_TEST], start, j, k, end
        if facts[P_WHOLE]:
            start = at - anchor
            if start < 0 or start + n > self.tokens.n:
                return 0
            for j in range(n):
                if j != anchor and not self.words.test(
                    self.tokens.data[start + j], lex.tests.data[2 * (t + j)], lex.tests.data[2 * (t + j) + 1]
                ):
                    return 0
            if facts[P_CASE]:
                for j in range(n):
                    if not self.case_ok(t + j, start + j):
                        return 0
            for j in range(n):
                occurrence[j] = start + j
            return n
        k = facts[P_NEED]
        end = k + facts[P_NEEDS]
        while k < end:  # the usual case for a common anchor: the other words are absent
            if lex.needs.data[2 * k] == STEM:
                if self.stems_here[lex.needs.data[2 * k + 1]] != self.stamp:
                    return 0
            elif self.written_here[lex.needs.data[2 * k + 1]] != self.stamp:
                return 0
            k += 1
        if not self.is_(t + anchor, at):
            return 0
        if facts[P_NEAR] < 0:
            start = at - anchor
            for j in range(n):
                if not self.is_(t + j, start + j):
                    return 0
                occurrence[j] = start + j
            return n
        return self.near(pid, at, occurrence)

    cdef int near(self, int pid, int at, int *occurrence) except -1:
        """The narrowest choice of the nearest places of the other words that fits
        the NEAR window (the first such in the order of itertools.product)."""
        cdef Lexicon lex = self.lex
        cdef int *facts = lex.pattern.data + PATTERN * pid
        cdef int n = facts[P_N], anchor = facts[P_ANCHOR], near = facts[P_NEAR], t = facts[P_TEST]
        cdef int reach = near + n - 1, m = 0, i, j, d, q, side, width, lo, hi, best = -1
        cdef bint in_title = at < self.title_words, distinct
        cdef int candidates[MAX_WORDS][MAX_CANDIDATES]
        cdef int counts[MAX_WORDS]
        cdef int pick[MAX_WORDS]
        cdef int positions[MAX_WORDS]
        for i in range(n):
            if i == anchor:
                continue
            counts[m] = 0
            # Nearest first; at equal distance, the earlier word first.
            for d in range(1, reach + 1):
                for side in range(2):
                    q = at - d if side == 0 else at + d
                    if (
                        0 <= q < self.tokens.n
                        and (q < self.title_words) == in_title
                        and self.words.test(self.tokens.data[q], lex.tests.data[2 * (t + i)],
                                            lex.tests.data[2 * (t + i) + 1])
                        and self.case_ok(t + i, q)
                    ):
                        candidates[m][counts[m]] = q
                        counts[m] += 1
                        if counts[m] == MAX_CANDIDATES:
                            break
                if counts[m] == MAX_CANDIDATES:
                    break
            if counts[m] == 0:
                return 0
            m += 1
        if m == 1:  # two words: the nearest other one is the best
            q = candidates[0][0]
            occurrence[0], occurrence[1] = (at, q) if at < q else (q, at)
            return 2
        for j in range(m):
            pick[j] = 0
        while True:
            positions[0] = at
            lo = hi = at
            distinct = True
            for j in range(m):
                q = candidates[j][pick[j]]
                for i in range(j + 1):
                    if positions[i] == q:
                        distinct = False
                positions[j + 1] = q
                lo, hi = min(lo, q), max(hi, q)
            width = hi - lo
            if distinct and width - (n - 1) <= near and (best < 0 or width < best):
                best = width
                for j in range(n):
                    occurrence[j] = positions[j]
            j = m - 1  # the next choice, the last word turning fastest
            while j >= 0:
                pick[j] += 1
                if pick[j] < counts[j]:
                    break
                pick[j] = 0
                j -= 1
            if j < 0:
                break
        if best < 0:
            return 0
        for i in range(1, n):  # sorted
            q = occurrence[i]
            j = i - 1
            while j >= 0 and occurrence[j] > q:
                occurrence[j + 1] = occurrence[j]
                j -= 1
            occurrence[j + 1] = q
        return n


# Which rules an article wakes -----------------------------------------------------

cdef class _Marks:
    """Which refs and rules one call has met: equal to its stamp if met."""

    cdef unsigned int *refs
    cdef unsigned int *rules
    cdef Py_ssize_t n_refs, n_rules
    cdef unsigned int stamp

    def __cinit__(self, Py_ssize_t refs, Py_ssize_t rules):
        self.n_refs, self.n_rules = refs, rules
        self.refs = <unsigned int *>calloc(refs + 1, sizeof(int))
        self.rules = <unsigned int *>calloc(rules + 1, sizeof(int))
        if self.refs == NULL or self.rules == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.refs)
        free(self.rules)

    cdef unsigned int next(self) noexcept:
        self.stamp += 1
        if self.stamp == 0:  # wrapped around: forget every mark
            memset(self.refs, 0, (self.n_refs + 1) * sizeof(int))
            memset(self.rules, 0, (self.n_rules + 1) * sizeof(int))
            self.stamp = 1
        return self.stamp


cdef class Wakeup:
    """The rules an article wakes (monitor.match.engine): those filed under an actor or
    concept one of whose patterns occurred, whose required ones all occurred and, if
    they list ``any`` ones the scan can find, one of those; and the rules always asked.

    ``pattern_refs``: per pattern id, the refs using it; ``filed``: ref id → the rules
    filed under it; ``required``/``any_of``: per rule, ref ids; ``always``: rule ids.
    """

    cdef IntVec pattern_at, pattern_n, pattern_refs
    cdef IntVec filed_at, filed_n, filed
    cdef IntVec required_at, required_n, required
    cdef IntVec any_at, any_n, any_of
    cdef list always
    cdef Py_ssize_t refs, rules
    cdef _Marks spare

    def __init__(self, pattern_refs, filed, required, any_of, always, Py_ssize_t refs):
        self.refs, self.rules, self.always = refs, len(required), list(always)
        for ids in pattern_refs:
            push(&self.pattern_at, <int>self.pattern_refs.n)
            push(&self.pattern_n, len(ids))
            for rid in ids:
                push(&self.pattern_refs, rid)
        for rid in range(refs):
            ids = filed.get(rid, ())
            push(&self.filed_at, <int>self.filed.n)
            push(&self.filed_n, len(ids))
            for rule in ids:
                push(&self.filed, rule)
        for ids in required:
            push(&self.required_at, <int>self.required.n)
            push(&self.required_n, len(ids))
            for rid in ids:
                push(&self.required, rid)
        for ids in any_of:
            push(&self.any_at, <int>self.any_of.n)
            push(&self.any_n, len(ids))
            for rid in ids:
                push(&self.any_of, rid)

    def __dealloc__(self):
        release(&self.pattern_at)
        release(&self.pattern_n)
        release(&self.pattern_refs)
        release(&self.filed_at)
        release(&self.filed_n)
        release(&self.filed)
        release(&self.required_at)
        release(&self.required_n)
        release(&self.required)
        release(&self.any_at)
        release(&self.any_n)
        release(&self.any_of)

    def candidates(self, found):
        """The rule ids to decide, in order, for the pattern ids in ``found``."""
        cdef _Marks marks = self.spare
        cdef IntVec hit
        cdef Py_ssize_t i, j, k, end
        cdef int pid, rid, rule
        cdef unsigned int stamp
        cdef bint ok
        hit.data, hit.n, hit.cap = NULL, 0, 0
        self.spare = None  # taken: a call in another thread makes its own
        if marks is None:
            marks = _Marks(self.refs, self.rules)
        try:
            stamp = marks.next()
            out = []
            for key in found:
                pid = key
                if pid < 0 or pid >= self.pattern_n.n:
                    continue
                k = self.pattern_at.data[pid]
                end = k + self.pattern_n.data[pid]
                while k < end:
                    rid = self.pattern_refs.data[k]
                    k += 1
                    if marks.refs[rid] != stamp:
                        marks.refs[rid] = stamp
                        push(&hit, rid)
            for i in range(hit.n):
                rid = hit.data[i]
                k = self.filed_at.data[rid]
                end = k + self.filed_n.data[rid]
                while k < end:
                    rule = self.filed.data[k]
                    k += 1
                    if marks.rules[rule] == stamp:
                        continue
                    marks.rules[rule] = stamp
                    ok = True
                    for j in range(self.required_at.data[rule],
                                   self.required_at.data[rule] + self.required_n.data[rule]):
                        if marks.refs[self.required.data[j]] != stamp:
                            ok = False
                            break
                    if ok and self.any_n.data[rule]:
                        ok = False
                        for j in range(self.any_at.data[rule],
                                       self.any_at.data[rule] + self.any_n.data[rule]):
                            if marks.refs[self.any_of.data[j]] == stamp:
                                ok = True
                                break
                    if ok:
                        out.append(rule)
            for rule in self.always:
                if marks.rules[rule] != stamp:
                    marks.rules[rule] = stamp
                    out.append(rule)
            out.sort()
            return out
        finally:
            release(&hit)
            self.spare = marks


# Word positions back to offsets -----------------------------------------------------

def places(cyarray offsets_array, int title_words, occurrences):
    """The (field, start, end) of every word of every occurrence, in order; None if
    a position is not a word of the title or the body (the caller knows what to do)."""
    cdef int *offsets = offsets_array.data.as_ints
    cdef Py_ssize_t words = Py_SIZE(offsets_array) // 2
    cdef int p
    out = []
    for occurrence in occurrences:
        for position in occurrence:
            p = position
            if 0 <= p < title_words:
                out.append(("title", offsets[2 * p], offsets[2 * p + 1]))
            elif title_words < p < words:
                out.append(("body", offsets[2 * p], offsets[2 * p + 1]))
            else:
                return None
    return out
