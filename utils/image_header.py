"""Image sizes read from file headers, without decoding the pixels.

Datasets whose boxes are normalised to the frame size (YouTube-BB) need the size of every frame before the curation
core decodes it; reading the JPEG start-of-frame segment (or the PNG IHDR chunk) costs a few hundred bytes of I/O
instead of a full decode.
"""

import struct

from utils.image_io import ImageDecodeError

_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# Start-of-frame markers carry the frame size: SOF0-3, 5-7, 9-11, 13-15 (0xC4 DHT, 0xC8 JPG, 0xCC DAC are not SOF).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM, RST0-7, SOI, EOI.
_STANDALONE = frozenset([0x01] + list(range(0xD0, 0xDA)))


def image_size(path):
    """(width, height) of a JPEG or PNG file from its header; raises ImageDecodeError naming `path` otherwise."""
    try:
        with open(path, 'rb') as stream:
            start = stream.read(8)
            if start[:2] == b'\xff\xd8':
                return _jpeg_size(stream, path)
            if start == _PNG_SIGNATURE:
                return _png_size(stream, path)
    except OSError as error:
        raise ImageDecodeError('%s: cannot read image file (%s)' % (path, error.strerror or error))
    raise ImageDecodeError('%s: not a JPEG or PNG file' % path)


def _jpeg_size(stream, path):
    stream.seek(2)
    while True:
        byte = stream.read(1)
        if not byte:
            break
        if byte != b'\xff':
            raise ImageDecodeError('%s: corrupt JPEG header (expected a marker)' % path)
        marker = stream.read(1)
        while marker == b'\xff':  # fill bytes
            marker = stream.read(1)
        if not marker:
            break
        code = marker[0]
        if code in _STANDALONE:
            continue
        length_bytes = stream.read(2)
        if len(length_bytes) < 2:
            break
        length = struct.unpack('>H', length_bytes)[0]
        if length < 2:
            raise ImageDecodeError('%s: corrupt JPEG header (segment length %d)' % (path, length))
        if code in _SOF_MARKERS:
            data = stream.read(5)
            if len(data) < 5:
                break
            height, width = struct.unpack('>HH', data[1:5])
            if width == 0 or height == 0:
                raise ImageDecodeError('%s: JPEG header gives an empty frame %dx%d' % (path, width, height))
            return int(width), int(height)
        if code == 0xDA:  # start of scan before any frame header
            break
        stream.seek(length - 2, 1)
    raise ImageDecodeError('%s: truncated or corrupt JPEG header (no frame size found)' % path)


def _png_size(stream, path):
    chunk = stream.read(16)
    if len(chunk) < 16 or chunk[4:8] != b'IHDR':
        raise ImageDecodeError('%s: corrupt PNG header (no IHDR chunk)' % path)
    width, height = struct.unpack('>II', chunk[8:16])
    if width == 0 or height == 0:
        raise ImageDecodeError('%s: PNG header gives an empty frame %dx%d' % (path, width, height))
    return int(width), int(height)
