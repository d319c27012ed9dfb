"""Fuzzing the decode paths: mutated images never crash, hang or escape as odd errors."""

import subprocess
import sys
import textwrap

import pytest

FUZZ_SCRIPT = textwrap.dedent(
    """
    import io, resource, sys
    import numpy as np
    import tensorflow as tf
    from PIL import Image
    from kcolor import inference
    from kcolor.deploy import export
    from kcolor.models import ColorCritic, DiverseColorGAN, DiverseColorGenerator

    # Far below the machine's memory: a decode that ignored the pixel limit would fail.
    resource.setrlimit(resource.RLIMIT_AS, (12 << 30, 12 << 30))
    MAX_PIXELS = 4_000_000
    rng = np.random.default_rng(int(sys.argv[2]))
    ys, xs = np.mgrid[0:24, 0:32] / 32.0
    photo = (np.stack([0.5 + 0.4 * np.sin(5 * xs + k * ys + k) for k in range(3)], -1) * 255)
    seeds = []
    for fmt, options in (("JPEG", {}), ("PNG", {}), ("GIF", {}), ("BMP", {}),
                         ("WEBP", {}), ("WEBP", {"lossless": True})):
        buffer = io.BytesIO()
        Image.fromarray(photo.astype(np.uint8)).save(buffer, fmt, **options)
        seeds.append(buffer.getvalue())

    def mutate(data):
        data = bytearray(data)
        kind = rng.integers(3)
        if kind == 0:  # bit flips anywhere
            for _ in range(rng.integers(1, 9)):
                position = rng.integers(len(data))
                data[position] ^= 1 << int(rng.integers(8))
        elif kind == 1:  # truncation
            data = data[: rng.integers(0, len(data))]
        else:  # header edits: the fields that hold sizes, types and lengths
            for _ in range(rng.integers(1, 5)):
                data[rng.integers(min(40, len(data)))] = int(rng.integers(256))
        return bytes(data)

    cases = [mutate(seeds[i % len(seeds)]) for i in range(int(sys.argv[1]))]
    decoded = refused = 0
    for index, data in enumerate(cases):
        try:
            inference.decode_photo(f"case{index}", data, MAX_PIXELS)
            decoded += 1
        except inference.ImageReadError as error:
            assert str(error).startswith(f"case{index}: "), error
            refused += 1
    print("read_image", decoded, refused)

    generator = DiverseColorGenerator(
        filters=[4], kernel_sizes=[3, 3], noise_channels=1, noise_layers=1
    )
    gan = DiverseColorGAN(generator, ColorCritic(16, [4], 3, 4))
    gan(np.zeros((1, 16, 16, 1), np.float32))
    folder = export.export_savedmodel(
        gan, sys.argv[3], "fuzz", size=16, warmup=[seeds[0]], max_pixels=MAX_PIXELS
    )
    serve = tf.saved_model.load(str(folder)).signatures["serving_default"]
    colorized = reported = 0
    for start in range(0, len(cases), 50):
        group = cases[start : start + 50]
        result = serve(image_bytes=tf.constant(group), seed=tf.zeros([len(group)], tf.int64))
        for png, error in zip(result["colorized_png_bytes"].numpy(), result["error"].numpy()):
            assert (png == b"") != (error == b""), (png[:8], error)
            colorized += bool(png)
            reported += bool(error)
    print("serving", colorized, reported)
    """
)


def _fuzz(cases: int, seed: int, folder) -> None:
    result = subprocess.run(
        [sys.executable, "-c", FUZZ_SCRIPT, str(cases), str(seed), str(folder)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    decoded, refused = map(int, counts["read_image"].split())
    colorized, reported = map(int, counts["serving"].split())
    assert decoded + refused == cases == colorized + reported
    # Both outcomes occur: the mutations hit real decoding, not only the header check.
    assert min(decoded, refused, colorized, reported) > cases // 12


def test_mutated_images_are_decoded_or_reported_in_both_paths(tmp_path):
    _fuzz(300, 0, tmp_path)


@pytest.mark.large
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_many_more_mutated_images(tmp_path, seed):
    _fuzz(5000, seed, tmp_path)
