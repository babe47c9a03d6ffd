"""Test helpers: CPU sessions and small synthetic training pairs (a textured object on a textured background)."""

import cv2
import numpy as np
import tensorflow as tf


def cpu_session(graph=None, num_cpus=1):
    """A 2-thread CPU session, optionally exposing several CPU devices (for tower tests)."""
    config = tf.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=2,
                            device_count={'CPU': num_cpus})
    return tf.Session(graph=graph, config=config)


def textured_background(rng, size):
    """[size, size, 3] float32 noise summed at three scales, in [0, 255]."""
    image = np.zeros((size, size, 3), np.float32)
    for cell in (4, 16, 64):
        noise = rng.rand(size // cell + 1, size // cell + 1, 3).astype(np.float32)
        image += cv2.resize(noise, (size, size), interpolation=cv2.INTER_LINEAR)[:size, :size] * 80.
    return np.clip(image, 0., 255.)


def make_pairs(count, seed=0, exemplar_size=127, instance_size=255, max_shift=48):
    """Makes (exemplars [n,127,127,3], instances [n,255,255,3], boxes [n,4] cx,cy,w,h in instance pixels).

    The object is pasted into a larger scene; the exemplar is centred on it and the instance is shifted by up to
    max_shift pixels, at the same scale, so the target is not centred in the search image.
    """
    rng = np.random.RandomState(seed)
    scene_size = instance_size + 2 * max_shift + 2
    exemplars, instances, boxes = [], [], []
    for _ in range(count):
        scene = textured_background(rng, scene_size)
        w, h = rng.randint(30, 90), rng.randint(30, 90)
        pattern = rng.rand(6, 6, 3).astype(np.float32) * 255.
        centre = scene_size // 2
        x0, y0 = centre - w // 2, centre - h // 2
        scene[y0:y0 + h, x0:x0 + w] = cv2.resize(pattern, (w, h), interpolation=cv2.INTER_NEAREST)
        half_z = exemplar_size // 2
        exemplars.append(scene[centre - half_z:centre - half_z + exemplar_size,
                               centre - half_z:centre - half_z + exemplar_size])
        sx, sy = rng.randint(-max_shift, max_shift + 1, size=2)
        ix0, iy0 = centre + sx - instance_size // 2, centre + sy - instance_size // 2
        instances.append(scene[iy0:iy0 + instance_size, ix0:ix0 + instance_size])
        boxes.append([x0 - ix0 + w / 2., y0 - iy0 + h / 2., w, h])
    return np.array(exemplars), np.array(instances), np.array(boxes, np.float32)
