# cython: language_level=3
"""Rules decided for one article, compiled: the per-rule part of
monitor.match.engine, which words the reasons of ``Evaluation``.

At 100,000 rules an article wakes a few rules and most of them match, so the cost
of deciding one and listing its terms is what the throughput follows. Each rule
is compiled once into a ``RulePlan`` (its refs as ids, its weights, its fields as
a mask); each article keeps a ``Found``: what every ref it was asked about found
there, its score before the rule's weight, and its hits as offsets, each worked
out once however many rules share the ref. Built by ``pip install -e .``
(setup.py); run it again after editing this file.
"""

from cpython.object cimport PyObject_GenericSetAttr, PyTypeObject


cdef extern from "Python.h":
    object PyType_GenericAlloc(PyTypeObject *cls, Py_ssize_t items)

from dataclasses import fields

from monitor.match._scan import places
from monitor.core.types import Match, TermHits

MAX_COUNTED = 3  # times one term counts in a score
cdef Py_ssize_t MAX_COUNTED_C = MAX_COUNTED
SMALL_REF = 8  # terms: up to this many, a ref's terms are each looked for in what was found
BEFORE, AFTER = 80, 220  # a snippet's characters before and after its first hit
cdef int TITLE = 1, BODY = 2  # a rule's fields, as a mask


def field_mask(fields):
    """The mask of a rule's fields ("title", "body")."""
    return (TITLE if "title" in fields else 0) | (BODY if "body" in fields else 0)


# Matches and their terms are built field by field, as their frozen dataclasses'
# __init__ would, without its interpreted calls (a third of a match's cost at
# 100,000 rules). Checked here: a field added to either must be added below too.
cdef tuple TERM_FIELDS = ("ref", "term", "hits")
cdef tuple MATCH_FIELDS = ("watchlist", "rule", "score", "terms", "snippet", "highlights")
for _cls, _names in ((TermHits, TERM_FIELDS), (Match, MATCH_FIELDS)):
    if tuple([f.name for f in fields(_cls)]) != _names:
        raise ImportError(f"monitor.match._rules builds {_cls.__name__} with fields {_names}")


cdef object _built(type cls, tuple names, tuple values):
    made = PyType_GenericAlloc(<PyTypeObject *>cls, 0)  # what object.__new__(cls) does, less its checks
    for i in range(len(names)):
        PyObject_GenericSetAttr(made, names[i], values[i])
    return made


cdef inline bint _overlap(tuple occurrence, tuple blocker):
    return occurrence[0] <= blocker[-1] and occurrence[-1] >= blocker[0]


cdef bint _inside_any(tuple occurrence, list longer):
    """Whether the words of ``occurrence`` are all words of a longer occurrence."""
    cdef Py_ssize_t n = len(occurrence)
    for other in longer:
        if len(<tuple>other) > n and other[0] <= occurrence[0] and other[-1] >= occurrence[-1]:
            if all([p in other for p in occurrence]):
                return True
    return False


cdef list _outermost(list terms):
    """Each term's occurrences without those inside a longer occurrence of another
    term of the same ref: a bare "Korea" inside "North Korea" is not counted twice."""
    longer = [occ for _, _, occs in terms for occ in occs if len(occ) > 1]
    if not longer:
        return terms
    out = []
    for source, weight, occs in terms:
        kept = [occ for occ in occs if not _inside_any(occ, longer)]
        if kept:
            out.append((source, weight, kept))
    return out


cdef class RulePlan:
    """A CompiledRule as the decision reads it: no attribute or name lookups left."""

    cdef readonly object compiled
    cdef readonly str watchlist, name
    cdef readonly tuple all_ids, any_ids, none_ids
    cdef readonly tuple positive  # (name, ref id, the rule's weight for it)
    cdef readonly int mask
    cdef readonly bint filters
    cdef double min_score

    def __init__(self, compiled):
        rule, refs = compiled.rule, compiled.refs
        self.compiled = compiled
        self.watchlist, self.name = compiled.watchlist.name, rule.name
        self.all_ids = tuple([refs[n] for n in rule.all])
        self.any_ids = tuple([refs[n] for n in rule.any])
        self.none_ids = tuple([refs[n] for n in rule.none])
        self.positive = tuple(
            [(n, refs[n], float(compiled.weights.get(n, 1.0))) for n in rule.positive]
        )
        self.mask = field_mask(rule.fields)
        self.filters = compiled.filters
        self.min_score = rule.min_score


