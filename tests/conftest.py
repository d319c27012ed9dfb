"""Shared fixtures: tiny synthetic photos and hostile files written to temporary folders."""

import io
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image


def pytest_configure(config):
    """Under parallel workers (pytest-xdist), give each worker's TensorFlow its share of
    the CPU cores: with every worker running as many threads as there are cores, they
    spend their time switching between threads instead of computing."""
    import os

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        import tensorflow as tf

        share = max(1, len(os.sched_getaffinity(0)) // workers)
        tf.config.threading.set_intra_op_parallelism_threads(share)
        tf.config.threading.set_inter_op_parallelism_threads(share)


def pytest_addoption(parser):
    parser.addoption("--run-large", action="store_true", help="run tests marked large")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-large"):
        return
    skip = pytest.mark.skip(reason="large test: pass --run-large to run it")
    for item in items:
        if "large" in item.keywords:
            item.add_marker(skip)


def colour_photo(height, width, seed):
    """A smooth, saturated uint8 RGB image (H, W, 3) that survives JPEG compression."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width] / max(height, width)
    phases = rng.uniform(0, 2 * np.pi, size=3)
    channels = [0.5 + 0.45 * np.sin(4 * xs + 3 * ys + phase) for phase in phases]
    return (np.stack(channels, axis=-1) * 255).astype(np.uint8)


def encode(array, fmt, **params):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **params)
    return buffer.getvalue()


@pytest.fixture
def mixed_folder(tmp_path):
    """A folder (with a subfolder) of 8 readable colour images in every supported format,
    2 grayscale photos and 4 broken files. Returns (folder, names of broken files)."""
    folder = tmp_path / "photos"
    (folder / "sub dir").mkdir(parents=True)
    photo = colour_photo(48, 64, seed=1)
    (folder / "a.jpg").write_bytes(encode(photo, "JPEG", quality=95))
    (folder / "sub dir" / "b.JPEG").write_bytes(encode(colour_photo(40, 40, 2), "JPEG"))
    (folder / "c.png").write_bytes(encode(colour_photo(33, 50, 3), "PNG"))
    rgba = np.concatenate([colour_photo(30, 30, 4), np.full((30, 30, 1), 128, np.uint8)], -1)
    (folder / "d_rgba.png").write_bytes(encode(rgba, "PNG"))
    palette = Image.fromarray(colour_photo(30, 40, 5)).convert("P", palette=Image.ADAPTIVE)
    buffer = io.BytesIO()
    palette.save(buffer, "PNG")
    (folder / "e_palette.png").write_bytes(buffer.getvalue())
    (folder / "f.bmp").write_bytes(encode(colour_photo(20, 30, 6), "BMP"))
    frames = [Image.fromarray(colour_photo(24, 24, 7 + k)) for k in range(2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    (folder / "g_animated.gif").write_bytes(buffer.getvalue())
    (folder / "h.webp").write_bytes(encode(colour_photo(26, 26, 9), "WEBP", quality=95))

    gray = np.asarray(Image.fromarray(photo).convert("L"))
    (folder / "gray_L.png").write_bytes(encode(gray, "PNG"))
    (folder / "gray_rgb.jpg").write_bytes(encode(np.stack([gray] * 3, -1), "JPEG"))

    jpeg = encode(photo, "JPEG")
    broken = {
        "empty.jpg": b"",
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "notes.jpg": b"these are not the pixels you are looking for\n",
        "scan.png": encode(photo, "TIFF"),
    }
    for name, content in broken.items():
        (folder / name).write_bytes(content)
    (folder / "README.txt").write_text("ignored: not an image extension")
    return folder, sorted(broken)


_TWO_CPU_REPLICAS = """
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
rng = np.random.default_rng(0)
"""


def run_with_two_cpu_replicas(body):
    """Run ``body`` in a fresh Python process where ``strategy`` is a MirroredStrategy
    over two logical CPUs (they must be configured before TensorFlow starts, hence the
    process). Returns its stdout; fails the test with its stderr if it fails."""
    script = _TWO_CPU_REPLICAS + textwrap.dedent(body)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="session")
def tiny_model_files(tmp_path_factory):
    """Small untrained models saved as .keras files: {"gan", "generator", "hypercolumn",
    "guided"} (the last a GAN whose generator is guided by the tiny hypercolumn model)."""
    import keras
    import numpy as np

    from kcolor.models import (
        ColorCritic,
        DiverseColorGAN,
        DiverseColorGenerator,
        GuidedColorGenerator,
        HypercolumnColorizer,
    )

    keras.utils.set_random_seed(0)  # the trunk's random weights, the same in every process
    folder = tmp_path_factory.mktemp("models")
    generator = DiverseColorGenerator(
        filters=[8, 6], kernel_sizes=[3, 3, 3], noise_channels=2, noise_layers=2
    )
    critic = ColorCritic(image_size=16, filters=[4], kernel_size=3, dense_units=4)
    hypercolumn = HypercolumnColorizer(
        taps=["block1_conv2", "block2_conv2"],
        # block2_conv2 holds 2,304 weights: above the 1,024 under which dynamic-range
        # quantization leaves a weight in float, so the int8 paths quantize something.
        trunk_widths=[4, 16, 8, 8, 8],
        head_units=8,
        bins=8,
        seed=0,
    )
    # The paper's feature scaling, as training starts with: a random trunk's features
    # are hundreds of units, enough to overflow the float16 TFLite variant's head.
    hypercolumn.calibrate(np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 1)).astype("float32"))
    guided = GuidedColorGenerator(
        DiverseColorGenerator(
            filters=[8, 6], kernel_sizes=[3, 3, 3], noise_channels=2, noise_layers=2, guided=True
        ),
        HypercolumnColorizer.from_config(hypercolumn.get_config()),
    )
    guided.guide.set_weights(hypercolumn.get_weights())
    names = ("gan", "generator", "hypercolumn", "guided")
    paths = {name: str(folder / f"{name}.keras") for name in names}
    DiverseColorGAN(generator, critic, seed=0).save(paths["gan"])
    generator.save(paths["generator"])
    hypercolumn.save(paths["hypercolumn"])
    DiverseColorGAN(guided, ColorCritic.from_config(critic.get_config()), seed=0).save(
        paths["guided"]
    )
    return paths


@pytest.fixture(scope="session")
def exported(tiny_model_files, tmp_path_factory):
    """The tiny hypercolumn model, GAN and guided GAN, loaded and exported once as
    SavedModels at processing size 32: {"base": folder, "hypercolumn"/"gan"/"guided":
    (model, version folder)}."""
    import keras

    from kcolor.deploy import export

    base = tmp_path_factory.mktemp("serving")
    result = {"base": base}
    for name in ("hypercolumn", "gan", "guided"):
        model = keras.saving.load_model(tiny_model_files[name])
        result[name] = (model, export.export_savedmodel(model, base, name, size=32))
    return result
