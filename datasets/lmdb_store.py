"""LMDB of curated crops: encoded JPEG bytes keyed by frame key (datasets/imdb.py), built resumably and read safely.

Building (`build_lmdb`): keys already in the LMDB are skipped, so an interrupted build resumes where its last commit
ended and yields the same key -> bytes content as an uninterrupted one. The map starts small and doubles whenever
LMDB reports MapFullError (no fixed 100 GB guess). A verification pass then checks every imdb key and writes
`build_info.json` into the LMDB folder.

Reading (`LmdbStore`): read-only, `lock=False`, no read-ahead (random access); one environment is shared by any
number of reader threads, each `get` using its own short read transaction.
"""

import os
import struct
import time
from multiprocessing.pool import ThreadPool

import lmdb
from tqdm import tqdm

from utils.image_io import ImageDecodeError, check_jpeg_complete, is_jpeg
from utils.io_utils import read_json, write_json

BUILD_INFO = 'build_info.json'
DATA_FILE = 'data.mdb'


def crop_path(curated_dir, key):
    """Crop file of a frame key."""
    return os.path.join(curated_dir, *key.split('/')) + '.jpg'


def check_record(data):
    """Raises ImageDecodeError unless `data` looks like a complete JPEG (cheap marker check, no decoding)."""
    if not data:
        raise ImageDecodeError('empty record')
    if not is_jpeg(data):
        raise ImageDecodeError('not JPEG data')
    check_jpeg_complete(data)


def _read_crop(curated_dir, key):
    """-> (key, bytes or None, error message or None)."""
    path = crop_path(curated_dir, key)
    try:
        with open(path, 'rb') as stream:
            data = stream.read()
        check_record(data)
        return key, data, None
    except OSError as error:
        return key, None, '%s: %s' % (path, error.strerror or error)
    except ImageDecodeError as error:
        return key, None, '%s: %s' % (path, error)


def _unique(keys):
    seen = set()
    return [k for k in keys if not (k in seen or seen.add(k))]


def _open_for_writing(lmdb_path, initial_map_size):
    data_file = os.path.join(lmdb_path, DATA_FILE)
    used = os.path.getsize(data_file) if os.path.isfile(data_file) else 0
    map_size = max(int(initial_map_size), 2 * used)
    os.makedirs(lmdb_path, exist_ok=True)
    return lmdb.open(lmdb_path, map_size=map_size, subdir=True, readonly=False, meminit=False, max_dbs=0)


def build_lmdb(keys, curated_dir, lmdb_path, initial_map_size=64 << 20, commit_every=256, commit_bytes=64 << 20,
               io_threads=4, progress=True):
    """Stores the crop of every key into the LMDB at `lmdb_path` (resumable), then verifies it.

    Args:
      keys: frame keys (e.g. datasets.imdb.imdb_keys of the train and validation imdbs).
      curated_dir: curated root holding `<key>.jpg` files.
      lmdb_path: LMDB folder (created if missing).
      initial_map_size: starting map size in bytes; it doubles on MapFullError.
      commit_every, commit_bytes: a transaction commits after this many records or bytes.
      io_threads: threads reading crop files ahead of the writer.
      progress: show tqdm bars.
    Returns:
      summary dict: keys, existing, written, bad {key: error} (missing or corrupt crop files), map_size, seconds,
      verification (see verify_lmdb).
    """
    start = time.time()
    keys = _unique(keys)
    env = _open_for_writing(lmdb_path, initial_map_size)
    try:
        with env.begin() as txn:
            existing = set(k.decode('utf-8') for k in txn.cursor().iternext(keys=True, values=False))
        todo = [k for k in keys if k not in existing]
        written, bad = 0, {}
        batch, batch_bytes = [], 0
        bar = tqdm(total=len(todo), desc='build lmdb', unit='crop', disable=not progress)
        pool = ThreadPool(io_threads)
        try:
            for key, data, error in pool.imap(lambda k: _read_crop(curated_dir, k), todo, chunksize=16):
                bar.update(1)
                if error:
                    bad[key] = error
                    continue
                batch.append((key.encode('utf-8'), data))
                batch_bytes += len(data)
                if len(batch) >= commit_every or batch_bytes >= commit_bytes:
                    _commit(env, batch)
                    written += len(batch)
                    batch, batch_bytes = [], 0
            if batch:
                _commit(env, batch)
                written += len(batch)
        finally:
            pool.terminate()
            bar.close()
        map_size = env.info()['map_size']
    finally:
        env.close()
    verification = verify_lmdb(keys, lmdb_path, progress=progress)
    summary = {'keys': len(keys), 'existing': len(existing & set(keys)), 'written': written, 'bad': bad,
               'map_size': map_size, 'seconds': time.time() - start, 'verification': verification}
    info = {'keys_expected': verification['expected'], 'keys_present': verification['present'],
            'keys_missing': verification['num_missing'], 'records_corrupt': verification['num_corrupt'],
            'complete': verification['num_missing'] == 0 and verification['num_corrupt'] == 0,
            'entries': verification['entries'], 'map_size': map_size,
            'bytes': os.path.getsize(os.path.join(lmdb_path, DATA_FILE))}
    write_json(os.path.join(lmdb_path, BUILD_INFO), info)
    return summary


