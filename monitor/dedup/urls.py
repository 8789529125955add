"""Canonical article URLs: one spelling per page, so copies of it are recognised.

Tracking parameters and fragments go, host case and default ports are
normalised, the query is sorted and percent-encoding made uniform (w3lib).
The result is a dedup key; the original URL is what users are shown.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

TRACKING = re.compile(
    r"^(utm_\w*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|yclid|igshid|"
    r"_hsenc|_hsmi|mkt_tok|oly_anon_id|oly_enc_id|vero_id|__twitter_impression|"
    r"ref_src|cmpid|ocid|ito|at_medium|at_campaign|rss|taid)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# A "%" that starts no escape means itself; w3lib would fuse it with a
# following escape ("%%41" -> "%A"), giving a key that changes when re-keyed.
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def canonical_url(url: str) -> str | None:
    """The dedup key of ``url``, or None when it is not an absolute http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        netloc = _netloc(parts)
        if netloc is None:
            return None
        path = _STRAY_PERCENT.sub("%25", parts.path) or "/"
        rebuilt = urlunsplit((parts.scheme.lower(), netloc, path, _untracked(parts.query), ""))
        # w3lib sorts the query pairs and upper-cases escapes without decoding
        # them as text, so a Latin-1 %E9 stays %E9, distinct from %E8.
        key = canonicalize_url(rebuilt)
        return key if _has_host(key) else None
    except ValueError:  # bad port or IPv6 literal; UnicodeEncodeError (lone surrogate)
        return None


def _netloc(parts: SplitResult) -> str | None:
    """Lower-case host without trailing dot, port unless default; None if not http(s)."""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    # Browsers and w3lib end the host at a backslash, urllib does not: when the
    # parsers disagree on the host there is no one page to key.
    if scheme not in _DEFAULT_PORTS or not host or "\\" in host:
        return None
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    return host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"


def _untracked(query: str) -> str:
    """The raw pairs of ``query`` minus tracking parameters, escapes left as they were."""
    pairs = (pair for pair in query.split("&") if pair)
    return "&".join(p for p in pairs if not TRACKING.match(unquote_plus(p.split("=", 1)[0])))


def _has_host(key: str) -> bool:
    # IDNA and w3lib's own parsing can still empty the host or leave a dot
    # behind; such a key would not map to itself.
    host = urlsplit(key).hostname or ""
    return bool(host) and not host.endswith(".")
