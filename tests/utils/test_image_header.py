"""Tests of utils/image_header.py: frame sizes from JPEG/PNG headers, and clear errors for anything else."""

import cv2
import numpy as np
import pytest

from utils.image_header import image_size
from utils.image_io import ImageDecodeError, encode_jpeg


def _write(path, data):
    with open(path, 'wb') as stream:
        stream.write(data)
    return path


@pytest.mark.parametrize('width, height', [(1, 1), (97, 33), (1280, 720)])
def test_sizes_match_the_decoded_images(tmp_path, width, height):
    image = np.random.RandomState(0).randint(0, 255, (height, width, 3)).astype(np.uint8)
    baseline = _write(str(tmp_path / 'a.jpg'), encode_jpeg(image))
    ok, progressive = cv2.imencode('.jpg', image, [int(cv2.IMWRITE_JPEG_PROGRESSIVE), 1])  # SOF2 frame header
    ok2, png = cv2.imencode('.png', image)
    assert ok and ok2
    for path in (baseline, _write(str(tmp_path / 'p.jpg'), progressive.tobytes()),
                 _write(str(tmp_path / 'b.png'), png.tobytes())):
        assert image_size(path) == (width, height) == cv2.imread(path).shape[1::-1]


def test_exif_segments_are_skipped(tmp_path):
    data = encode_jpeg(np.zeros((40, 60, 3), np.uint8))
    app1 = b'\xff\xe1' + (2 + 1000).to_bytes(2, 'big') + b'Exif\x00\x00' + b'\x00' * 994
    path = _write(str(tmp_path / 'exif.jpg'), data[:2] + app1 + data[2:])
    assert image_size(path) == (60, 40) and cv2.imread(path).shape == (40, 60, 3)


def test_unusable_files_raise_naming_the_file(tmp_path):
    cases = {'garbage.jpg': b'\xff\xd8\xff\xe0 not a jpeg', 'text.jpg': b'hello world',
             'short.jpg': encode_jpeg(np.zeros((8, 8, 3), np.uint8))[:20], 'empty.png': b'\x89PNG\r\n\x1a\n'}
    for name, data in cases.items():
        path = _write(str(tmp_path / name), data)
        with pytest.raises(ImageDecodeError, match=name):
            image_size(path)
    with pytest.raises(ImageDecodeError, match='cannot read image file'):
        image_size(str(tmp_path / 'missing.jpg'))
