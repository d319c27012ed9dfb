"""Timing helpers shared by the benchmarks, and the convolution peak they compare with."""

import statistics
import time


def median_seconds(function, repeats: int) -> float:
    """Median wall time of ``function()`` over ``repeats`` calls, after one warm-up call."""
    function()  # warm-up: tracing, caches
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def conv_peak_gflops(quick: bool) -> tuple[float, str]:
    """GFLOP/s of the fastest of a few large float32 convolutions on this machine.

    The yardstick for a model's achieved speed: what TensorFlow's convolution kernels
    reach here on shapes that keep them busy, measured in the same run as the model.
    """
    import tensorflow as tf

    batch, side = (2, 32) if quick else (8, 128)
    best, best_shape = 0.0, ""
    for kernel, channels in ((3, 64), (5, 64), (3, 128)):
        images = tf.random.uniform([batch, side, side, channels])
        weights = tf.random.uniform([kernel, kernel, channels, channels])
        # One large op: run eagerly, its dispatch cost is nothing next to the work.
        seconds = median_seconds(
            lambda: tf.nn.conv2d(images, weights, 1, "SAME").numpy(),  # noqa: B023
            2 if quick else 5,
        )
        flops = 2 * batch * side * side * kernel * kernel * channels * channels
        if flops / seconds / 1e9 > best:
            best = flops / seconds / 1e9
            best_shape = f"{kernel}x{kernel} conv {channels}->{channels}, {batch}x{side}x{side}"
    return best, best_shape