cdef class RefFound:
    """One ref's terms found in some fields of one article, exclusions applied."""

    cdef readonly list terms  # (source, weight, sorted occurrences)
    cdef readonly double base  # Σ term weight × times counted (at most MAX_COUNTED)
    cdef readonly list vetoes  # (source, occurrence, exclusion index, its occurrence)
    cdef list placed  # (source, hits as offsets) per term, when first asked



cdef RefFound _ref_found(list terms):
    cdef RefFound made = RefFound.__new__(RefFound)
    cdef Py_ssize_t counted
    cdef double base = 0.0
    for _, w, occs in terms:
        counted = len(occs)
        base += w * (counted if counted < MAX_COUNTED_C else MAX_COUNTED_C)
    made.terms, made.base, made.placed, made.vetoes = terms, base, None, []
    return made


cdef RefFound NOTHING = _ref_found([])


cdef class Found:
    """What each ref found in one scanned article, worked out when first asked."""

    cdef readonly object scanned
    cdef dict found  # pattern id → occurrences (the scan's)
    cdef list refs  # the index's CompiledRefs
    cdef object offsets
    cdef int title_words
    cdef dict cache  # ref id × 4 + field mask → RefFound

    def __init__(self, scanned):
        self.scanned, self.found, self.refs = scanned, scanned.found, scanned.index.refs
        self.offsets, self.title_words = scanned.offsets, scanned.title_words
        self.cache = {}

    cpdef RefFound get(self, int rid, int mask):
        key = rid * 4 + mask
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = self._find(rid, mask)
        return <RefFound>found

    cdef RefFound _find(self, int rid, int mask):
        cdef dict found = self.found
        cdef dict slots
        scanned = self.scanned
        ref = self.refs[rid]
        slots = ref.slots
        present = _present(ref.terms, slots, found)
        if not present:
            return NOTHING
        regex = -1 in slots
        terms = []
        for pid, term in present:
            if not regex or term.pattern.regex is None:
                occs = found[pid]
            else:  # a regular expression runs when first asked
                occs = scanned.occurrences(pid)
            if occs:
                terms.append((term, occs))
        exclude = ref.exclude
        if not exclude and len(terms) == 1 and mask == TITLE | BODY:  # the usual case
            term, occs = terms[0]
            return _ref_found([(term.source, term.weight, sorted(occs))])
        out, vetoes = self._kept(terms, mask, self._blockers(exclude, terms) if exclude else [])
        if len(out) > 1:
            out = _outermost(out)
        if not out and not vetoes:
            return NOTHING
        made = _ref_found(out)
        made.vetoes = vetoes
        return made

    cdef list _blockers(self, tuple exclude, list terms):
        """(exclusion index, occurrence) of each exclusion hit that is not inside a
        longer hit of the ref's own terms: "Republic of Korea" does not cancel
        "Democratic People's Republic of Korea", whose words it is."""
        longer = [occ for _, occs in terms for occ in occs if len(occ) > 1]
        return [
            (i, blocker)
            for i, pid in enumerate(exclude)
            for blocker in self.scanned.occurrences(pid)
            if not _inside_any(blocker, longer)
        ]

    cdef tuple _kept(self, list terms, int mask, list blocked):
        """The terms' occurrences in the fields of ``mask`` that no exclusion hit
        overlaps (source, weight, sorted occurrences), and the vetoed ones (source,
        occurrence, exclusion index, the exclusion's occurrence)."""
        out, vetoes = [], []
        for term, occs in terms:
            kept = []
            for occ in sorted(occs):
                if not (TITLE if <int>occ[0] < self.title_words else BODY) & mask:
                    continue
                for i, blocker in blocked:
                    if _overlap(occ, blocker):
                        vetoes.append((term.source, occ, i, blocker))
                        break
                else:
                    kept.append(occ)
            if kept:
                out.append((term.source, term.weight, kept))
        return out, vetoes

    cdef list placed(self, RefFound ref):
        """(source, hits) per term of ``ref``: word positions as offsets."""
        if ref.placed is None:
            ref.placed = []
            for source, _, occs in ref.terms:
                hits = places(self.offsets, self.title_words, occs)
                if hits is None:  # a position outside the words (a regular expression's)
                    hits = self.scanned.places_of(occs)
                ref.placed.append((source, tuple(hits)))
        return ref.placed


