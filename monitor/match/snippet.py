"""A short passage around the hits, with their places, for alerts and explanations.

The passage is taken from the body around its first hit (BEFORE characters before
it, AFTER after, cut at spaces), or is the title when only the title matched; its
line breaks become spaces. Compiled with the rule decisions (monitor.match._rules).
"""

from monitor.match._rules import AFTER, BEFORE, snippet

__all__ = ["AFTER", "BEFORE", "snippet"]
