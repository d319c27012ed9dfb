"""HypercolumnColorizer speed: sparse vs dense training, factored vs concatenated head,
dense inference against the convolution peak, and mixed bfloat16 against float32.

All runs use the full-size model (13 VGG16 taps, 1024-unit head, 32 + 32 bins) with the
offline HED trunk weights, calibrated on the benchmark's own input (``--quick``: a narrow
trunk with random weights, to check the benchmarks run).
"""

from benchmarks.timing import conv_peak_gflops, median_seconds

# --quick: VGG16's block widths divided by 8.
_QUICK_TRUNK_WIDTHS = [8, 16, 32, 64, 64]


def _model(quick, policy="float32"):
    import keras

    from kcolor.models import HypercolumnColorizer

    keras.mixed_precision.set_global_policy(policy)
    try:
        keras.utils.set_random_seed(0)
        if quick:
            return HypercolumnColorizer(trunk_widths=_QUICK_TRUNK_WIDTHS, seed=0)
        model = HypercolumnColorizer(seed=0)
        model.load_trunk_weights("hed")
        return model
    finally:
        keras.mixed_precision.set_global_policy("float32")


def lab_inputs(batch, size, seed=0):
    """``(l_norm, ab_norm)`` of ``batch`` smooth random colour fields, ``size`` square."""
    import tensorflow as tf

    from kcolor import color

    # Smooth random colour fields: stand-ins for photos, enough to exercise every op.
    low = tf.random.stateless_uniform([batch, size // 16, size // 16, 3], [seed, 1])
    rgb = tf.image.resize(low, [size, size], method="bicubic")
    return color.rgb_to_model_lab(tf.clip_by_value(rgb, 0.0, 1.0))


def _training_step(model, dense):
    """One SGD step of the model's loss; ``dense`` builds the full-resolution hypercolumn
    and scores every pixel, the naive alternative to sampling."""
    import keras
    import tensorflow as tf
    from keras import ops

    from kcolor.models import histogram_codec

    optimizer = keras.optimizers.SGD(1e-3, momentum=0.9)
    optimizer.build(model.trainable_variables)

    def dense_loss(l_norm, ab_norm):
        size = ops.shape(l_norm)[1:3]
        column = ops.concatenate(
            [tf.image.resize(f, size) for f in model.features(l_norm, training=True)], -1
        )
        kernel = ops.concatenate([p.kernel for p in model.projections], axis=0)
        hue, chroma = model._head(ops.matmul(column, kernel), training=True)
        targets = model.encode_targets(ab_norm, l_norm)
        return histogram_codec.histogram_loss(targets, hue, chroma)

    @tf.function
    def step(l_norm, ab_norm):
        with tf.GradientTape() as tape:
            if dense:
                loss = dense_loss(l_norm, ab_norm)
            else:
                y_pred = model(l_norm, training=True)
                loss = model.compute_loss(l_norm, ab_norm, y_pred)
        variables = model.trainable_variables
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    return step


def bench_hypercolumn_training(args) -> list[dict]:
    """Training images/s at 224x224: sparse sampling (batch 8) vs the dense hypercolumn."""
    size = 64 if args.quick else 224
    sparse_batch = 2 if args.quick else 8
    # The dense hypercolumn of 8 images at 224x224 is 6.8 GB before gradients: measured
    # at batch 2 and compared per image.
    dense_batch = 1 if args.quick else 2
    model = _model(args.quick)
    model.calibrate(lab_inputs(2, size)[0])
    rates = {}
    for name, batch in (("sparse", sparse_batch), ("dense", dense_batch)):
        l_norm, ab_norm = lab_inputs(batch, size)
        step = _training_step(model, dense=name == "dense")
        seconds = median_seconds(lambda: float(step(l_norm, ab_norm)), 1 if args.quick else 2)  # noqa: B023
        rates[name] = batch / seconds
    return [
        {
            "name": "hc-train",
            "work": f"HypercolumnColorizer training step, {size}x{size}, full model, float32",
            "kcolor": f"{rates['sparse']:.2f} images/s (sparse, 128 points/image, "
            f"batch {sparse_batch})",
            "baseline": f"{rates['dense']:.3f} images/s (dense upsampled hypercolumn, "
            f"batch {dense_batch})",
            "ratio": rates["sparse"] / rates["dense"],
            "sparse_images_per_second": rates["sparse"],
            "dense_images_per_second": rates["dense"],
        }
    ]


def _inference_flops(model, size):
    """Forward FLOPs of dense inference: trunk convolutions, factored first head layer at
    each tap's resolution, and the output layers on the grid (2 per multiply-add)."""
    import keras

    total, side = 0.0, size
    for layer in model.trunk.layers:
        if isinstance(layer, keras.layers.MaxPooling2D):
            side //= 2
        elif isinstance(layer, keras.layers.Conv2D):
            k = layer.kernel.shape
            total += 2.0 * side * side * k[0] * k[1] * k[2] * k[3]
    for projection, stride in zip(model.projections, model.strides, strict=True):
        cells = (size // max(stride, model.output_stride)) ** 2
        total += 2.0 * cells * projection.kernel.shape[0] * projection.kernel.shape[1]
    grid = (size // model.output_stride) ** 2
    total += 2.0 * grid * model.head_units * 2 * model.bins
    return total


def bench_hypercolumn_head(args) -> list[dict]:
    """Dense inference at 256x256: factored first layer vs concatenated hypercolumn."""
    import tensorflow as tf

    size, batch = (64, 1) if args.quick else (256, 4)
    model = _model(args.quick)
    l_norm, _ = lab_inputs(batch, size)
    model.calibrate(l_norm)
    grid = (size // model.output_stride,) * 2

    features = model.features(l_norm)
    repeats = 2 if args.quick else 5
    timings = {}
    for name, head in (
        ("factored", model.dense_logits),
        ("concatenated", model.dense_logits_concatenated),
    ):
        whole = tf.function(lambda head=head: head(model.features(l_norm), grid))
        head_only = tf.function(lambda head=head: head(features, grid))
        timings[name] = (
            median_seconds(lambda whole=whole: whole()[0].numpy(), repeats) / batch,
            median_seconds(lambda head_only=head_only: head_only()[0].numpy(), repeats) / batch,
        )
    ours, baseline = timings["factored"], timings["concatenated"]
    return [
        {
            "name": "hc-head",
            "work": f"HypercolumnColorizer dense logits, {size}x{size}, batch {batch}, float32; "
            f"head alone: {ours[1] * 1000:.0f} vs {baseline[1] * 1000:.0f} ms/image, "
            f"{baseline[1] / ours[1]:.2f}x",
            "kcolor": f"{ours[0] * 1000:.0f} ms/image with the trunk (factored: 1x1 per layer "
            "at the coarser of its resolution and the grid's, then sum)",
            "baseline": f"{baseline[0] * 1000:.0f} ms/image (resample, concatenate, 1x1)",
            "ratio": baseline[0] / ours[0],
            "kcolor_seconds_per_image": ours[0],
            "baseline_seconds_per_image": baseline[0],
            "kcolor_head_seconds_per_image": ours[1],
            "baseline_head_seconds_per_image": baseline[1],
        }
    ]


def bench_hypercolumn_inference(args) -> list[dict]:
    """Dense inference ms/image at 256x256 with FLOPs, against the conv peak; and
    mixed bfloat16 against float32 (speed and ab difference)."""
    import numpy as np
    import tensorflow as tf

    from kcolor import color

    size, batch = (64, 1) if args.quick else (256, 4)
    l_norm, _ = lab_inputs(batch, size)
    repeats = 2 if args.quick else 5
    model = _model(args.quick)
    model.calibrate(l_norm)
    colorize = tf.function(lambda: model(l_norm))
    seconds = median_seconds(lambda: colorize().numpy(), repeats) / batch
    flops = _inference_flops(model, size)
    peak, peak_shape = conv_peak_gflops(args.quick)
    achieved = flops / seconds / 1e9

    low = _model(args.quick, "mixed_bfloat16")
    low.set_weights(model.get_weights())
    colorize_low = tf.function(lambda: low(l_norm))
    low_seconds = median_seconds(lambda: colorize_low().numpy(), repeats) / batch
    difference = np.abs(colorize_low().numpy() - colorize().numpy()) * color.AB_SCALE
    return [
        {
            "name": "hc-inference",
            "work": f"HypercolumnColorizer dense colorize, {size}x{size}, batch {batch}, float32",
            "kcolor": f"{seconds * 1000:.0f} ms/image, {flops / 1e9:.1f} GFLOP/image, "
            f"{achieved:.0f} GFLOP/s",
            "baseline": f"conv peak {peak:.0f} GFLOP/s ({peak_shape})",
            "ratio": achieved / peak,
            "seconds_per_image": seconds,
            "gflop_per_image": flops / 1e9,
            "achieved_gflops": achieved,
            "peak_gflops": peak,
        },
        {
            "name": "hc-bfloat16",
            "work": f"the same under mixed_bfloat16; ab difference to float32 in Lab units "
            f"(mean {difference.mean():.2f}, max {difference.max():.1f})",
            "kcolor": f"{low_seconds * 1000:.0f} ms/image (mixed_bfloat16)",
            "baseline": f"{seconds * 1000:.0f} ms/image (float32)",
            "ratio": seconds / low_seconds,
            "seconds_per_image": low_seconds,
            "float32_seconds_per_image": seconds,
            "ab_difference_mean": float(difference.mean()),
            "ab_difference_max": float(difference.max()),
        },
    ]
