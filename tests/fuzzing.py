"""Mutation fuzzing of the files the project reads: seeded mutants, a verdict per mutant, crash-safe batches.

A mutant is the original file with one of: 1-4 random bytes XORed with a random non-zero value (flip), the tail cut
at a random length (truncate), or 1-16 random bytes inserted at a random position (insert); kinds cycle in that
order. A reader's verdict on a mutant is one of
  * 'same': read, and the result equals the original's;
  * 'changed': read, a different but valid result (formats without a checksum, e.g. a flipped digit of a box or of
    a float's bytes, cannot tell such a mutant from an edited file);
  * 'refused': a clear error, i.e. an exception of one of the reader's documented classes whose message contains
    the mutated file's path;
  * 'bad error': any other exception (wrong class, or a message without the path) - a test failure.
A crash, a hang or a MemoryError is a failure too. Readers that may crash in native code (the PyTorch reader, LMDB,
JPEG decoding, OpenCV's ONNX import) run in a subprocess, one per batch: `python -m tests.fuzzing` reads a JSON job
on stdin and prints one JSON verdict per mutant, so a segfault ends the batch and names its mutant instead of
killing pytest. The worker imports neither TensorFlow nor torch.
"""

import collections
import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ('flip', 'truncate', 'insert')


def mutant(data, index, seed):
    """(kind, bytes) of mutant `index` of `data` (deterministic in seed and index)."""
    rng = np.random.RandomState([seed, index])
    kind = KINDS[index % len(KINDS)]
    buffer = bytearray(data)
    if kind == 'flip':
        for position in rng.randint(0, len(buffer), size=rng.randint(1, 5)):
            buffer[position] ^= int(rng.randint(1, 256))
    elif kind == 'truncate':
        del buffer[int(rng.randint(0, len(buffer))):]
    else:
        position = int(rng.randint(0, len(buffer) + 1))
        buffer[position:position] = rng.randint(0, 256, size=rng.randint(1, 17)).astype(np.uint8).tobytes()
    return kind, bytes(buffer)


def digest(value):
    """A stable hash of a reader's result (nested dicts, lists, tuples, numpy arrays, numbers, strings)."""
    sha = hashlib.sha256()

    def feed(item):
        if isinstance(item, np.ndarray):
            sha.update(('array %s %s' % (item.dtype.str, item.shape)).encode())
            sha.update(np.ascontiguousarray(item).tobytes())
        elif isinstance(item, dict):
            sha.update(b'dict %d' % len(item))
            for key in item:
                feed(key)
                feed(item[key])
        elif isinstance(item, (list, tuple)):
            sha.update(b'seq %d' % len(item))
            for element in item:
                feed(element)
        else:
            sha.update(('%s %r' % (type(item).__name__, item)).encode())

    feed(value)
    return sha.hexdigest()


def verdict(read, path, expected_errors):
    """Runs read() -> dict(outcome 'read' with the result's digest, 'refused' or 'bad error', error, message); a
    refusal's message must contain `path`."""
    try:
        return {'outcome': 'read', 'digest': digest(read())}
    except MemoryError:
        raise
    except expected_errors as error:
        message = str(error)
        return {'outcome': 'refused' if path in message else 'bad error', 'error': type(error).__name__,
                'message': message[:300]}
    except Exception as error:  # a reader must not fail with any other class: report it
        return {'outcome': 'bad error', 'error': type(error).__name__, 'message': str(error)[:300]}


def fuzz_in_process(original, work_path, read, expected_errors, count, seed):
    """Writes each mutant of the file `original` to `work_path` and reads it with read() -> list of verdicts."""
    with open(original, 'rb') as stream:
        data = stream.read()
    reference = verdict(read, work_path, expected_errors) if original == work_path else None
    if original != work_path:
        shutil.copyfile(original, work_path)
        reference = verdict(read, work_path, expected_errors)
    assert reference['outcome'] == 'read', 'the original %s must read: %s' % (original, reference)
    verdicts = []
    for index in range(count):
        kind, mutated = mutant(data, index, seed)
        with open(work_path, 'wb') as stream:
            stream.write(mutated)
        result = verdict(read, work_path, expected_errors)
        result.update(index=index, kind=kind)
        if result['outcome'] == 'read':
            result['outcome'] = 'same' if result['digest'] == reference['digest'] else 'changed'
        verdicts.append(result)
    with open(work_path, 'wb') as stream:
        stream.write(data)
    return verdicts


def fuzz_in_subprocess(reader, original, work_path, count, seed, timeout=300, recheck=None, **options):
    """fuzz_in_process in a `python -m tests.fuzzing` subprocess with the worker reader `reader` -> verdicts.

    A crash or a hang adds a verdict {'outcome': 'crash', ...} naming the mutant being read and the exit status.
    recheck: job options (e.g. {'probe': True}) under which a mutant that crashed the fast path is read again, alone,
    through the reader's crash-guarded path; its verdict then replaces the crash, and the batch goes on after it.
    """
    verdicts = []
    while True:
        batch = _run_worker(dict(options, reader=reader, original=original, work_path=work_path, seed=seed,
                                 start=len(verdicts), count=count), timeout)
        verdicts.extend(batch)
        if not batch or batch[-1]['outcome'] != 'crash' or recheck is None:
            return verdicts
        index = batch[-1]['index']
        again = _run_worker(dict(options, reader=reader, original=original, work_path=work_path, seed=seed,
                                 start=index, count=index + 1, **recheck), timeout)
        again[0]['rechecked'] = '%s: %s' % (batch[-1]['error'], batch[-1]['message'][-200:])
        verdicts[-1:] = again
        if again[0]['outcome'] == 'crash' or len(verdicts) >= count:
            return verdicts


