"""Get an ImageNet-trained trunk weights file listed in scripts/configs/trunk_weights.yaml.

The file is read from a local clone of its repository (``--git-dir``) or downloaded from
GitHub at the listed commit, checked against its size and sha256, checked to load into
the trunk it is for, and written to ``-o`` (never over an existing file). Train on it with
``--set model_args.trunk_weights=FILE``.

An entry of ``format: tflite_int8`` is an int8 TFLite classifier: its convolutions are
dequantized into the Keras network (kcolor.models.tflite_weights), batch statistics are
measured on ``--photos``, the Keras copy's top-1 class is checked against the TFLite
model's on the same photos (at least ``min_top1_agreement``), and Keras weights
(``.weights.h5``) are written.

Examples:
    python scripts/trunk_weights.py mobilenet_0.25 -o weights/mobilenet_0.25.h5
    python scripts/trunk_weights.py mobilenet_v2_1.0 -o weights/mobilenet_v2_1.0.weights.h5 \
        --photos imagenet-sample-images/
"""

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

SOURCES = Path(__file__).parent / "configs" / "trunk_weights.yaml"


def read_source(entry: dict, git_dir: str | None) -> bytes:
    """The file's bytes: from ``git_dir`` at the listed commit, else from GitHub."""
    if git_dir:
        spec = f"{entry['commit']}:{entry['path']}"
        return subprocess.run(
            ["git", "--git-dir", git_dir, "show", spec], check=True, capture_output=True
        ).stdout
    url = (
        f"https://raw.githubusercontent.com/{entry['repository']}/{entry['commit']}/{entry['path']}"
    )
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def check_file(entry: dict, content: bytes) -> None:
    """Raise ValueError unless ``content`` is the listed file."""
    digest = hashlib.sha256(content).hexdigest()
    if len(content) != entry["bytes"] or digest != entry["sha256"]:
        raise ValueError(
            f"{entry['repository']}/{entry['path']}: {len(content)} bytes, sha256 {digest}; "
            f"expected {entry['bytes']} bytes, sha256 {entry['sha256']} (a Git LFS pointer "
            "or another file)"
        )


def check_loads(entry: dict, weights: bytes, suffix: str) -> None:
    """Raise (ModelFileError) unless ``weights`` load into the entry's trunk."""
    from kcolor.models import HypercolumnColorizer

    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        handle.write(weights)
        handle.flush()
        model = HypercolumnColorizer(trunk=entry["trunk"], trunk_alpha=entry["trunk_alpha"])
        model.load_trunk_weights(handle.name)


def read_photos(folder: str, count: int, size: int) -> np.ndarray:
    """Up to ``count`` photos of ``folder`` (sorted by name), centre squares resized to
    ``size``, as uint8 RGB (N, size, size, 3)."""
    files = sorted(
        path for path in Path(folder).iterdir() if path.suffix.lower() in {".jpg", ".jpeg", ".png"}
    )[:count]
    if not files:
        raise ValueError(f"{folder}: no .jpg or .png photos")
    photos = []
    for path in files:
        with Image.open(path) as image:
            image = image.convert("RGB")
            side = min(image.size)
            left, top = (image.width - side) // 2, (image.height - side) // 2
            square = image.crop((left, top, left + side, top + side))
            photos.append(np.asarray(square.resize((size, size), Image.BILINEAR)))
    return np.stack(photos)


def tflite_classes(path: str, photos: np.ndarray) -> np.ndarray:
    """The TFLite classifier's top-1 class of each photo (its input in [-1, 1], quantized
    with the input's own scale and zero point when it is an integer input)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path)
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    scale, zero_point = source["quantization"]
    classes = []
    for photo in photos:
        values = photo[None].astype(np.float32) / 127.5 - 1.0
        if scale:
            values = np.round(values / scale + zero_point)
            limits = np.iinfo(source["dtype"])
            values = np.clip(values, limits.min, limits.max)
        interpreter.set_tensor(source["index"], values.astype(source["dtype"]))
        interpreter.invoke()
        classes.append(int(interpreter.get_tensor(target["index"])[0].argmax()))
    return np.array(classes)


def keras_weights_from_tflite(entry: dict, content: bytes, photos_folder: str) -> bytes:
    """Dequantize an int8 TFLite classifier into the entry's no-top Keras network; return
    its ``.weights.h5`` bytes. Raises ValueError when the Keras copy classifies fewer than
    ``min_top1_agreement`` of the photos as the TFLite model does."""
    import keras

    from kcolor.models import tflite_weights

    photos = read_photos(photos_folder, entry["photos"], entry["input_size"])
    with tempfile.TemporaryDirectory() as folder:
        model_path = os.path.join(folder, "model.tflite")
        Path(model_path).write_bytes(content)
        network = keras.applications.MobileNetV2(
            alpha=entry["trunk_alpha"], include_top=False, weights=None,
            input_shape=(None, None, 3),
        )  # fmt: skip
        convolutions = tflite_weights.read_convolutions(model_path)
        (classifier,) = tflite_weights.copy_convolutions(network, convolutions, model_path)
        inputs = photos.astype(np.float32) / 127.5 - 1.0
        tflite_weights.unfold_batch_normalization(network, inputs)
        features = network.predict(inputs, verbose=0, batch_size=16).mean(axis=(1, 2))
        keras_classes = (features @ classifier.kernel[0, 0] + classifier.bias).argmax(axis=1)
        agreement = float(np.mean(keras_classes == tflite_classes(model_path, photos)))
        print(f"top-1 agreement with the TFLite model on {len(photos)} photos: {agreement:.3f}")
        if agreement < entry["min_top1_agreement"]:
            raise ValueError(
                f"{entry['path']}: the dequantized network agrees with the TFLite model on "
                f"{agreement:.3f} of the photos; at least {entry['min_top1_agreement']} expected"
            )
        weights_path = os.path.join(folder, "trunk.weights.h5")
        network.save_weights(weights_path)
        return Path(weights_path).read_bytes()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="which weights file (an entry of the sources file)")
    parser.add_argument("-o", "--output", required=True, help="where to write it")
    parser.add_argument("--git-dir", help="a local clone (its .git folder) of the repository")
    parser.add_argument("--sources", default=str(SOURCES), help="the list of weights files")
    parser.add_argument(
        "--photos",
        help="a folder of colour photos (e.g. ImageNet sample images) for a TFLite entry's "
        "batch statistics and top-1 check",
    )
    args = parser.parse_args(argv)

    sources = yaml.safe_load(Path(args.sources).read_text())
    if args.name not in sources:
        print(f"{args.sources}: no entry {args.name!r}; listed: {sorted(sources)}", file=sys.stderr)
        return 2
    entry = sources[args.name]
    output = Path(args.output)
    if output.exists():
        print(f"{output} exists; not replacing it", file=sys.stderr)
        return 1
    is_tflite = entry.get("format") == "tflite_int8"
    if is_tflite and not args.photos:
        print(f"{args.name} is a TFLite classifier: --photos is needed", file=sys.stderr)
        return 2
    content = read_source(entry, args.git_dir)
    try:
        check_file(entry, content)
        if is_tflite:
            content = keras_weights_from_tflite(entry, content, args.photos)
        check_loads(entry, content, ".weights.h5" if is_tflite else ".h5")
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    partial.write_bytes(content)
    os.replace(partial, output)
    print(
        f"{output}: {entry['trunk']} (alpha {entry['trunk_alpha']}) ImageNet weights from "
        f"{entry['repository']} @ {entry['commit'][:7]}, {entry['path']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