def decide(scanned, rule_ids, filtered):
    """The Matches of rules ``rule_ids`` (indexes of the index's rules) in a scanned
    article; ``filtered(scanned, compiled)`` says whether a rule's languages or
    feeds leave the article out (asked only of rules that have some)."""
    cdef Found found = Found(scanned)
    cdef list plans = scanned.index.plans, rules = scanned.index.rules
    cdef RulePlan plan
    cdef double score = 0.0
    out = []
    for i in rule_ids:
        plan = <RulePlan>plans[i]
        if plan is None:  # planned when first woken: most rules never are
            plan = plans[i] = RulePlan(rules[i])
        if plan.filters and filtered(scanned, plan.compiled):
            continue
        if _matched(plan, found, &score):
            out.append(_match(plan, found, score))
    return out


cdef bint _matched(RulePlan plan, Found found, double *score):
    """Whether the rule matches (all, any, none, min_score); its score in ``score``."""
    cdef int mask = plan.mask
    cdef double total = 0.0
    for rid in plan.all_ids:
        if not found.get(rid, mask).terms:
            return False
    if plan.any_ids:
        for rid in plan.any_ids:
            if found.get(rid, mask).terms:
                break
        else:
            return False
    for rid in plan.none_ids:
        if found.get(rid, mask).terms:
            return False
    for _, rid, weight in plan.positive:
        total += <double>weight * found.get(rid, mask).base
    score[0] = total
    return total >= plan.min_score


cdef object _match(RulePlan plan, Found found, double score):
    terms = _terms(plan, found)
    hits = [hit for term in terms for hit in (<object>term).hits]
    text, highlights = _snippet(found.scanned.article, hits)
    values = (plan.watchlist, plan.name, score, terms, text, tuple(highlights))
    return _built(Match, MATCH_FIELDS, values)


cdef tuple _terms(RulePlan plan, Found found):
    terms = []
    for name, rid, _ in plan.positive:
        for source, hits in found.placed(found.get(rid, plan.mask)):
            terms.append(_built(TermHits, TERM_FIELDS, (name, source, hits)))
    return tuple(terms)


cdef class Evaluation:
    """One rule (a CompiledRule) decided for one article, for the engine's
    explanations; the rules of one article share its ``Found``."""

    cdef readonly object scanned
    cdef readonly object compiled
    cdef readonly object rule
    cdef RulePlan plan
    cdef Found found

    def __init__(self, found, compiled):
        self.scanned, self.compiled, self.rule = found.scanned, compiled, compiled.rule
        self.plan, self.found = RulePlan(compiled), found

    def _terms(self):
        return _terms(self.plan, self.found)

    def hits(self, name):
        """The terms of actor/concept ``name`` found in the rule's fields, exclusions
        applied: (source, weight, occurrences)."""
        return self.found.get(self.compiled.refs[name], self.plan.mask).terms

    def vetoes(self, name):
        """The hits of actor/concept ``name`` in the rule's fields that an exclusion
        cancelled: (source, occurrence, exclusion index, the exclusion's occurrence)."""
        return self.found.get(self.compiled.refs[name], self.plan.mask).vetoes

    def _score(self, name):
        return self.compiled.weights.get(name, 1.0) * self.found.get(
            self.compiled.refs[name], self.plan.mask
        ).base


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
    return _snippet(article, hits if type(hits) is list else list(hits))


cdef tuple _snippet(article, list hits):
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
