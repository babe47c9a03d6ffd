"""The tracker's network variant per machine: measured once at first use, cached on disk, logged.

  backend, choice = tracker_backend(model_config, checkpoint_path, track_config)   # SiamRPNTracker.from_checkpoint

TRACK_CONFIG['search_head'] names the search head of the track step: 'fused' (one 6x6 conv per video) or
'separate' (conv_cls2/conv_r2 + correlation + regress_adjust), both exact up to float rounding
(embeddings/rpn_head.py); 'model' (default) keeps the checkpoint's rpn_config['fused_search_head'], the head the
exports use, so the Python and the exported trackers compute the same to 1e-4 px; 'auto' takes the faster of the
two on this machine (their boxes differ from each other's by float rounding, ~1e-4..1e-3 px over a sequence).
Which is faster depends on the CPU's vector units and the TF build (oneDNN's kernels for a 6x6 conv with 6k output
channels against two 3x3 convs and two small correlations), so 'auto' measures it the first time a key is seen:
both graphs are built, and `rounds` interleaved rounds (utils/runtime.round_order, each timed detect after an
untimed one) on seeded textures give a median per head; the faster is kept (and its backend used right away).

The cache is one JSON file (TRACK_CONFIG['speed_cache'], default ~/.cache/siamrpn-tf/speed_choices.json, or under
$XDG_CACHE_HOME), written atomically under a lock:
  {"format": 1, "entries": {<key id>: {"key": {...}, "choice": "fused", "medians_ms": {"fused": .., ..},
                                       "rounds": 8, "load_average": "..."}}}
The key holds everything the choice depends on: the CPU model and its vector-unit flags, the TF build (name,
version, oneDNN), the threading in effect (intra-op threads, OMP_NUM_THREADS, KMP_BLOCKTIME, KMP_AFFINITY), and the
network (width, feature_out, anchors, search size, BN folding, conv algorithm); its id is a hash of it. A key seen before reuses the
entry (logged); a file that is not a valid cache is logged with the reason and replaced by a new measurement.
Timings made while other processes load the cores are noisy: delete the entry (or the file) to measure again on
an idle machine, or set 'search_head' explicitly.
"""

import hashlib
import json
import logging
import os

import numpy as np

import configuration
from embeddings.siamrpn_alexnet import resolve_conv_algorithm
from utils import runtime
from utils.io_utils import file_lock, write_json

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
HEADS = ('fused', 'separate')
SEARCH_HEAD_OPTIONS = ('auto', 'model') + HEADS
ENTRY_FIELDS = ('key', 'choice', 'medians_ms', 'rounds')


class SpeedCacheError(ValueError):
    """A cache file that cannot be used (unreadable, not JSON, or not in the format above)."""


def default_cache_path():
    """$XDG_CACHE_HOME/siamrpn-tf/speed_choices.json (XDG_CACHE_HOME defaulting to ~/.cache)."""
    root = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(root, 'siamrpn-tf', 'speed_choices.json')


def choice_key(model_config, instance_size, fold_batch_norm, threads=None, cpuinfo=None, build=None,
               conv_algorithm='direct'):
    """The dict a choice depends on (module docstring); `cpuinfo` (runtime.parse_cpuinfo) and `build`
    (runtime.tensorflow_build) default to this machine's."""
    cpu = runtime.read_cpuinfo() if cpuinfo is None else cpuinfo
    build = runtime.tensorflow_build() if build is None else build
    rpn, embed = model_config['rpn_config'], model_config['embed_config']
    return {
        'cpu': cpu['model'] or 'unknown',
        'vector_units': sorted(cpu['vector_units']),
        'tensorflow': '%s %s%s' % (build['name'], build['version'], ' oneDNN' if build['onednn'] else ''),
        'threads': int(threads or runtime.cpu_threads()),
        'openmp': {name: os.environ.get(name, '') for name in ('OMP_NUM_THREADS', 'KMP_BLOCKTIME', 'KMP_AFFINITY')},
        'network': {'width_multiplier': embed['width_multiplier'], 'feature_out': rpn['feature_out'],
                    'anchors': [list(rpn['anchor_ratios']), list(rpn['anchor_scales'])],
                    'instance_size': int(instance_size), 'fold_batch_norm': bool(fold_batch_norm),
                    'conv_algorithm': conv_algorithm},
    }


def key_id(key):
    """A short stable id of a key dict (hex digest of its canonical JSON)."""
    return hashlib.sha1(json.dumps(key, sort_keys=True).encode('utf-8')).hexdigest()[:16]


def read_cache(path):
    """{key id: entry} of a cache file; {} when it does not exist. SpeedCacheError names the file and the fault."""
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (IOError, OSError, ValueError) as error:
        raise SpeedCacheError('speed cache %s is not readable JSON (%s)' % (path, error))
    if not isinstance(data, dict) or data.get('format') != CACHE_FORMAT or not isinstance(data.get('entries'), dict):
        raise SpeedCacheError('speed cache %s is not a format-%d cache ({"format": %d, "entries": {...}})'
                              % (path, CACHE_FORMAT, CACHE_FORMAT))
    for identifier, entry in data['entries'].items():
        problem = _entry_problem(identifier, entry)
        if problem:
            raise SpeedCacheError('speed cache %s, entry %s: %s' % (path, identifier, problem))
    return data['entries']


def _entry_problem(identifier, entry):
    """Why a cache entry is unusable, or None."""
    if not isinstance(entry, dict) or any(field not in entry for field in ENTRY_FIELDS):
        return 'expected an object with %s' % ', '.join(ENTRY_FIELDS)
    if not isinstance(entry['key'], dict) or key_id(entry['key']) != identifier:
        return 'its key does not hash to its id'
    if entry['choice'] not in HEADS:
        return 'choice %r is not one of %s' % (entry['choice'], HEADS)
    return None


