"""Limits that protect the machine from hostile or extreme inputs.

Kept apart from :mod:`kcolor.inference` (which loads TensorFlow) so the command line can
show them in its help at once.
"""

# The processing size's longer side is at most this many times its shorter one: a 3x500
# strip would otherwise be processed at 256x42672 (and need about 17 GB). Longer photos
# are squeezed along their long side for the network; the output keeps their shape.
MAX_ASPECT = 4

# Photos declaring more pixels than this are refused before anything is decoded: a
# small file can declare a huge image (a decompression bomb). 120 megapixels is more
# than any camera sensor sold today.
DEFAULT_MAX_PIXELS = 120_000_000
