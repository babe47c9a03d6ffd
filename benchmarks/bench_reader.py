"""Measures the queue reader alone (no model) in pairs per second and prints a table.

  python benchmarks/bench_reader.py [--threads 1 2 4] [--batches 8 32] [--root DIR] [--compare-tf-ops]

Data: an already built synthetic dataset under --root (e.g. data/synthetic), by default a small one built in a
temporary folder. Each cell starts a fresh reader with `prefetch_threads` threads and `batch_size`, lets the
queue fill, then dequeues batches for --seconds; the rate counts pairs dequeued, corrected for the change of the
queue's content.

--compare-tf-ops also times the alternative design: the threads only sample pairs and read the JPEG bytes from the
LMDB, and TF ops (run by a standard QueueRunner with the same number of threads) decode, crop with the same
shift/scale/flip jitter (tf.image.crop_and_resize) and apply colour jitter and grey conversion, before batching.

The step's consumption rate printed beside the table is the training step measured on these 2 cores in the model
core issue (full width, stock TF 1.15.5): batch 8 in 2.14 s, batch 32 in 8.84 s.
"""

import argparse
import copy
import os
import tempfile
import time

import numpy as np
import tensorflow as tf

import configuration
from datasets.dataloader import DataLoader, mixup
from datasets.synthetic import build_synthetic_dataset, synthetic_paths, use_synthetic_data

STEP_SECONDS = {8: 2.14, 32: 8.84}  # full-width training step on 2 cores (model core issue's closing note)


def session():
    return tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=2))


def measure(batch, queue_size, batch_size, seconds, warmup=3):
    """Dequeues `batch` for `seconds` after `warmup` batches -> pairs per second."""
    with session() as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        try:
            for _ in range(warmup):
                sess.run(batch)
            time.sleep(1.0)  # let the queue fill so the first timed batches do not wait on a cold start
            start_size, start, count = sess.run(queue_size), time.time(), 0
            while time.time() - start < seconds:
                sess.run(batch)
                count += 1
            elapsed, end_size = time.time() - start, sess.run(queue_size)
        finally:
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=10)
    return (count * batch_size - (start_size - end_size)) / elapsed


def opencv_reader(train_config, threads, batch_size):
    """The project's reader -> (a small fetch that consumes a whole batch, queue size tensor)."""
    config = copy.deepcopy(train_config['train_data_config'])
    config.update(prefetch_threads=threads, batch_size=batch_size, prefetch_capacity=max(4 * batch_size, 64))
    loader = DataLoader(config, train_config['augmentation_config'], is_training=True)
    loader.build()
    batch = loader.get_one_batch()
    return [tf.reduce_sum(batch['instance'][:, 0, 0]), batch['instance_box']], loader.stats['queue_size']


def tf_ops_reader(train_config, threads, batch_size):
    """The alternative: Python threads feed JPEG bytes; TF ops decode and augment -> (fetch, queue size)."""
    config = copy.deepcopy(train_config['train_data_config'])
    config.update(prefetch_threads=threads, batch_size=batch_size)
    augmentation = train_config['augmentation_config']
    loader = DataLoader(config, augmentation, is_training=True)  # reused for its imdb, LMDB and sampler

    def make_producer(number):
        rng = np.random.RandomState(number)

        def produce():
            pair = loader.sampler.sample(rng)
            (zt, zp), (xt, xp) = pair.template, pair.search
            tracks = loader.imdb['tracks']
            return [loader.store.get(tracks[zt]['frame_keys'][zp]), loader.store.get(tracks[xt]['frame_keys'][xp]),
                    loader.boxes[zt][zp].astype(np.float32), loader.boxes[xt][xp].astype(np.float32),
                    np.float32(pair.delta_t), np.bool_(pair.is_negative)]
        return produce

    from datasets.dataloader import PythonFeedingQueueRunner
    specs = [(tf.string, []), (tf.string, []), (tf.float32, [4]), (tf.float32, [4]), (tf.float32, []),
             (tf.bool, [])]
    with tf.device('/cpu:0'):
        placeholders = [tf.placeholder(d, s) for d, s in specs]
        raw = tf.FIFOQueue(64, [d for d, _ in specs], [s for _, s in specs])
        tf.train.add_queue_runner(PythonFeedingQueueRunner(raw, raw.enqueue(placeholders), placeholders,
                                                           make_producer, threads))
        z_bytes, x_bytes, z_box, x_box, delta_t, negative = raw.dequeue()
        exemplar, instance, box = tf_augment(z_bytes, x_bytes, z_box, x_box, augmentation,
                                             loader.imdb['context_amount'])
        pairs = tf.FIFOQueue(max(4 * batch_size, 64), [tf.float32, tf.float32, tf.float32, tf.float32, tf.bool],
                             [[127, 127, 3], [255, 255, 3], [4], [], []])
        tf.train.add_queue_runner(tf.train.QueueRunner(pairs, [pairs.enqueue([exemplar, instance, box, delta_t,
                                                                              negative])] * threads))
        z, x, b, _, _ = pairs.dequeue_many(batch_size)
        x, _ = mixup(x, augmentation['mixup_prob'], augmentation['mixup_alpha'])
    return [tf.reduce_sum(x[:, 0, 0]), b], pairs.size()


