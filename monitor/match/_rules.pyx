# cython: language_level=3
"""A rule decided for one article, compiled: the per-rule part of
monitor.match.engine, which subclasses ``Evaluation`` with the wording of reasons.

At 100,000 rules an article wakes a few rules and most of them match, so the cost
of deciding one and listing its terms is what the throughput follows. The code is
the engine's, in Python syntax; compiled, each step is a C call instead of an
interpreted one. Built by ``pip install -e .`` (setup.py); run it again after
editing this file.
"""

from monitor.match._scan import places
from monitor.types import Match, TermHits

MAX_COUNTED = 3  # times one term counts in a score
cdef Py_ssize_t MAX_COUNTED_C = MAX_COUNTED
SMALL_REF = 8  # terms: up to this many, a ref's terms are each looked for in what was found
BEFORE, AFTER = 80, 220  # a snippet's characters before and after its first hit


cdef inline bint _overlap(tuple occurrence, tuple blocker):
    return occurrence[0] <= blocker[-1] and occurrence[-1] >= blocker[0]


cdef class Evaluation:
    """One rule (a CompiledRule) decided for one article (a ScannedArticle)."""

    cdef readonly object scanned
    cdef readonly object compiled
    cdef readonly object rule
    cdef dict cache  # the scanned article's ref hits: (ref id, fields) → hits
    cdef dict refs  # the watchlist's actor/concept names → ref ids
    cdef dict weights  # the rule's weights of its actors/concepts
    cdef tuple fields
    cdef bint every_field  # the rule reads the title and the body

    def __init__(self, scanned, compiled):
        self.scanned, self.compiled = scanned, compiled
        self.rule = compiled.rule
        self.cache, self.refs, self.fields = scanned.ref_hits, compiled.refs, self.rule.fields
        self.weights = compiled.weights
        self.every_field = "title" in self.fields and "body" in self.fields

    def score_if_matched(self):
        """The score if the rule matches, else None: what ``verdict`` decides, without
        wording the reasons (most rules woken by an article do not match)."""
        rule = self.rule
        if self.compiled.filters and next(self._filtered(), None) is not None:
            return None
        for name in rule.all:
            if not self.hits(name):
                return None
        if rule.any:
            for name in rule.any:
                if self.hits(name):
                    break
            else:
                return None
        for name in rule.none:
            if self.hits(name):
                return None
        score = sum([self._score(name) for name in rule.positive])
        return None if score < rule.min_score else score

    def match(self, score):
        """The match of a rule that matched with ``score`` (``verdict``'s terms)."""
        terms = self._terms()
        hits = [hit for term in terms for hit in (<object>term).hits]
        text, highlights = snippet(self.scanned.article, hits)
        return Match(
            self.compiled.watchlist.name, self.rule.name, score, terms, text, tuple(highlights)
        )

    cpdef tuple _terms(self):
        scanned, terms = self.scanned, []
        offsets, title_words = scanned.offsets, scanned.title_words
        for name in self.rule.positive:
            for source, _, occs in self.hits(name):
                hits = places(offsets, title_words, occs)
                if hits is None:  # a position outside the words (a regular expression's)
                    hits = scanned.places_of(occs)
                terms.append(TermHits(name, source, tuple(hits)))
        return tuple(terms)

    cpdef list hits(self, name):
        """The terms of actor/concept ``name`` found in the rule's fields, exclusions
        applied: (source, weight, occurrences). Kept on the scanned article: rules
        that share an actor decide it once."""
        key = (self.refs[name], self.fields)
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = self._found(name)
        return <list>found

    cdef list _found(self, name):
        cdef dict found
        cdef dict slots
        scanned, fields = self.scanned, self.fields
        ref = scanned.index.refs[self.refs[name]]
        found, slots = scanned.found, ref.slots
        present = _present(ref.terms, slots, found)
        if not present:
            return []
        exclude = ref.exclude
        blocked = [occ for pid in exclude for occ in scanned.occurrences(pid)] if exclude else []
        anywhere = not blocked and self.every_field
        regex = -1 in slots
        out = []
        for pid, term in present:
            if not regex or term.pattern.regex is None:
                occs = found[pid]
            else:
                occs = scanned.occurrences(pid)
            if not anywhere:
                occs = [
                    occ
                    for occ in occs
                    if scanned.field(occ[0]) in fields
                    and not any([_overlap(occ, b) for b in blocked])
                ]
            if occs:
                out.append((term.source, term.weight, sorted(occs)))
        return out

    cpdef object _score(self, name):
        cdef Py_ssize_t counted
        parts = []
        for _, w, occs in self.hits(name):
            counted = len(occs)
            parts.append(w * (counted if counted < MAX_COUNTED_C else MAX_COUNTED_C))
        return self.weights.get(name, 1.0) * sum(parts)


cdef list _present(tuple terms, dict slots, dict found):
    """The terms (pattern id, Term) whose pattern is in ``found`` (or is a regular
    expression, which runs only when asked), in the watchlist's order; cheap for
    concepts of hundreds of terms, of which an article holds a few. ``slots``:
    pattern id → indexes in ``terms``, regular expressions under -1."""
    cdef list chosen
    if len(terms) <= SMALL_REF and -1 not in slots:  # a few names: look each up
        return [term for term in terms if term[0] in found]
    if len(found) < len(slots):
        chosen = [i for pid in found if pid in slots for i in slots[pid]]
    else:
        chosen = [i for pid, places in slots.items() if pid in found for i in places]
    if -1 in slots:
        chosen += slots[-1]
    if len(chosen) == 1:  # the usual case
        return [terms[chosen[0]]]
    return [terms[i] for i in sorted(chosen)]


# The snippet ---------------------------------------------------------------------

def snippet(article, hits):
    """The passage (one line) and the hits inside it, as offsets into the passage.

    The passage is taken from the body around its first hit, or is the title when
    only the title matched.
    """
    cdef list body_hits = sorted([(s, e) for f, s, e in hits if f == "body"])
    cdef Py_ssize_t first, start, end, shift
    cdef str text
    if not body_hits:
        title_hits = sorted([(s, e) for f, s, e in hits if f == "title"])
        return _one_line(article.title), _merged(title_hits)
    text = article.body
    first = body_hits[0][0]
    start = _word_edge(text, max(0, first - BEFORE), True)
    end = _word_edge(text, min(len(text), first + AFTER), False)
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    shift = len(prefix) - start
    inside = [(s + shift, e + shift) for s, e in body_hits if s >= start and e <= end]
    return prefix + _one_line(text[start:end]) + suffix, _merged(inside)


cdef Py_ssize_t _word_edge(str text, Py_ssize_t at, bint backwards):
    cdef Py_ssize_t found
    if at <= 0 or at >= len(text):
        return at
    found = text.rfind(" ", 0, at) + 1 if backwards else text.find(" ", at)
    return found if found > 0 else at


cdef str _one_line(str text):
    # Same length, so offsets stay valid.
    return text.replace("\n", " ").replace("\r", " ").replace("\t", " ")


cdef list _merged(list spans):
    cdef list merged = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
