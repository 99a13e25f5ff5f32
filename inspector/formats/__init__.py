"""What the bytes mean: the weights-format registry (`registry.py`) and one parser module per format,
each reading only through the opener or `RangeFile` it is given; nothing here opens a file or a URL."""
