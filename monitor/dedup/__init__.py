"""The exact-copies stage: the keys an entry is known by (canonical URL,
fingerprints) and what each sighting is; the store writes what it decides."""
