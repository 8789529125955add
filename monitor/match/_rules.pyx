# cython: language_level=3
"""A rule decided for one article, compiled: the per-rule part of
monitor.match.engine, which subclasses ``Evaluation`` with the wording of reasons.

At 100,000 rules an article wakes a few rules and most of them match, so the cost
of deciding one and listing its terms is what the throughput follows. The code is
the engine's, in Python syntax; compiled, each step is a C call instead of an
interpreted one. Built by ``pip install -e .`` (setup.py); run it again after
editing this file.
"""

from monitor.match.snippet import snippet
from monitor.types import Match, TermHits

MAX_COUNTED = 3


cdef inline bint _overlap(tuple occurrence, tuple blocker):
    return occurrence[0] <= blocker[-1] and occurrence[-1] >= blocker[0]


cdef class Evaluation:
    """One rule (a CompiledRule) decided for one article (a ScannedArticle)."""

    cdef readonly object scanned
    cdef readonly object compiled
    cdef readonly object rule
    cdef dict cache  # the scanned article's ref hits: (ref id, fields) → hits
    cdef dict refs  # the watchlist's actor/concept names → ref ids
    cdef tuple fields

    def __init__(self, scanned, compiled):
        self.scanned, self.compiled = scanned, compiled
        self.rule = compiled.rule
        self.cache, self.refs, self.fields = scanned.ref_hits, compiled.refs, self.rule.fields

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
        places, terms = self.scanned.places_of, []
        for name in self.rule.positive:
            for source, _, occs in self.hits(name):
                terms.append(TermHits(name, source, places(occs)))
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
        scanned, fields = self.scanned, self.fields
        ref = scanned.index.refs[self.refs[name]]
        found = scanned.found
        present = ref.present(found)
        if not present:
            return []
        blocked = [occ for pid in ref.exclude for occ in scanned.occurrences(pid)]
        anywhere = not blocked and "title" in fields and "body" in fields
        out = []
        for pid, term in present:
            if term.pattern.regex is None:
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
        found = self.hits(name)
        weight = self.compiled.weights.get(name, 1.0)
        return weight * sum([w * min(len(occs), MAX_COUNTED) for _, w, occs in found])
