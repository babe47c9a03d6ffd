"""Tests of the tracker's per-machine network choice (inference/speed_choice.py): the cache is keyed, written
atomically, reused, and replaced with a logged reason when invalid; the tracker builds what the config names. Fake
measurements stand in for timings (tests never time anything)."""

import json
import logging
import os

import pytest

from inference import speed_choice
from inference.speed_choice import (SpeedCacheError, cached_choice, choice_key, conv_algorithm, key_id, read_cache,
                                    tracker_backend)
from utils.checkpoints import read_configs, resolve_checkpoint
from utils.runtime import parse_cpuinfo

CPU = parse_cpuinfo('processor : 0\nmodel name : Test CPU\nflags : fpu avx2 fma avx512f avx512_vnni\n')
BUILD = {'name': 'intel-tensorflow', 'version': '1.15.2', 'onednn': True, 'cuda': False, 'flavour': 'intel'}


def model_config():
    import configuration
    return configuration.model_config_for('otb')


class FakeMeasure(object):
    """A measure() returning fixed medians and counting its calls."""
    rounds = 3

    def __init__(self, medians):
        self.medians, self.calls = medians, 0

    def __call__(self):
        self.calls += 1
        return dict(self.medians)


def test_key_names_cpu_flags_build_threads_and_network():
    key = choice_key(model_config(), 271, True, threads=2, cpuinfo=CPU, build=BUILD)
    assert key['cpu'] == 'Test CPU' and key['vector_units'] == sorted(['AVX2', 'FMA', 'AVX-512F', 'AVX-512 VNNI'])
    assert key['tensorflow'] == 'intel-tensorflow 1.15.2 oneDNN' and key['threads'] == 2
    assert key['network']['instance_size'] == 271 and key['network']['fold_batch_norm'] is True
    avx2_only = parse_cpuinfo('processor : 0\nmodel name : Test CPU\nflags : fpu avx2 fma\n')
    others = [choice_key(model_config(), 271, True, 2, avx2_only, BUILD),
              choice_key(model_config(), 271, True, 2, CPU, dict(BUILD, name='tensorflow', onednn=False)),
              choice_key(model_config(), 255, True, 2, CPU, BUILD),
              choice_key(model_config(), 271, False, 2, CPU, BUILD),
              choice_key(model_config(), 271, True, 1, CPU, BUILD)]
    ids = {key_id(k) for k in others + [key]}
    assert len(ids) == 6 and key_id(dict(key)) == key_id(key)


def test_choice_is_measured_once_cached_atomically_and_reused(tmp_path, caplog):
    path = str(tmp_path / 'cache' / 'speed.json')
    key = choice_key(model_config(), 271, True, 2, CPU, BUILD)
    measure = FakeMeasure({'fused': 30.0, 'separate': 34.0})
    caplog.set_level(logging.INFO, logger=speed_choice.__name__)
    entry, source = cached_choice(path, key, measure)
    assert (entry['choice'], source, measure.calls) == ('fused', 'measured', 1)
    assert "search head 'fused' chosen" in caplog.text and key_id(key) in caplog.text
    with open(path) as handle:
        stored = json.load(handle)
    assert stored['format'] == 1 and stored['entries'][key_id(key)]['medians_ms'] == {'fused': 30.0, 'separate': 34.0}
    assert stored['entries'][key_id(key)]['rounds'] == 3
    assert sorted(os.listdir(os.path.dirname(path))) == ['speed.json', 'speed.json.lock']  # no temp file left
    entry, source = cached_choice(path, key, measure)
    assert (entry['choice'], source, measure.calls) == ('fused', 'cache', 1)
    other = dict(key, threads=1)
    entry, source = cached_choice(path, other, FakeMeasure({'fused': 50.0, 'separate': 40.0}))
    assert (entry['choice'], source) == ('separate', 'measured')
    assert set(read_cache(path)) == {key_id(key), key_id(other)}


