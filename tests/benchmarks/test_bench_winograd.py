"""Tests of benchmarks/bench_winograd.py's layer shapes (the timing itself is the benchmark's, never a test's)."""

from benchmarks.bench_winograd import layer_shapes


def test_layer_shapes_follow_the_embedding_at_271():
    """The stride-1 layers' input sides and channels: conv1 11x11/2 271 -> 131, pool -> 65, conv2 -> 61, pool -> 30."""
    assert layer_shapes(1.0, 271) == [('conv2', 65, 96, 5, 256), ('conv3', 30, 256, 3, 384),
                                      ('conv4', 28, 384, 3, 384), ('conv5', 26, 384, 3, 256)]
    assert [shape[2:] for shape in layer_shapes(0.25, 255)] == [(24, 5, 64), (64, 3, 96), (96, 3, 96), (96, 3, 64)]
    assert layer_shapes(0.25, 255)[0][1] == 61
