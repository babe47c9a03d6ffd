"""Image bytes <-> BGR uint8 arrays, with an integrity check so corrupt or truncated JPEGs are detected, not guessed.

OpenCV decodes a truncated JPEG into a grey-filled image and only prints a warning, so JPEG data is also checked for
its start (FFD8) and end (FFD9) markers before decoding.
"""

import cv2
import numpy as np

# Image files the dataset readers take (datasets/otb_layout.py), compared in lower case: ImageNet's .JPEG is one.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')
_JPEG_START = b'\xff\xd8'
_JPEG_END = b'\xff\xd9'


class ImageDecodeError(ValueError):
    """Raised for image data that is empty, truncated or not decodable."""


def is_jpeg(data):
    """True when `data` (bytes) starts with the JPEG start-of-image marker."""
    return bytes(data[:2]) == _JPEG_START


def check_jpeg_complete(data):
    """Raises ImageDecodeError unless JPEG `data` ends with its end-of-image marker (trailing zero padding allowed)."""
    tail = bytes(data[-4096:]).rstrip(b'\x00')
    if not tail.endswith(_JPEG_END):
        raise ImageDecodeError('truncated JPEG (no end-of-image marker)')


def decode_image(data):
    """Decodes encoded image bytes -> [H, W, 3] BGR uint8; raises ImageDecodeError for empty/corrupt/truncated data."""
    if data is None or len(data) == 0:
        raise ImageDecodeError('empty image data')
    if is_jpeg(data):
        check_jpeg_complete(data)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageDecodeError('undecodable image data (%d bytes)' % len(data))
    return image


def read_image(path):
    """Reads an image file -> [H, W, 3] BGR uint8; raises ImageDecodeError naming `path` when it cannot be used."""
    try:
        with open(path, 'rb') as stream:
            data = stream.read()
    except OSError as error:
        raise ImageDecodeError('%s: cannot read image file (%s)' % (path, error.strerror or error))
    try:
        return decode_image(data)
    except ImageDecodeError as error:
        raise ImageDecodeError('%s: %s' % (path, error))


def encode_jpeg(image, quality=90):
    """Encodes a BGR uint8 image [H, W, 3] as JPEG bytes."""
    ok, buffer = cv2.imencode('.jpg', image, [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise ValueError('JPEG encoding failed for an image of shape %s' % (image.shape,))
    return buffer.tobytes()
