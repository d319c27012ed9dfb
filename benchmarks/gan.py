"""DiverseColorGAN speed: a training step at 64x64 and the generator at 256x256.

FLOPs are counted from the convolution and dense layers (2 per multiply-add); batch norm
and activations are left out. Each figure is set beside the convolution peak measured in
the same run (benchmarks.timing.conv_peak_gflops).
"""

import time

from benchmarks.timing import conv_peak_gflops, median_seconds


def _layer_flops(model, height: int, width: int) -> float:
    """Forward FLOPs of a functional model's conv and dense layers at one input size."""
    import keras

    total = 0.0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            out_height = -(-height // layer.strides[0])
            out_width = -(-width // layer.strides[1])
            if layer.strides[0] > 1:
                height, width = out_height, out_width
            kernel = layer.kernel.shape
            total += 2.0 * out_height * out_width * kernel[0] * kernel[1] * kernel[2] * kernel[3]
        elif isinstance(layer, keras.layers.Dense):
            total += 2.0 * layer.kernel.shape[0] * layer.kernel.shape[1]
    return total


def _row(name, work, seconds_per_image, flops_per_image, peak, peak_shape, unit_text):
    achieved = flops_per_image / seconds_per_image / 1e9
    return {
        "name": name,
        "work": work,
        "kcolor": f"{unit_text}, {flops_per_image / 1e9:.2f} GFLOP/image, {achieved:.0f} GFLOP/s",
        "baseline": f"conv peak {peak:.0f} GFLOP/s ({peak_shape})",
        "ratio": achieved / peak,
        "seconds_per_image": seconds_per_image,
        "gflop_per_image": flops_per_image / 1e9,
        "achieved_gflops": achieved,
        "peak_gflops": peak,
    }


def bench_gan_training(args) -> list[dict]:
    """Training images/s at 64x64, batch 64, critic_steps=5 (the paper's set-up)."""
    import numpy as np
    import tensorflow as tf

    from kcolor.models import ColorCritic, DiverseColorGAN

    size, batch = (32, 4) if args.quick else (64, 64)
    gan = DiverseColorGAN(critic=ColorCritic(image_size=size), seed=0)
    gan.compile(critic_steps=5)
    rng = np.random.default_rng(0)
    l_norm = rng.uniform(-1, 1, (batch, size, size, 1)).astype("float32")
    ab_norm = rng.uniform(-0.5, 0.5, (batch, size, size, 2)).astype("float32")
    steps = 2 if args.quick else 6
    dataset = tf.data.Dataset.from_tensors((l_norm, ab_norm)).repeat(steps + 1)
    gan.fit(dataset.take(1), epochs=1, verbose=0, shuffle=False)  # tracing
    start = time.perf_counter()
    gan.fit(dataset.take(steps), epochs=1, verbose=0, shuffle=False)
    seconds_per_image = (time.perf_counter() - start) / (steps * batch)

    generator_flops = _layer_flops(gan.generator, size, size)
    critic_flops = _layer_flops(gan.critic, size, size)
    # Backward passes counted as twice their forward pass. Per critic step: generator
    # forward, critic forward and backward on real and fake. Generator step: generator
    # forward and backward, critic forward and input-gradient backward.
    step_flops = 5 * (generator_flops + 6 * critic_flops) + 3 * generator_flops + 2 * critic_flops
    peak, peak_shape = conv_peak_gflops(args.quick)
    return [
        _row(
            "gan-train",
            f"DiverseColorGAN train_step, {size}x{size}, batch {batch}, critic_steps=5, float32",
            seconds_per_image,
            step_flops,
            peak,
            peak_shape,
            f"{1 / seconds_per_image:.1f} images/s",
        )
    ]


def bench_gan_generator(args) -> list[dict]:
    """Generator inference ms/image at 256x256."""
    import tensorflow as tf

    from kcolor.models import DiverseColorGenerator

    size, batch = (64, 1) if args.quick else (256, 4)
    generator = DiverseColorGenerator()
    l_norm = tf.random.uniform([batch, size, size, 1], -1, 1)
    noise = tf.random.uniform([batch, size, size, generator.noise_channels], -1, 1)
    run = tf.function(lambda: generator([l_norm, noise], training=False))
    seconds_per_image = median_seconds(lambda: run().numpy(), 2 if args.quick else 5) / batch
    peak, peak_shape = conv_peak_gflops(args.quick)
    return [
        _row(
            "gan-generator",
            f"DiverseColorGenerator inference, {size}x{size}, batch {batch}, float32",
            seconds_per_image,
            _layer_flops(generator, size, size),
            peak,
            peak_shape,
            f"{seconds_per_image * 1000:.0f} ms/image",
        )
    ]
