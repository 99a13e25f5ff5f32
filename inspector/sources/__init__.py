"""Readers of repos (a local folder, a Hub repo): each lists the files, supplies an opener and returns a
Snapshot (config, tensor names/shapes/dtypes, files); no weights."""
