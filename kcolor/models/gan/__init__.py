"""Cao et al. 2017, *Unsupervised Diverse Colorization via Generative Adversarial Networks*.

A conditional GAN whose generator never changes resolution: every convolution has stride
1 and sees the gray image L concatenated to its input, so each output pixel is computed at
full resolution; noise concatenated to the first layers makes each draw a different,
plausible colouring. The critic scores (L, ab) pairs; training is a Wasserstein GAN with
weight clipping (the paper) or a gradient penalty, or a standard cross-entropy GAN.

Tensors follow kcolor's model contract (:mod:`kcolor.color`): ``L_norm = L / 50 - 1`` in
[-1, 1], shape (B, H, W, 1); ``ab_norm = ab / 110``, shape (B, H, W, 2), channel order a, b.

Reference: https://arxiv.org/abs/1702.06674 and its code, github.com/ccyyatnet/COLORGAN.
docs/papers.md maps the paper to this package and lists where kcolor departs from it.

kcolor.models.gan.generator    DiverseColorGenerator (the paper's generator), GuideOffset,
                               draw_noise.
kcolor.models.gan.guided       GuidedColorGenerator (kcolor's guided variant).
kcolor.models.gan.critic       ColorCritic.
kcolor.models.gan.adversarial  DiverseColorGAN (losses, train_step), gan_parts.
"""

from kcolor.models.gan.adversarial import DiverseColorGAN, gan_parts
from kcolor.models.gan.critic import ColorCritic
from kcolor.models.gan.generator import (
    DiverseColorGenerator,
    GuideOffset,
    draw_noise,
    sample_colorings,
    sample_colourings,
)
from kcolor.models.gan.guided import GuidedColorGenerator

__all__ = [
    "ColorCritic",
    "DiverseColorGAN",
    "DiverseColorGenerator",
    "GuideOffset",
    "GuidedColorGenerator",
    "draw_noise",
    "gan_parts",
    "sample_colorings",
    "sample_colourings",
]