def _commit(env, batch):
    """Writes one batch in a transaction, doubling the map size and retrying on MapFullError."""
    while True:
        txn = env.begin(write=True)
        try:
            for key, data in batch:
                txn.put(key, data, overwrite=False)
            txn.commit()
            return
        except lmdb.MapFullError:
            txn.abort()
            env.set_mapsize(env.info()['map_size'] * 2)
        except BaseException:
            txn.abort()
            raise


def verify_lmdb(keys, lmdb_path, progress=True, max_listed=20):
    """Checks that every key is in the LMDB with complete JPEG bytes.

    Returns {expected, present, num_missing, missing (first max_listed), num_corrupt, corrupt {key: error}
    (first max_listed), entries (records in the LMDB)}.
    """
    keys = _unique(keys)
    store = LmdbStore(lmdb_path)
    missing, corrupt = [], {}
    present = 0
    try:
        with store.env.begin(buffers=True) as txn:
            for key in tqdm(keys, desc='verify lmdb', unit='key', disable=not progress):
                data = txn.get(key.encode('utf-8'))
                if data is None:
                    missing.append(key)
                    continue
                present += 1
                try:
                    check_record(data)
                except ImageDecodeError as error:
                    corrupt[key] = str(error)
        entries = store.env.stat()['entries']
    finally:
        store.close()
    return {'expected': len(keys), 'present': present, 'num_missing': len(missing), 'missing': missing[:max_listed],
            'num_corrupt': len(corrupt), 'corrupt': dict(sorted(corrupt.items())[:max_listed]), 'entries': entries}


def read_build_info(lmdb_path):
    """The build_info.json of an LMDB folder, or None when the build never finished its verification."""
    path = os.path.join(lmdb_path, BUILD_INFO)
    return read_json(path) if os.path.isfile(path) else None


_META_MAGIC = 0xBEEFC0DE


def check_data_file(data_file):
    """Raises ValueError naming `data_file` unless it is as long as its newest valid LMDB meta page says.

    LMDB maps the file into memory and trusts it: a file cut short (a full disk, an interrupted copy) kills the reader
    with SIGBUS on the first access past its end, and one with bytes inserted (misaligned pages) can make it loop
    forever. LMDB writes whole pages, so a valid file is a multiple of the page size. A meta page (pages 0 and 1)
    holds, after the 16-byte page header: magic u32, version u32, address, map size, two 48-byte database records
    (the first starting with the page size as u32) and the last used page number u64, then the transaction id u64.
    """
    with open(data_file, 'rb') as stream:
        head = stream.read(16 + 136)
        page_size = struct.unpack_from('<I', head, 40)[0] if len(head) >= 44 else 0
        if page_size not in [1 << n for n in range(9, 17)]:
            raise ValueError('cannot open LMDB %s: no valid meta page (page size %d)' % (data_file, page_size))
        stream.seek(page_size)
        metas = [head, stream.read(16 + 136)]
        size = os.fstat(stream.fileno()).st_size
    valid = [struct.unpack_from('<QQ', meta, 136)[::-1] for meta in metas
             if len(meta) == 152 and struct.unpack_from('<II', meta, 16) == (_META_MAGIC, 1)]
    if not valid:
        raise ValueError('cannot open LMDB %s: no valid meta page' % data_file)
    last_page = max(valid)[1]
    if size % page_size:
        raise ValueError('cannot open LMDB %s: it is corrupt, its %d bytes are not a whole number of %d-byte '
                         'pages' % (data_file, size, page_size))
    if size < (last_page + 1) * page_size:
        raise ValueError('cannot open LMDB %s: it is truncated, %d bytes but its meta page says %d pages of %d '
                         'bytes' % (data_file, size, last_page + 1, page_size))


class LmdbStore(object):
    """Read-only access to a crop LMDB, safe for many threads."""

    def __init__(self, lmdb_path):
        if not os.path.isfile(os.path.join(lmdb_path, DATA_FILE)):
            raise FileNotFoundError('LMDB not found: %s has no %s (build it with scripts/build_lmdb.py)' % (
                lmdb_path, DATA_FILE))
        check_data_file(os.path.join(lmdb_path, DATA_FILE))
        try:
            self.env = lmdb.open(lmdb_path, readonly=True, lock=False, readahead=False, meminit=False,
                                 subdir=True, max_readers=1024)
        except lmdb.Error as error:
            raise ValueError('cannot open LMDB %s: %s' % (lmdb_path, error))
        self.path = lmdb_path

    def get(self, key):
        """Bytes stored under `key` (str), or None when absent."""
        try:
            with self.env.begin() as txn:
                return txn.get(key.encode('utf-8'))
        except lmdb.Error as error:
            raise ValueError('LMDB %s is corrupt: reading key %s failed (%s)' % (self.path, key, error))

    def __len__(self):
        return self.env.stat()['entries']

    def close(self):
        self.env.close()