def _run_worker(job, timeout):
    """Verdicts of one worker process on mutants job['start'] to job['count'] - 1 (see fuzz_in_subprocess)."""
    environment = dict(os.environ, PYTHONPATH=PROJECT_ROOT)
    process = subprocess.Popen([sys.executable, '-m', 'tests.fuzzing'], cwd=PROJECT_ROOT, env=environment,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = process.communicate(json.dumps(job).encode(), timeout=timeout)
        status = process.returncode
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        status = 'timeout after %d s' % timeout
    verdicts = [json.loads(line) for line in out.decode().splitlines() if line.startswith('{')]
    if status != 0 or len(verdicts) != job['count'] - job['start']:
        index = job['start'] + len(verdicts)
        verdicts.append({'outcome': 'crash', 'index': index, 'kind': KINDS[index % len(KINDS)],
                         'error': 'exit status %s' % status, 'message': err.decode(errors='replace')[-2000:]})
    return verdicts


def summary(name, verdicts):
    """Counts per outcome, printed as one line (visible with pytest -s) -> Counter."""
    counts = collections.Counter(v['outcome'] for v in verdicts)
    rechecked = sum('rechecked' in v for v in verdicts)
    print('fuzz %-28s %3d mutants: %3d refused, %3d read unchanged, %3d read changed, %d bad error, %d crash%s'
          % (name, len(verdicts), counts['refused'], counts['same'], counts['changed'], counts['bad error'],
             counts['crash'], ' (%d crashed the unguarded load and were refused by its guard)' % rechecked
             if rechecked else ''))
    return counts


def failures(verdicts):
    """Verdicts that are neither a read nor a clear refusal."""
    return [v for v in verdicts if v['outcome'] not in ('same', 'changed', 'refused')]


# ---- worker readers (run in the subprocess; no TensorFlow) ----

def _torch_reader(job):
    from utils.torch_state_dict import UnsafePickleError, load_state_dict
    return (lambda: load_state_dict(job['work_path'])), (UnsafePickleError, ValueError, OSError)


def _image_reader(job):
    from utils.image_header import image_size
    from utils.image_io import ImageDecodeError, read_image

    def read():
        size = image_size(job['work_path'])
        image = read_image(job['work_path'])
        if (image.shape[1], image.shape[0]) != size:
            raise ImageDecodeError('%s: header says %dx%d, pixels are %dx%d' % (
                job['work_path'], size[0], size[1], image.shape[1], image.shape[0]))
        return image
    return read, (ImageDecodeError,)


def _lmdb_reader(job):
    from datasets.lmdb_store import LmdbStore
    from utils.image_io import ImageDecodeError, decode_image
    folder = os.path.dirname(job['work_path'])

    def read():
        """What the training reader does with each record: a missing or undecodable one is an error naming the
        LMDB (datasets/dataloader.py reports it and samples another pair)."""
        store = LmdbStore(folder)
        try:
            images = []
            for key in job['keys']:
                data = store.get(key)
                if data is None:
                    raise ValueError('%s: key %s is missing' % (folder, key))
                try:
                    images.append(decode_image(data))
                except ImageDecodeError as error:
                    raise ValueError('%s: record %s is corrupt (%s)' % (folder, key, error))
            return images
        finally:
            store.close()
    return read, (ValueError, OSError)


def _nanotrack_reader(job):
    import cv2
    from inference.peers import NanoTracker
    image = np.zeros((96, 128, 3), np.uint8)
    image[30:60, 40:80] = (40, 200, 90)
    moved = np.roll(image, 3, axis=1)

    def read():
        paths = dict(job['pair'])
        paths[job['mutated']] = job['work_path']
        with NanoTracker(paths['backbone'], paths['head'], probe=job.get('probe', False)) as tracker:
            try:
                tracker.init(image, np.array([40., 30., 40., 30.]))
                box = tracker.update(moved)
            except cv2.error as error:
                raise RuntimeError('OpenCV could not run NanoTrack from %s and %s: %s' % (
                    paths['backbone'], paths['head'], error))
        return np.round(box, 3)
    return read, (RuntimeError, IOError)


WORKER_READERS = {'torch': _torch_reader, 'image': _image_reader, 'lmdb': _lmdb_reader,
                  'nanotrack': _nanotrack_reader}


def _work():
    job = json.loads(sys.stdin.read())
    read, expected = WORKER_READERS[job['reader']](job)
    with open(job['original'], 'rb') as stream:
        data = stream.read()
    if job['original'] != job['work_path']:
        with open(job['work_path'], 'wb') as stream:
            stream.write(data)
    named = job.get('named_path', job['work_path'])  # what an error must name (the LMDB folder for data.mdb)
    reference = verdict(read, named, expected)
    if reference['outcome'] != 'read':
        raise SystemExit('the original %s does not read: %s' % (job['original'], reference))
    for index in range(job['start'], job['count']):
        kind, mutated = mutant(data, index, job['seed'])
        with open(job['work_path'], 'wb') as stream:
            stream.write(mutated)
        result = verdict(read, named, expected)
        result.update(index=index, kind=kind)
        if result['outcome'] == 'read':
            result['outcome'] = 'same' if result.pop('digest') == reference['digest'] else 'changed'
        print(json.dumps(result), flush=True)
    with open(job['work_path'], 'wb') as stream:
        stream.write(data)


if __name__ == '__main__':
    _work()
