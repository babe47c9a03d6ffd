"""Parity with the PyTorch reference: converted weights reproduce DaSiamRPN's maps and tracker (no torch needed).

The reference (tests/fixtures/dasiamrpn_reference, made by tests/fixtures/make_pytorch_reference.py with torch) is a
width-0.0625, C-8 DaSiamRPN network with random weights and BN statistics, saved in both PyTorch formats.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

import configuration
from embeddings import winograd
from inference.checkpoint_io import save_checkpoint_dir
from inference.dasiamrpn_weights import (anchor_channel_order, check_state_dict, convert_state_dict, expected_shapes,
                                         infer_architecture, maps_to_dasiamrpn, template_channel_order)
from datasets import synthetic_sequence
from inference.inference_wrapper import InferenceWrapper
from inference.tracker import SiamRPNTracker
from tests.conftest import DASIAMRPN_REFERENCE_DIR, tiny_model_config
from tests.helpers import cpu_session
from utils.checkpoints import resolve_checkpoint
from utils.torch_state_dict import load_state_dict

FORMATS = ('legacy', 'zip')


@pytest.fixture(scope='module')
def reference():
    data = np.load(os.path.join(DASIAMRPN_REFERENCE_DIR, 'reference.npz'))
    instances = np.stack([data['instance'], synthetic_sequence.background(271, 271).astype(np.uint8)])
    return dict(data, instances=instances)


@pytest.fixture(scope='module')
def converted_dirs(tmp_path_factory, reference):
    """{format: checkpoint directory converted from that file}, otb tracker preset."""
    config = tiny_model_config(float(reference['width_multiplier']), int(reference['feature_out']))
    dirs = {}
    for fmt in FORMATS:
        state_dict = load_state_dict(os.path.join(DASIAMRPN_REFERENCE_DIR, 'tiny_%s.model' % fmt))
        path = str(tmp_path_factory.mktemp('converted') / fmt)
        save_checkpoint_dir(path, convert_state_dict(state_dict, config), config,
                            track_config=configuration.track_config_for('otb'))
        dirs[fmt] = path
    return dirs


def relative_error(value, reference):
    return float(np.abs(value - reference).max() / np.abs(reference).max())


@pytest.mark.parametrize('fmt, variant', [('legacy', 'direct'), ('zip', 'direct'), ('zip', 'folded-winograd')])
def test_converted_graph_reproduces_the_pytorch_maps(graph, reference, converted_dirs, fmt, variant, monkeypatch):
    """Score and delta maps at 271 within 1e-4 relative error (max |diff| / max |ref|), from both formats, with the
    training graph's layers and with the tracker's full-width graph (BN folded, Winograd convs: forced on at this
    width, whose layers have fewer than winograd.MIN_OUTPUT_CHANNELS outputs)."""
    monkeypatch.setattr(winograd, 'MIN_OUTPUT_CHANNELS', 1)
    config = tiny_model_config(float(reference['width_multiplier']), int(reference['feature_out']))
    folded = resolve_checkpoint(converted_dirs[fmt]) if variant == 'folded-winograd' else None
    wrapper = InferenceWrapper(config, (271,), folded_from=folded,
                               conv_algorithm='winograd' if folded else 'direct').build_graph()
    model = wrapper.models[271]
    with cpu_session(graph) as sess:
        wrapper.restore(sess, resolve_checkpoint(converted_dirs[fmt]))
        wrapper.initialize(sess)
        wrapper.set_template(sess, reference['exemplar'][0])
        maps = [sess.run((model.cls_logits, model.reg_deltas), {wrapper.instance_inputs[271]: crop[None]})
                for crop in reference['instances']]
    score, delta = maps_to_dasiamrpn(np.concatenate([m[0] for m in maps]), np.concatenate([m[1] for m in maps]))
    errors = {'score': relative_error(score, reference['score']), 'delta': relative_error(delta, reference['delta'])}
    print('parity %s format, %s: max relative error score %.2e, delta %.2e'
          % (fmt, variant, errors['score'], errors['delta']))
    assert score.shape == reference['score'].shape == (2, 10, 19, 19)
    assert delta.shape == reference['delta'].shape == (2, 20, 19, 19)
    assert errors['score'] <= 1e-4 and errors['delta'] <= 1e-4, errors


@pytest.mark.parametrize('fmt, winograd_on', [('legacy', False), ('zip', False), ('zip', True)])
def test_converted_tracker_follows_the_reference_tracker_frame_for_frame(reference, converted_dirs, fmt, winograd_on,
                                                                          monkeypatch):
    """DaSiamRPN's tracking logic in PyTorch (a-major anchors, tiled window) vs this tracker, same boxes; also with
    Winograd convs forced on at this width (the full-width tracker's graph)."""
    if winograd_on:
        monkeypatch.setattr(winograd, 'MIN_OUTPUT_CHANNELS', 1)
    frames = [synthetic_sequence.frame(i) for i in range(synthetic_sequence.FRAMES)]
    with SiamRPNTracker.from_checkpoint(converted_dirs[fmt], preset='otb') as tracker:
        tracker.init(frames[0], synthetic_sequence.FIRST_BOX)
        boxes = [np.array(synthetic_sequence.FIRST_BOX)] + [tracker.update(f) for f in frames[1:]]
    difference = np.abs(np.array(boxes) - reference['track_boxes']).max()
    print('tracker parity %s format%s: max box difference %.2e px over %d frames'
          % (fmt, ', Winograd' if winograd_on else '', difference, len(boxes)))
    assert difference < 1e-3


def test_channel_orders_match_dasiamrpn_layouts():
    """Port channel c*O + a*v + t <- DaSiamRPN (t*k + a)*C + c; map channel a*v + t <- t*k + a."""
    order = template_channel_order(3, 5, 2)
    for c in range(3):
        for a in range(5):
            for t in range(2):
                assert order[c * 10 + a * 2 + t] == (t * 5 + a) * 3 + c
    assert sorted(order) == list(range(30))
    np.testing.assert_array_equal(anchor_channel_order(5, 4)[:8], [0, 5, 10, 15, 1, 6, 11, 16])


def test_bad_state_dicts_are_rejected_with_the_offending_keys(reference):
    config = tiny_model_config(float(reference['width_multiplier']), int(reference['feature_out']))
    state_dict = load_state_dict(os.path.join(DASIAMRPN_REFERENCE_DIR, 'tiny_zip.model'))
    check_state_dict(state_dict, config)  # the reference itself passes
    broken = dict(state_dict)
    del broken['conv_r1.bias']
    broken['extra.weight'] = np.zeros(3, np.float32)
    broken['conv_cls2.weight'] = broken['conv_cls2.weight'][:4]
    with pytest.raises(ValueError) as error:
        convert_state_dict(broken, config, source='broken.model')
    message = str(error.value)
    assert 'broken.model' in message and 'missing (1): conv_r1.bias' in message
    assert 'unexpected (1): extra.weight' in message and 'conv_cls2.weight: file (4, 16, 3, 3)' in message
    with pytest.raises(ValueError, match='looks like width 0.0625, C 8'):
        check_state_dict(state_dict, configuration.model_config_for('otb'), source='tiny.model')
    assert infer_architecture(state_dict) == (0.0625, 8)


def test_expected_shapes_of_the_released_models():
    """SiamRPNOTB/VOT have 22,632,932 parameters and SiamRPNBIG 90,436,132 (BN running stats excluded)."""
    for arch, count in (('otb', 22632932), ('big', 90436132)):
        shapes = expected_shapes(configuration.model_config_for(arch))
        assert len(shapes) == 40
        assert sum(int(np.prod(s)) for k, s in shapes.items() if 'running' not in k) == count
    assert expected_shapes(configuration.model_config_for('big'))['conv_cls1.weight'] == (5120, 512, 3, 3)


def test_embedding_only_conversion_holds_only_the_embedding(tmp_path, reference):
    config = tiny_model_config(float(reference['width_multiplier']), int(reference['feature_out']))
    state_dict = load_state_dict(os.path.join(DASIAMRPN_REFERENCE_DIR, 'tiny_legacy.model'))
    values = convert_state_dict(state_dict, config, embedding_only=True)
    path = save_checkpoint_dir(str(tmp_path / 'embedding'), values, config, scopes=('siamrpn_alexnet',))
    names = {name for name, _ in tf.train.list_variables(path)}
    assert names == set(values) | {'global_step'} and len(values) == 30
    assert all(name.startswith('siamrpn_alexnet/') for name in values)
    np.testing.assert_array_equal(tf.train.load_variable(path, 'siamrpn_alexnet/conv1/conv/weights'),
                                  np.transpose(state_dict['featureExtract.0.weight'], (2, 3, 1, 0)))
