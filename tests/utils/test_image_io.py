"""Tests of image decoding with integrity checks."""

import numpy as np
import pytest

from utils.image_io import ImageDecodeError, decode_image, encode_jpeg, read_image


def test_round_trip_and_padding_tolerance(tmp_path):
    image = np.zeros((32, 48, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = np.arange(48) * 5, np.arange(32)[:, None] * 7, 90
    data = encode_jpeg(image, 95)
    decoded = decode_image(data)
    assert decoded.shape == image.shape and np.abs(decoded.astype(int) - image).mean() < 3
    assert decode_image(data + b'\x00' * 10).shape == image.shape  # zero padding after the end marker is fine
    path = tmp_path / 'a.jpg'
    path.write_bytes(data)
    assert read_image(str(path)).shape == image.shape


@pytest.mark.parametrize('data, message', [
    (b'', 'empty'),
    (b'not an image at all', 'undecodable'),
    (b'\xff\xd8\xff\xe0 then nothing', 'truncated'),
])
def test_bad_data_is_refused(data, message):
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(data)


def test_truncated_jpeg_and_missing_files_are_named(tmp_path):
    data = encode_jpeg(np.zeros((16, 16, 3), np.uint8))
    path = tmp_path / 'cut.jpg'
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(ImageDecodeError, match='cut.jpg: truncated'):
        read_image(str(path))
    with pytest.raises(ImageDecodeError, match='missing.jpg: cannot read'):
        read_image(str(tmp_path / 'missing.jpg'))
