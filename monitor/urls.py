"""Canonical article URLs: one spelling per page, so copies of it are recognised.

Tracking parameters and fragments go, host case and default ports are
normalised, the query is sorted and percent-encoding made uniform (w3lib).
The result is a dedup key; the original URL is what users are shown.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

TRACKING = re.compile(
    r"^(utm_\w*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|yclid|igshid|"
    r"_hsenc|_hsmi|mkt_tok|oly_anon_id|oly_enc_id|vero_id|__twitter_impression|"
    r"ref_src|cmpid|ocid|ito|at_medium|at_campaign|rss|taid)$",
    re.IGNORECASE,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str | None:
    """The dedup key of ``url``, or None when it is not an absolute http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING.match(k)]
    )
    rebuilt = urlunsplit((scheme, netloc, parts.path or "/", query, ""))
    try:
        return canonicalize_url(rebuilt)
    except ValueError:
        return None
