import warnings

import numpy as np
import pytest
import skimage.color
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from kcolor import color


def srgb_cube(steps=33):
    """Every RGB colour on a steps^3 grid, as an image (steps^3, 1, 3) in [0, 1]."""
    levels = np.linspace(0.0, 1.0, steps)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1)
    return grid.reshape(-1, 1, 3)


def test_rgb_to_lab_matches_skimage_over_the_srgb_cube():
    cube = srgb_cube()
    ours = color.rgb_to_lab(cube.astype(np.float32)).numpy()
    reference = skimage.color.rgb2lab(cube)
    assert np.abs(ours - reference).max() < 1e-3


def test_lab_round_trip_is_within_one_level_of_8_bit():
    cube = srgb_cube().astype(np.float32)
    back = color.lab_to_rgb(color.rgb_to_lab(cube)).numpy()
    assert np.abs(back - cube).max() < 1.0 / 255.0


def test_uint8_input_is_rescaled():
    pixels = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [12, 200, 90]]], np.uint8)
    from_uint8 = color.rgb_to_lab(pixels).numpy()
    from_float = color.rgb_to_lab(pixels.astype(np.float32) / 255.0).numpy()
    np.testing.assert_allclose(from_uint8, from_float, atol=1e-5)
    np.testing.assert_allclose(from_uint8[0, 0], [0, 0, 0], atol=1e-4)
    # White is neutral to within the rounding of the standard matrix (skimage: same).
    np.testing.assert_allclose(from_uint8[0, 1], [100, 0, 0], atol=1e-2)


def test_out_of_gamut_lab_is_mapped_like_skimage_and_clipped():
    rng = np.random.default_rng(0)
    lab = np.concatenate(
        [rng.uniform(0, 100, (4000, 1)), rng.uniform(-128, 128, (4000, 2))], axis=-1
    )[:, None, :]
    with warnings.catch_warnings():
        # skimage warns that it clips negative Z values, which is the behaviour under test.
        warnings.simplefilter("ignore")
        reference = skimage.color.lab2rgb(lab)
    ours = color.lab_to_rgb(lab.astype(np.float32)).numpy()
    assert ours.min() >= 0.0 and ours.max() <= 1.0
    assert np.abs(ours - reference).max() < 1e-4


@pytest.mark.parametrize("shape", [(3,), (7, 3), (5, 6, 3), (2, 5, 6, 3)])
def test_shapes_are_kept_for_pixels_images_and_batches(shape):
    rgb = np.random.default_rng(1).uniform(size=shape).astype(np.float32)
    lab = color.rgb_to_lab(rgb)
    assert lab.shape == shape and lab.dtype == tf.float32
    assert color.lab_to_rgb(lab).shape == shape
    assert color.lch_to_lab(color.lab_to_lch(lab)).shape == shape


def test_lch_matches_skimage_and_round_trips():
    lab = skimage.color.rgb2lab(srgb_cube(17)).astype(np.float32)
    lch = color.lab_to_lch(lab).numpy()
    reference = skimage.color.lab2lch(lab)
    np.testing.assert_allclose(lch[..., :2], reference[..., :2], atol=1e-3)
    colored = reference[..., 1] > 1e-3
    hue_difference = np.angle(np.exp(1j * (lch[..., 2] - reference[..., 2])))
    assert np.abs(hue_difference[colored]).max() < 1e-4
    assert lch[..., 2].min() >= -np.pi and lch[..., 2].max() <= np.pi
    np.testing.assert_allclose(color.lch_to_lab(lch).numpy(), lab, atol=1e-3)


def test_gradients_are_finite_at_the_branch_points():
    # Black, white, the sRGB curve's knee, pure primaries and a neutral gray (a = b = 0).
    rgb = tf.constant(
        [[0, 0, 0], [1, 1, 1], [0.04045, 0.04045, 0.04045], [1, 0, 0], [0, 0, 1], [0.5] * 3],
        tf.float32,
    )
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(rgb)
        lab = color.rgb_to_lab(rgb)
        lch = color.lab_to_lch(lab)
        back = color.lab_to_rgb(color.lch_to_lab(lch))
        loss_lab = tf.reduce_sum(lab)
        loss_lch = tf.reduce_sum(lch)
        loss_back = tf.reduce_sum(back)
    for loss in (loss_lab, loss_lch, loss_back):
        gradient = tape.gradient(loss, rgb).numpy()
        assert np.all(np.isfinite(gradient))
    assert np.abs(tape.gradient(loss_lab, rgb).numpy()).sum() > 0


def test_model_normalisation_round_trips_and_has_the_documented_range():
    rgb = srgb_cube(9).astype(np.float32)
    l_norm, ab_norm = color.rgb_to_model_lab(rgb)
    assert l_norm.shape[-1] == 1 and ab_norm.shape[-1] == 2
    assert l_norm.numpy().min() >= -1.0 - 1e-6 and l_norm.numpy().max() <= 1.0 + 1e-5
    assert np.abs(ab_norm.numpy()).max() <= 1.0
    lab = color.rgb_to_lab(rgb).numpy()
    np.testing.assert_allclose(l_norm.numpy()[..., 0], lab[..., 0] / 50 - 1, atol=1e-6)
    np.testing.assert_allclose(ab_norm.numpy(), lab[..., 1:] / 110, atol=1e-6)
    np.testing.assert_allclose(color.model_lab_to_rgb(l_norm, ab_norm).numpy(), rgb, atol=1 / 255)


def test_converts_to_tflite_with_builtin_ops_and_gives_the_same_lab():
    @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 3], tf.float32)])
    def to_lab_and_back(rgb):
        lab = color.rgb_to_lab(rgb)
        return lab, color.lab_to_rgb(lab)

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [to_lab_and_back.get_concrete_function()], to_lab_and_back
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = Interpreter(model_content=converter.convert())
    interpreter.allocate_tensors()
    rgb = np.random.default_rng(2).uniform(size=(1, 8, 8, 3)).astype(np.float32)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], rgb)
    interpreter.invoke()
    outputs = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
    lab = next(o for o in outputs if np.abs(o).max() > 1.5)
    np.testing.assert_allclose(lab, color.rgb_to_lab(rgb).numpy(), atol=1e-3)
