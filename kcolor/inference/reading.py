"""Reading photos: files, bytes, PIL images and arrays to upright 8-bit RGB, with the
pixel limit checked in the header before decoding."""

import io
import os

import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps

from kcolor.data import decoding
from kcolor.errors import ImageReadError, ImageTooLarge
from kcolor.limits import DEFAULT_MAX_PIXELS

# Rows converted at a time when a photo is handled in strips: bounds the float
# temporaries of a large photo.
STRIP_ROWS = 512


def check_pixels(name: str, width: int, height: int, max_pixels: int | None) -> None:
    """Raise :class:`ImageTooLarge` if ``width * height`` is over ``max_pixels``."""
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLarge(
            f"{name}: {width}x{height} pixels is over the limit of {max_pixels:,} pixels "
            "(raise it with --max-pixels or max_pixels=)"
        )


def exif_orientation(encoded: bytes) -> int:
    """EXIF orientation (1-8) of an encoded image, 1 when absent or unreadable."""
    if encoded.startswith(decoding.PNG_SIGNATURE) and b"eXIf" not in encoded:
        # Pillow looks for a PNG's EXIF by decoding the whole image (the chunk may follow
        # the pixels): as long as decoding it again. Without an eXIf chunk there is none.
        return 1
    try:
        with Image.open(io.BytesIO(encoded)) as image:
            return int(image.getexif().get(0x0112, 1))
    except (OSError, ValueError, SyntaxError):
        return 1


def _apply_orientation(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an image stored with EXIF orientation 1-8 upright (as PIL's exif_transpose)."""
    transposed = np.transpose(rgb, (1, 0, 2))
    upright = {
        2: lambda: rgb[:, ::-1],
        3: lambda: rgb[::-1, ::-1],
        4: lambda: rgb[::-1],
        5: lambda: transposed,
        6: lambda: np.rot90(rgb, -1),
        7: lambda: transposed[::-1, ::-1],
        8: lambda: np.rot90(rgb, 1),
    }.get(orientation, lambda: rgb)()
    return np.ascontiguousarray(upright)


def read_image(source, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read a photo as upright 8-bit RGB.

    Args:
        source: a file path (JPEG, PNG 8/16-bit, gray, RGBA, palette, BMP, GIF, WebP;
            EXIF orientation applied), a PIL image, or an array: uint8 0..255 or float
            in [0, 1], shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4).
        max_pixels: refuse images of more pixels than this (checked in a file's header,
            before decoding); None: no limit.

    Returns:
        uint8 array (H, W, 3), channel order R, G, B. Colour inputs are returned as they
        are; colorizing uses only their lightness.

    Raises:
        ImageReadError: the source is missing, unreadable or not an image.
        ImageTooLarge: the image has more than ``max_pixels`` pixels.
    """
    if isinstance(source, Image.Image):
        check_pixels("image", *source.size, max_pixels)
        return np.asarray(ImageOps.exif_transpose(source).convert("RGB"))
    if isinstance(source, np.ndarray):
        if source.ndim >= 2:
            check_pixels("array", source.shape[1], source.shape[0], max_pixels)
        return _array_to_rgb(source)
    path = os.fspath(source)
    return decode_photo(path, read_file(path), max_pixels)


def read_file(path) -> bytes:
    """The bytes of a photo file.

    Raises:
        ImageReadError: naming the file, when it cannot be read.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise ImageReadError(f"{path}: cannot be read ({error.strerror or error})") from error


def decode_photo(
    name: str, encoded: bytes, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Encoded image bytes -> upright uint8 RGB (H, W, 3), as :func:`read_image`.

    Raises:
        ImageReadError: naming ``name``, when the bytes are not a decodable image.
        ImageTooLarge: the header declares more than ``max_pixels`` pixels.
    """
    height, width = (int(side) for side in decoding.declared_shape(encoded))
    check_pixels(name, width, height, max_pixels)
    try:
        rgb = _decode_uint8(encoded)
    except tf.errors.InvalidArgumentError:
        reason = decoding.explain_undecodable(encoded).numpy().decode()
        raise ImageReadError(f"{name}: {reason}") from None
    except tf.errors.ResourceExhaustedError:
        raise ImageTooLarge(f"{name}: too large to decode in the memory available") from None
    return _apply_orientation(rgb, exif_orientation(encoded))


def upright_bytes(path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> bytes:
    """The bytes to send for a photo: the file as it is, or, when its EXIF orientation
    turns it, a PNG of the upright photo (the server does not read EXIF).

    Raises:
        ImageReadError: the file is missing or not a readable image, or
            it has more than ``max_pixels`` pixels.
    """
    rgb = read_image(path, max_pixels)  # checks it decodes, as the server will
    with open(path, "rb") as handle:
        encoded = handle.read()
    if exif_orientation(encoded) == 1:
        return encoded
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def _decode_uint8(encoded: bytes) -> np.ndarray:
    """uint8 RGB (H, W, 3) of an encoded image: the levels ``to_uint8`` gives for
    :func:`kcolor.data.decoding.decode_image_bytes`' floats, without ever holding a float copy
    of the whole photo (four times its 8-bit size)."""
    if encoded.startswith(decoding.PNG_SIGNATURE) and encoded[24:25] == b"\x10":
        # 16-bit PNG: rounded to 8 bits a strip at a time, as the float path rounds.
        wide = tf.io.decode_png(encoded, channels=0, dtype=tf.uint16).numpy()
        narrow = np.empty(wide.shape, np.uint8)
        for top in range(0, wide.shape[0], STRIP_ROWS):
            strip = wide[top : top + STRIP_ROWS].astype(np.float32) / np.float32(65535.0)
            narrow[top : top + STRIP_ROWS] = np.round(np.clip(strip, 0.0, 1.0) * np.float32(255.0))
        image = tf.convert_to_tensor(narrow)
    else:
        image = tf.io.decode_image(encoded, channels=0, dtype=tf.uint8, expand_animations=False)
    return np.ascontiguousarray(decoding.to_rgb(image).numpy())


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4) or 0 in array.shape:
        raise ImageReadError(
            f"array of shape {array.shape} is not an image: expected (H, W), (H, W, 1), "
            "(H, W, 3) or (H, W, 4)"
        )
    if array.dtype != np.uint8:
        array = np.round(np.clip(array.astype(np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array[..., :3])
