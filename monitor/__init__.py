"""monitor: a news event-stream monitor.

Polls feeds, keeps a corpus of what it read, recognises the same story when it
arrives again, and (in later stages) matches watchlists and sends digests.
"""

__version__ = "0.1.0"
