"""Tests of the curation core's video-level skips: annotations a source could not turn into frames (issue 4)."""

import numpy as np

import configuration
from datasets.curation import curate_source, format_summary
from datasets.sources.base import Frame, SequenceSource, Track, Video
from utils.image_io import encode_jpeg

CURATION = configuration.TRAIN_CONFIG['curation_config']


class BrokenAnnotations(SequenceSource):
    """One good frame, plus 2 empty annotation files and 60 named problems reported at the video level."""

    name = 'broken'

    def __init__(self, image_path):
        self.image_path = image_path

    def video_names(self):
        return ['clip', 'plain']

    def load_video(self, name):
        frames = [Frame(self.image_path, [10, 10, 20, 20], 3, None, None)]
        if name == 'plain':
            return Video(name, [Track('0', frames)])  # the two-field form still works
        return Video(name, [Track('0', frames)], {'empty_xml': 2}, ['file %d is broken' % i for i in range(60)])


def test_video_level_skips_are_counted_named_and_kept_on_resume(tmp_path):
    image = str(tmp_path / 'frame.jpg')
    with open(image, 'wb') as stream:
        stream.write(encode_jpeg(np.full((60, 80, 3), 128, np.uint8)))
    first = curate_source(BrokenAnnotations(image), str(tmp_path / 'out'), CURATION, processes=1, progress=False)
    assert first['skipped'] == {'empty_xml': 2} and first['frames_kept'] == 2 and first['frames_total'] == 4
    assert first['problems'] == ['file %d is broken' % i for i in range(60)]
    text = format_summary(first)
    assert 'annotation problem: file 49 is broken' in text and 'file 50 is broken' not in text
    assert '... and 10 more annotation problems' in text
    again = curate_source(BrokenAnnotations(image), str(tmp_path / 'out'), CURATION, processes=1, progress=False)
    assert again['videos']['existing'] == 2 and again['skipped'] == first['skipped']
    assert again['problems'] == first['problems'] and again['frames_total'] == 4
    assert Video('v', []).skipped is None and Video('v', []).problems is None
