"""kcolor.evaluation's contact sheet: rows of photos of any orientation, no blank blocks."""

import numpy as np
from PIL import Image

from kcolor import evaluation


def test_a_sheet_of_portrait_and_landscape_rows_has_no_blank_beside_a_row(tmp_path):
    rng = np.random.default_rng(0)
    landscape = [rng.integers(0, 200, (60, 90, 3), dtype=np.uint8) for _ in range(3)]
    portrait = [rng.integers(0, 200, (90, 60, 3), dtype=np.uint8) for _ in range(3)]
    path = tmp_path / "sheet.png"
    evaluation.contact_sheet([landscape, portrait], str(path), height=30)
    sheet = np.asarray(Image.open(path))
    # The landscape row sets the width (3 x 45 pixels at height 30); the portrait row
    # (3 x 20 at height 30) is scaled to that width, so it is 67 or 68 rows tall.
    assert sheet.shape[1] == 135
    assert sheet.shape[0] in (30 + 67, 30 + 68)
    # No white block: the photos' pixels are below 200 everywhere on the sheet.
    assert sheet.max() < 230