def cached_choice(path, key, measure):
    """The entry for `key` in the cache at `path`, measured with `measure()` -> {head: median ms} and stored when
    the key is new or the file is not a valid cache -> (entry, 'cache' or 'measured'). Logged either way."""
    identifier = key_id(key)
    with file_lock(path + '.lock'):
        try:
            entries = read_cache(path)
        except SpeedCacheError as error:
            logger.warning('%s: measuring again and replacing it', error)
            entries = {}
        if identifier in entries:
            entry = entries[identifier]
            logger.info('search head %r for this machine from %s (entry %s; medians %s ms)', entry['choice'], path,
                        identifier, _format(entry['medians_ms']))
            return entry, 'cache'
        logger.info('no speed choice for this machine and network in %s: measuring the search heads once', path)
        medians = measure()
        entry = {'key': key, 'choice': min(medians, key=medians.get), 'medians_ms': medians,
                 'rounds': getattr(measure, 'rounds', None), 'load_average': '%.2f %.2f %.2f' % os.getloadavg()}
        entries[identifier] = entry
        write_json(path, {'format': CACHE_FORMAT, 'entries': entries})
    logger.info('search head %r chosen for this machine (medians %s ms, load average %s); cached in %s as %s',
                entry['choice'], _format(medians), entry['load_average'], path, identifier)
    return entry, 'measured'


def _format(medians):
    return ', '.join('%s %.2f' % (name, value) for name, value in sorted(medians.items()))


def measure_heads(backends, instance_size, rounds=8, warmup=2, seed=0):
    """{head: median ms of detect} of WrapperBackends {head: backend} on a seeded texture (a template from another),
    interleaved: every round times each head once, in runtime.round_order, each timed call after an untimed one."""
    import time
    rng = np.random.RandomState(seed)
    exemplar_size = next(iter(backends.values())).exemplar_size

    def texture(side):
        small = rng.randint(0, 256, (side // 8 + 1, side // 8 + 1, 3)).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(np.repeat(small, 8, axis=0), 8, axis=1)[:side, :side])

    exemplar, crop = texture(exemplar_size), texture(instance_size)
    for backend in backends.values():
        backend.set_template(exemplar)
    times = {name: [] for name in backends}
    for round_index in range(warmup + rounds):
        for name in runtime.round_order(sorted(backends), round_index):
            backends[name].detect(crop)
            start = time.perf_counter()
            backends[name].detect(crop)
            if round_index >= warmup:
                times[name].append(1e3 * (time.perf_counter() - start))
    return {name: float(np.median(values)) for name, values in times.items()}


def _head_config(model_config, head):
    config = json.loads(json.dumps(model_config))
    config['rpn_config']['fused_search_head'] = head == 'fused'
    return config


def conv_algorithm(track_config, gpus=None):
    """The embedding's conv algorithm from track_config's 'conv_algorithm' (TRACK_CONFIG's default when a hand-made
    config lacks it): 'auto' is 'direct' when TensorFlow sees a GPU (`gpus`, default probed; cuDNN picks its own
    algorithms) and 'winograd' on a CPU; 'direct' and 'winograd' stay. ValueError names any other value."""
    option = track_config.get('conv_algorithm', configuration.TRACK_CONFIG['conv_algorithm'])
    return resolve_conv_algorithm(option, lambda: bool(runtime.tensorflow_gpus() if gpus is None else gpus),
                                  "track_config['conv_algorithm']")


def tracker_backend(model_config, checkpoint_path, track_config, instance_sizes, session_config=None, rounds=8):
    """The tracker's WrapperBackend for `instance_sizes` with track_config's 'fold_batch_norm', 'conv_algorithm' and
    'search_head'
    ('auto': the cached or measured choice for this machine, at track_config['instance_size']) -> (backend,
    {'search_head': head, 'source': 'config' / 'model' / 'cache' / 'measured', 'entry': cache entry or None})."""
    from inference.inference_wrapper import WrapperBackend
    option, fold = track_config['search_head'], bool(track_config['fold_batch_norm'])
    algorithm = conv_algorithm(track_config)
    if option not in SEARCH_HEAD_OPTIONS:
        raise ValueError("track_config['search_head'] must be one of %s, got %r" % (SEARCH_HEAD_OPTIONS, option))

    def build(head):
        return WrapperBackend.from_checkpoint(_head_config(model_config, head), checkpoint_path, instance_sizes,
                                              session_config, fold_batch_norm=fold, conv_algorithm=algorithm)

    if option == 'model':
        head = 'fused' if model_config['rpn_config']['fused_search_head'] else 'separate'
        return build(head), {'search_head': head, 'source': 'model', 'entry': None}
    if option in HEADS:
        return build(option), {'search_head': option, 'source': 'config', 'entry': None}
    config = runtime.session_config(base=session_config)
    key = choice_key(model_config, track_config['instance_size'], fold, config.intra_op_parallelism_threads,
                     conv_algorithm=algorithm)
    built = {}

    def measure():
        for head in HEADS:
            built[head] = build(head)
        return measure_heads(built, track_config['instance_size'], rounds)
    measure.rounds = rounds

    path = track_config.get('speed_cache') or default_cache_path()
    try:
        entry, source = cached_choice(path, key, measure)
        head = entry['choice']
        backend = built.pop(head) if head in built else build(head)
    finally:
        for unused in built.values():
            unused.close()
    return backend, {'search_head': head, 'source': source, 'entry': entry}
