"""The defect flags of a scanned record (:mod:`engine._scan`), shared by its wrappers and
its compiled kernels (:mod:`engine._scan_kernels`) without either importing the other."""

BAD_UTF8 = 1
NUL_BYTE = 2
OPEN_QUOTE = 4  # the data ended inside a quoted field
STRAY_QUOTE = 8  # a quote inside an unquoted field, or text after a closing quote: not a
# defect (RFC 4180 makes it text), but polars needs the field re-quoted (see ``requote``)
DEFECTS = BAD_UTF8 | NUL_BYTE | OPEN_QUOTE