@pytest.mark.parametrize('content, reason', [
    ('{"format": 1, "entr', 'is not readable JSON'),
    ('[1, 2]', 'is not a format-1 cache'),
    ('{"format": 1, "entries": {"abc": {"key": {}, "choice": "fused", "medians_ms": {}, "rounds": 1}}}',
     'entry abc: its key does not hash to its id'),
])
def test_an_invalid_cache_is_named_then_measured_again_and_replaced(tmp_path, caplog, content, reason):
    path = str(tmp_path / 'speed.json')
    with open(path, 'w') as handle:
        handle.write(content)
    with pytest.raises(SpeedCacheError, match=reason):
        read_cache(path)
    key = choice_key(model_config(), 271, True, 2, CPU, BUILD)
    measure = FakeMeasure({'fused': 40.0, 'separate': 30.0})
    entry, source = cached_choice(path, key, measure)
    assert (entry['choice'], source, measure.calls) == ('separate', 'measured', 1)
    assert path in caplog.text and reason in caplog.text and 'measuring again' in caplog.text
    assert list(read_cache(path)) == [key_id(key)]


def test_an_entry_with_an_unknown_choice_is_invalid(tmp_path):
    key = choice_key(model_config(), 271, True, 2, CPU, BUILD)
    path = str(tmp_path / 'speed.json')
    with open(path, 'w') as handle:
        json.dump({'format': 1, 'entries': {key_id(key): {'key': key, 'choice': 'matmul', 'medians_ms': {},
                                                          'rounds': 1}}}, handle)
    with pytest.raises(SpeedCacheError, match="choice 'matmul' is not one of"):
        read_cache(path)


def test_tracker_backend_builds_the_named_or_cached_head(tmp_path, random_checkpoint_dir):
    """'fused'/'separate'/'model' build that head; 'auto' uses this machine's cached entry (written here, so nothing
    is timed); an unknown option is an error naming the key."""
    import configuration
    config, _, _ = read_configs(random_checkpoint_dir)
    checkpoint = resolve_checkpoint(random_checkpoint_dir)
    track = configuration.track_config_for('otb')
    for option, expected in (('separate', 'separate'), ('model', 'fused')):
        backend, choice = tracker_backend(config, checkpoint, dict(track, search_head=option), (271,))
        with_fused = 'fused_kernel' in backend.wrapper.template
        backend.close()
        assert (choice['search_head'], with_fused) == (expected, expected == 'fused')
    path = str(tmp_path / 'speed.json')
    from utils import runtime
    key = choice_key(config, 271, True, runtime.session_config().intra_op_parallelism_threads,
                     conv_algorithm=conv_algorithm(track))
    cached_choice(path, key, FakeMeasure({'fused': 9.0, 'separate': 5.0}))
    backend, choice = tracker_backend(config, checkpoint, dict(track, search_head='auto', speed_cache=path), (271,))
    backend.close()
    assert (choice['search_head'], choice['source']) == ('separate', 'cache')
    assert 'cls_kernels' in backend.wrapper.template and backend.wrapper.folded_from == checkpoint
    with pytest.raises(ValueError, match=r"track_config\['search_head'\] must be one of"):
        tracker_backend(config, checkpoint, dict(track, search_head='matmul'), (271,))
    with pytest.raises(ValueError, match="conv_algorithm'\] must be one of .* got 'fft'"):
        tracker_backend(config, checkpoint, dict(track, conv_algorithm='fft'), (271,))


def test_conv_algorithm_auto_is_direct_beside_a_gpu_and_winograd_on_a_cpu():
    """track_config 'auto' resolves by the GPUs TF sees; explicit choices stay; a config without the key gets the
    default's resolution."""
    assert conv_algorithm({'conv_algorithm': 'auto'}, gpus=['/physical_device:GPU:0']) == 'direct'
    assert conv_algorithm({'conv_algorithm': 'auto'}, gpus=[]) == 'winograd'
    assert conv_algorithm({'conv_algorithm': 'direct'}, gpus=[]) == 'direct'
    assert conv_algorithm({'conv_algorithm': 'winograd'}, gpus=['/physical_device:GPU:0']) == 'winograd'
    assert conv_algorithm({}, gpus=[]) == 'winograd'  # TRACK_CONFIG's 'auto' on a CPU
