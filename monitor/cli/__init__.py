"""The ``monitor`` command line (click), with rich tables for people."""
