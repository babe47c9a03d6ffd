"""Tests of the exported-graph loader: the same boxes as the Python tracker, no model code, clear errors."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import rewriter_config_pb2

from datasets import synthetic_sequence
from inference.exported import MANIFEST, ExportedBackend, parity_session_config, read_manifest
from inference.inference_wrapper import WrapperBackend
from inference.subwindow import get_subwindow, pad_colour
from inference.tracker import SiamRPNTracker
from tests.conftest import PROJECT_ROOT
from utils.checkpoints import read_configs, resolve_checkpoint
from utils.template_names import FUSED_TEMPLATE

# Modules of the Python model code that the exported tracker must not load (nor TF's contrib, which slim needs:
# `import tensorflow` registers only a lazy `tensorflow.contrib` placeholder, so its submodules are what counts).
MODEL_MODULES = ('siamese_model', 'embeddings', 'inference.inference_wrapper', 'inference.graph_export',
                 'inference.checkpoint_io', 'utils.losses', 'utils.target_assignment', 'tensorflow.contrib.',
                 'tensorflow_core.contrib.')


def track_frames(tracker, frames, box):
    """Runs init/update over in-memory frames -> (boxes [N, 4], search size chosen at init)."""
    tracker.init(frames[0], box)
    return np.array([box] + [tracker.update(frame) for frame in frames[1:]]), tracker.state['instance_size']


def sequence(preset):
    """The synthetic sequence; for the adaptive big preset tiled 3x3 (960x720) so the 48x36 target is small
    (1728 px^2 < 0.4% of the frame) and the tracker searches at 287."""
    frames = [synthetic_sequence.frame(i) for i in range(synthetic_sequence.FRAMES)]
    if preset == 'big':
        frames = [np.ascontiguousarray(np.tile(frame, (3, 3, 1))) for frame in frames]
    return frames


@pytest.mark.parametrize('preset, search_size', [('otb', 271), ('big', 287)])
def test_exported_graphs_track_like_the_python_tracker(random_checkpoint_dir, random_export_dirs, preset,
                                                       search_size):
    frames = sequence(preset)
    with SiamRPNTracker.from_checkpoint(random_checkpoint_dir, preset=preset) as python_tracker:
        expected, expected_size = track_frames(python_tracker, frames, synthetic_sequence.FIRST_BOX)
    with SiamRPNTracker.from_exported(random_export_dirs[preset]) as exported_tracker:
        assert exported_tracker.config['preset'] == preset
        assert exported_tracker.backend.instance_sizes == ((271,) if preset == 'otb' else (271, 287))
        boxes, size = track_frames(exported_tracker, frames, synthetic_sequence.FIRST_BOX)
    assert size == expected_size == search_size
    assert len(np.unique(expected.round(3), axis=0)) > len(frames) // 2  # the boxes move and resize: not trivial
    np.testing.assert_allclose(boxes, expected, rtol=0, atol=1e-4)


def crops(frame, box, search_size):
    """(exemplar [127, 127, 3], search crop [X, X, 3]) uint8 around a box, as the tracker cuts them."""
    x, y, w, h = box
    pos, colour = np.array([x + w / 2., y + h / 2.]), pad_colour(frame)
    s_z = round(np.sqrt((w + (w + h) / 2.) * (h + (w + h) / 2.)))
    return (get_subwindow(frame, pos, 127, s_z, colour),
            get_subwindow(frame, pos + 5, search_size, round(s_z * search_size / 127.), colour))


def test_backends_agree_and_tf_default_rewrites_stay_within_float_precision(random_checkpoint_dir,
                                                                            random_export_dirs):
    """The loader's default (remapper off) is bit-identical to the Python model code; with TF's remapper on (it folds
    BN into the frozen conv weights) the outputs stay within float32 precision."""
    model_config, _, _ = read_configs(random_checkpoint_dir)
    reference = WrapperBackend.from_checkpoint(model_config, resolve_checkpoint(random_checkpoint_dir), (271, 287))
    remapper_on = tf.ConfigProto()
    remapper_on.graph_options.rewrite_options.remapping = rewriter_config_pb2.RewriterConfig.ON
    backends = {'parity': ExportedBackend(random_export_dirs['big']),
                'remapper': ExportedBackend(random_export_dirs['big'], session_config=remapper_on)}
    try:
        for index, size in ((0, 271), (5, 287), (9, 271)):
            frame = synthetic_sequence.frame(index)
            exemplar, search = crops(frame, synthetic_sequence.target_box(index), size)
            reference.set_template(exemplar)
            expected = reference.detect(search)
            kernels = reference.session.run([reference.wrapper.template[n] for n in FUSED_TEMPLATE])
            for name, backend in backends.items():
                backend.set_template(exemplar)
                scores, boxes = backend.detect(search)
                got_kernels = [backend.template[n] for n in FUSED_TEMPLATE]
                assert scores.shape == (((size - 127) // 8 + 1) ** 2 * 5,) and boxes.shape == scores.shape + (4,)
                if name == 'parity':
                    np.testing.assert_array_equal(scores, expected[0])
                    np.testing.assert_array_equal(boxes, expected[1])
                    for got, want in zip(got_kernels, kernels):
                        np.testing.assert_array_equal(got, want)
                else:
                    for got, want in zip(got_kernels, kernels):
                        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())
                    np.testing.assert_allclose(scores, expected[0], rtol=0, atol=1e-3)
                    finite = np.isfinite(expected[1]).all(axis=1) & (np.abs(expected[1]) < 1e4).all(axis=1)
                    # the untrained network amplifies the remapper's ~1e-6 changes: both heads, fused and separate,
                    # move the largest boxes (~7e3 px) by up to ~0.7 px (measured), i.e. 1e-4 of the largest value
                    np.testing.assert_allclose(boxes[finite], expected[1][finite], rtol=1e-4,
                                               atol=1e-4 * np.abs(expected[1][finite]).max())
    finally:
        reference.close()
        for backend in backends.values():
            backend.close()


def test_parity_session_config_keeps_the_callers_settings():
    config = tf.ConfigProto(intra_op_parallelism_threads=3)
    parity = parity_session_config(config)
    assert parity.intra_op_parallelism_threads == 3
    assert parity.graph_options.rewrite_options.remapping == rewriter_config_pb2.RewriterConfig.OFF
    assert config.graph_options.rewrite_options.remapping == rewriter_config_pb2.RewriterConfig.DEFAULT  # a copy
    config.graph_options.rewrite_options.remapping = rewriter_config_pb2.RewriterConfig.ON
    assert parity_session_config(config).graph_options.rewrite_options.remapping == \
        rewriter_config_pb2.RewriterConfig.ON


def test_exported_tracker_does_not_import_the_model_code(random_export_dirs):
    code = '\n'.join([
        'import sys',
        'from inference.tracker import SiamRPNTracker',
        'from datasets import synthetic_sequence',
        'with SiamRPNTracker.from_exported(sys.argv[1]) as tracker:',
        '    tracker.init(synthetic_sequence.frame(0), synthetic_sequence.FIRST_BOX)',
        '    box = tracker.update(synthetic_sequence.frame(1))',
        'print("box", list(box))',
        'print("loaded", sorted(m for m in sys.modules if m.startswith(%r)))' % (MODEL_MODULES,),
    ])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    result = subprocess.run([sys.executable, '-c', code, random_export_dirs['big']], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(' ', 1) for line in result.stdout.splitlines() if line.startswith(('box', 'loaded')))
    assert lines['loaded'] == '[]'
    assert np.isfinite(eval(lines['box'])).all()


def test_from_exported_options(random_export_dirs):
    with SiamRPNTracker.from_exported(random_export_dirs['big'], preset='vot', name='mine') as tracker:
        assert tracker.name == 'mine' and tracker.config['lr'] == 0.45 and tracker.backend.instance_sizes == (271,)
        assert tracker.wrapper is None
        session = tracker.session
    assert tracker.session is None and session._closed
    with SiamRPNTracker.from_exported(random_export_dirs['otb'], preset='otb') as tracker:
        assert tracker.name == 'otb_otb'
    with pytest.raises(ValueError, match='no track graph for search size 287 \\(exported: 271\\); export again with '
                                         '--instance-sizes 271 287'):
        SiamRPNTracker.from_exported(random_export_dirs['otb'], preset='big')
    with pytest.raises(RuntimeError, match='before init'):
        with SiamRPNTracker.from_exported(random_export_dirs['otb']) as tracker:
            tracker.update(synthetic_sequence.frame(0))


@pytest.fixture
def broken_export(tmp_path, random_export_dirs):
    """A copy of the otb export (without its SavedModel) to damage."""
    path = str(tmp_path / 'export')
    shutil.copytree(random_export_dirs['otb'], path, ignore=shutil.ignore_patterns('saved_model'))
    return path


def edit_manifest(export_dir, change):
    path = os.path.join(export_dir, MANIFEST)
    with open(path) as handle:
        manifest = json.load(handle)
    change(manifest)
    with open(path, 'w') as handle:
        json.dump(manifest, handle)


def test_missing_files_are_named(tmp_path, broken_export):
    with pytest.raises(IOError, match='export directory not found: .*nowhere'):
        SiamRPNTracker.from_exported(str(tmp_path / 'nowhere'))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(IOError, match='empty is not an exported tracker: it lacks manifest.json'):
        SiamRPNTracker.from_exported(str(empty))
    for name in ('track_271.pb', 'template.pb'):
        os.rename(os.path.join(broken_export, name), os.path.join(broken_export, name + '.moved'))
        with pytest.raises(IOError, match='lacks %s' % name.replace('.', '\\.')):
            SiamRPNTracker.from_exported(broken_export)
        os.rename(os.path.join(broken_export, name + '.moved'), os.path.join(broken_export, name))
    SiamRPNTracker.from_exported(broken_export).close()  # whole again


def test_damaged_files_and_manifests_are_named(broken_export):
    track = os.path.join(broken_export, 'track_271.pb')
    with open(track, 'r+b') as handle:
        handle.truncate(1000)
    with pytest.raises(ValueError, match='track_271.pb does not match the SHA-256'):
        ExportedBackend(broken_export)
    with open(track, 'wb') as handle:
        handle.write(b'\xff' * 64)

    def drop_checksum(manifest):
        del manifest['graphs']['track_271']['sha256']
    edit_manifest(broken_export, drop_checksum)
    with pytest.raises(ValueError, match='track_271.pb is not a GraphDef'):
        ExportedBackend(broken_export)

    def rename_output(manifest):
        manifest['graphs']['template']['outputs']['fused_kernel']['name'] = 'template/nothing:0'
    edit_manifest(broken_export, rename_output)
    with pytest.raises(ValueError, match='template.pb does not hold the tensors its manifest names .*template/nothing'):
        ExportedBackend(broken_export)
    with open(os.path.join(broken_export, MANIFEST)) as handle:
        original = handle.read()
    for change, message in ((lambda m: m.update(format='other'), 'expected "format": "siamrpn-tf-export"'),
                            (lambda m: m.update(version=99), 'version 99 is not supported'),
                            (lambda m: m.pop('track_config'), 'lacks the field "track_config"'),
                            (lambda m: m['graphs'].pop('track_271'), 'graphs\\["track_271"\\] must give'),
                            (lambda m: m['graphs']['track_271'].pop('score_size'), '"score_size"'),
                            (lambda m: m.update(instance_sizes=[]), '"instance_sizes" must be a non-empty list')):
        with open(os.path.join(broken_export, MANIFEST), 'w') as handle:
            handle.write(original)
        edit_manifest(broken_export, change)
        with pytest.raises(ValueError, match=message):
            read_manifest(broken_export)
    with open(os.path.join(broken_export, MANIFEST), 'w') as handle:
        handle.write('{"format": ')
    with pytest.raises(ValueError, match='manifest.json is not valid JSON'):
        read_manifest(broken_export)


def test_wrong_crops_get_clear_errors(random_export_dirs):
    backend = ExportedBackend(random_export_dirs['otb'])
    try:
        with pytest.raises(RuntimeError, match='before set_template'):
            backend.detect(np.zeros((271, 271, 3), np.uint8))
        with pytest.raises(ValueError, match='127x127x3'):
            backend.set_template(np.zeros((127, 127), np.uint8))
        backend.set_template(np.zeros((127, 127, 3), np.uint8))
        with pytest.raises(ValueError, match='no track graph for a 255-pixel search crop'):
            backend.detect(np.zeros((255, 255, 3), np.uint8))
    finally:
        backend.close()
