"""How bytes arrive: Hub HTTP (`http.py`), local files read safely (`localfs.py`), byte ranges of one file
(`ranged.py`). Nothing here knows a weights format."""
