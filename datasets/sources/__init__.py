"""Dataset parsers ("sequence sources") for curation, by name.

`SOURCES` maps a dataset layout name to its `SequenceSource` class; scripts/curate_dataset.py picks one with
`--source`. Parsers for the public datasets (ImageNet VID/DET, GOT-10k, LaSOT, YouTube-BB) register here too.
"""

from datasets.sources.base import Frame, SequenceSource, Track, Video  # noqa: F401
from datasets.sources.got10k import GOT10kSource
from datasets.sources.imagenet import ImageNetDETSource, ImageNetVIDSource
from datasets.sources.lasot import LaSOTSource
from datasets.sources.otb import OTBSource
from datasets.sources.youtube_bb import YouTubeBBSource

SOURCES = {
    'otb': OTBSource,
    # The public training datasets in their original layouts (issue 4; conventions in each module's docstring).
    'imagenet_vid': ImageNetVIDSource,
    'imagenet_det': ImageNetDETSource,
    'got10k': GOT10kSource,
    'lasot': LaSOTSource,
    'youtube_bb': YouTubeBBSource,
}


def make_source(layout, root, **kwargs):
    """Creates the source parser for `layout` (a key of SOURCES) over the dataset folder `root`."""
    if layout not in SOURCES:
        raise ValueError('unknown dataset layout %r: expected one of %s' % (layout, sorted(SOURCES)))
    return SOURCES[layout](root, **kwargs)
