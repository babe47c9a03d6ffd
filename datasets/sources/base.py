"""The per-dataset "sequence source" interface that the generic curation core (datasets/curation.py) consumes.

A source parses one dataset's on-disk layout and yields, per video, its object tracks and their frames. It knows
nothing about cropping, JSON or LMDB; adding a dataset means writing one small `SequenceSource` subclass and
registering it in `datasets/sources/__init__.py`.

Sources are sent to worker processes, so they must be picklable (plain attributes only).
"""

import collections

Frame = collections.namedtuple('Frame', ['image_path', 'box', 'index', 'time', 'skip'])
Frame.__doc__ = """One annotated frame of a track.

  image_path: path of the frame's image file.
  box: 0-based x,y,w,h (4 floats) of the target; NaN or non-positive sizes are skipped (and counted) by the core.
      May be None when `skip` is set.
  index: the frame's original number in its video (int). Delta-t between two frames of a track is the difference
      of their indices; sources with timestamps give the frame number in the original video (time * fps).
  time: seconds from the start of the video, or None when unknown.
  skip: None, or the reason the source already knows this frame is unusable (e.g. 'occluded', 'out_of_view',
      'absent'); the core counts it under that reason and does not read the image.
"""

Track = collections.namedtuple('Track', ['track_id', 'frames'])
Track.__doc__ = """One object's track in a video: `track_id` (str, unique in the video, no '/') and its frames in
temporal order (frame indices strictly increasing)."""

Video = collections.namedtuple('Video', ['name', 'tracks', 'skipped', 'problems'])
Video.__new__.__defaults__ = (None, None)
Video.__doc__ = """A video: its `name` (unique in the source; may contain '/' for nested folders) and its tracks.

  skipped: optional {reason: count} of annotations the source could not turn into frames of a track (e.g. empty or
      missing XML files, unparsable rows, frames that were never decoded); the core adds them to the video's skip
      counts and to its frame total.
  problems: optional list of messages naming the files (and lines) behind those skips, reported in the summary.
"""

# Skip reasons the core itself assigns (sources may add their own).
SKIP_NAN_BOX = 'nan_box'
SKIP_NONPOSITIVE_SIZE = 'nonpositive_size'
SKIP_UNREADABLE_IMAGE = 'unreadable_image'


class SequenceSource(object):
    """Base class of dataset parsers.

    Subclasses set `name` (recorded in the imdb as the source dataset; per-source sampling weights use it) and
    `is_image_data` (True for image datasets whose tracks are single frames, e.g. ImageNet DET), and implement
    `video_names` and `load_video`.
    """

    name = None
    is_image_data = False

    def video_names(self):
        """Returns the sorted list of video names of the source."""
        raise NotImplementedError

    def load_video(self, name):
        """Parses video `name` -> Video. Raises ValueError/OSError naming the file for malformed annotations."""
        raise NotImplementedError

    def describe(self):
        """A JSON-serialisable description recorded in the imdb (e.g. the dataset root)."""
        return {'name': self.name, 'is_image_data': bool(self.is_image_data)}
