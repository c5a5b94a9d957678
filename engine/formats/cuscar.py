"""placeholder"""


def read_cuscar_chunks(path, spec, chunk_rows):
    raise NotImplementedError