def tf_augment(z_bytes, x_bytes, z_box, x_box, config, context_amount):
    """Decode + shift/scale/flip crops + colour jitter + grey, as TF ops on one pair."""
    images = [tf.image.decode_jpeg(data, channels=3) for data in (z_bytes, x_bytes)]
    flip = tf.random.uniform([]) < config['flip_prob']

    def crop(image, box, out, shift, scale, region_factor):
        size = tf.cast(tf.shape(image)[:2], tf.float32)
        side = tf.sqrt((box[2] + context_amount * (box[2] + box[3])) * (box[3] + context_amount * (box[2] + box[3])))
        region = side * region_factor * (1. + tf.random.uniform([2], -scale, scale))
        offset = tf.random.uniform([2], -shift, shift) * region / out
        cx, cy = box[0] + box[2] / 2. - offset[0], box[1] + box[3] / 2. - offset[1]
        x1, x2 = (cx - region[0] / 2.) / size[1], (cx + region[0] / 2.) / size[1]
        y1, y2 = (cy - region[1] / 2.) / size[0], (cy + region[1] / 2.) / size[0]
        x1, x2 = tf.where(flip, x2, x1), tf.where(flip, x1, x2)
        patch = tf.image.crop_and_resize(tf.cast(image[None], tf.float32), [[y1, x1, y2, x2]], [0], [out, out])[0]
        scale_xy = out / region
        new_box = tf.stack([(box[0] + box[2] / 2. - cx) * scale_xy[0] + out / 2.,
                            (box[1] + box[3] / 2. - cy) * scale_xy[1] + out / 2., box[2] * scale_xy[0],
                            box[3] * scale_xy[1]])
        return patch, new_box

    def photometric(image, gray):
        image = tf.image.adjust_brightness(image, tf.random.uniform([], -1., 1.) * config['brightness'] * 255.)
        image = tf.image.adjust_contrast(image, 1. + tf.random.uniform([], -1., 1.) * config['contrast'])
        image = tf.image.adjust_saturation(image, 1. + tf.random.uniform([], -1., 1.) * config['saturation'])
        image = image * (1. + tf.random.uniform([3], -1., 1.) * config['channel_gain'])
        grey = tf.tile(tf.image.rgb_to_grayscale(image[..., ::-1]), [1, 1, 3])
        return tf.clip_by_value(tf.where(gray, grey, image), 0., 255.)

    exemplar, _ = crop(images[0], z_box, 127, config['template_shift'], config['template_scale'], 1.)
    instance, box = crop(images[1], x_box, 255, config['search_shift'], config['search_scale'], 255. / 127.)
    gray = tf.random.uniform([]) < config['gray_prob']
    return photometric(exemplar, gray), photometric(instance, gray), box


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2, 4], help='reader thread counts')
    parser.add_argument('--batches', type=int, nargs='+', default=[8, 32], help='batch sizes')
    parser.add_argument('--seconds', type=float, default=8., help='timed seconds per cell')
    parser.add_argument('--root', default=None, help='synthetic dataset folder (default: a small temporary one)')
    parser.add_argument('--compare-tf-ops', action='store_true', help='also time TF-op augmentation')
    args = parser.parse_args()
    tf.logging.set_verbosity(tf.logging.ERROR)

    train_config = copy.deepcopy(configuration.TRAIN_CONFIG)
    synthetic = train_config['synthetic_data_config']
    temporary = None
    if args.root:  # an already built synthetic dataset (any generator settings)
        synthetic['root_dir'] = args.root
        paths = synthetic_paths(synthetic)
    else:
        temporary = tempfile.TemporaryDirectory(prefix='bench_reader_')
        synthetic.update(root_dir=os.path.join(temporary.name, 'synthetic'), num_train_videos=12, num_test_videos=1)
        synthetic['generator_config']['num_frames'] = [40, 60]
        paths = build_synthetic_dataset(synthetic, train_config['curation_config'], progress=False, log=None)
    train_config = use_synthetic_data(train_config, paths)

    designs = [('opencv threads', opencv_reader)] + ([('tf ops', tf_ops_reader)] if args.compare_tf_ops else [])
    print('reader alone, pairs/s (2 CPU cores, %s; data %s)' % (tf.__version__, paths['root_dir']))
    header = '%-15s %7s %6s %10s %14s %8s' % ('augmentation', 'threads', 'batch', 'pairs/s', 'step pairs/s',
                                              'margin')
    print(header)
    print('-' * len(header))
    for name, build in designs:
        for threads in args.threads:
            for batch_size in args.batches:
                with tf.Graph().as_default():
                    tf.set_random_seed(0)
                    fetch, queue_size = build(train_config, threads, batch_size)
                    rate = measure(fetch, queue_size, batch_size, args.seconds)
                step = batch_size / STEP_SECONDS[batch_size] if batch_size in STEP_SECONDS else float('nan')
                print('%-15s %7d %6d %10.1f %14.2f %7.1fx' % (name, threads, batch_size, rate, step, rate / step))
    if temporary:
        temporary.cleanup()


if __name__ == '__main__':
    main()
