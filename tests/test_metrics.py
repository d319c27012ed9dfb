import numpy as np
import pytest

from kcolor import color, metrics


def test_psnr_matches_a_hand_computed_value():
    reference = np.zeros((4, 4, 3), np.uint8)
    result = reference.copy()
    result[0, 0, 0] = 10  # one channel of one pixel off by 10 levels
    mse = 100 / 48
    assert float(metrics.psnr(result, reference)) == pytest.approx(
        10 * np.log10(255**2 / mse), abs=1e-3
    )
    # float input in [0, 1] is read as the 8-bit levels it would be stored as
    assert float(metrics.psnr(result / 255.0, reference / 255.0)) == pytest.approx(
        float(metrics.psnr(result, reference)), abs=1e-3
    )


def test_ssim_is_one_for_identical_images_and_lower_otherwise():
    rng = np.random.default_rng(0)
    image = (rng.uniform(size=(32, 32, 3)) * 255).astype(np.uint8)
    assert float(metrics.ssim(image, image)) == pytest.approx(1.0, abs=1e-6)
    assert float(metrics.ssim(255 - image, image)) < 0.5
    tiny = image[:5, :7]
    assert float(metrics.ssim(tiny, tiny)) == pytest.approx(1.0, abs=1e-6)


def test_auc_of_the_ab_error_cdf():
    gray = np.full((2, 2, 3), 0.5, np.float32)
    assert float(metrics.ab_error_auc(gray, gray)) == pytest.approx(1.0, abs=1e-6)
    # Every pixel off by the same ab distance d: the CDF steps from 0 to 1 at d, so the
    # area is (150 - d) / 150 up to the threshold grid's resolution of 1 unit.
    colored = color.lab_to_rgb(np.array([[[53.4, 30.0, 0.0]]], np.float32)).numpy()
    neutral = color.lab_to_rgb(np.array([[[53.4, 0.0, 0.0]]], np.float32)).numpy()
    distance = float(
        np.hypot(
            *np.diff(color.rgb_to_lab(np.concatenate([neutral, colored]))[..., 1:], axis=0)[0, 0]
        )
    )
    expected = (150 - distance) / 150
    assert float(metrics.ab_error_auc(colored, neutral)) == pytest.approx(expected, abs=1 / 150)


def test_colorfulness_matches_hasler_suesstrunk_by_hand():
    image = np.zeros((1, 2, 3), np.uint8)
    image[0, 0] = [255, 0, 0]
    image[0, 1] = [0, 0, 255]
    # rg = [255, 0], yb = [127.5, -255]: std 127.5 and 191.25, means 127.5 and -63.75.
    expected = np.sqrt(127.5**2 + 191.25**2) + 0.3 * np.sqrt(127.5**2 + 63.75**2)
    assert float(metrics.colorfulness(image)) == pytest.approx(expected, rel=1e-5)
    assert float(metrics.colorfulness(np.full((3, 3, 3), 77, np.uint8))) == 0.0


def test_sample_diversity_is_the_mean_pairwise_ab_distance():
    # Three colourings of a 2x2 image with constant ab: (0, 0), (30, 40) and (0, 40) Lab.
    ab = np.array([[0.0, 0.0], [30.0, 40.0], [0.0, 40.0]]) / color.AB_SCALE
    samples = np.broadcast_to(ab[None, :, None, None, :], (1, 3, 2, 2, 2))
    # Pairs: 50, 40 and 30 Lab units apart.
    assert float(metrics.sample_diversity(samples)[0]) == pytest.approx(40.0, abs=1e-4)
    same = np.zeros((2, 2, 4, 4, 2))
    np.testing.assert_allclose(metrics.sample_diversity(same), [0.0, 0.0])
    with pytest.raises(ValueError, match="at least 2"):
        metrics.sample_diversity(np.zeros((1, 1, 2, 2, 2)))
