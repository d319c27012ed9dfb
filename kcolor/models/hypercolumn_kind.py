"""The ``hypercolumn`` model kind (Larsson et al. 2016) as ``kcolor train`` builds it."""

from kcolor.models import registry
from kcolor.models.hypercolumn import HypercolumnColorizer
from kcolor.models.trunks import kind_of as trunk_kind


def build(request: registry.BuildRequest) -> HypercolumnColorizer:
    """A compiled hypercolumn model: the architecture of ``init_from`` (when it is a
    model) with ``model_args`` on top; the trunk starts from ``model_args.trunk_weights``
    (default: the trunk's own default, e.g. HED for VGG16), or every weight from
    ``init_from``."""
    arguments = {**request.source_config(), **request.model_args, "seed": request.seed}
    trunk = arguments.get("trunk", "vgg16")
    trunk_weights = arguments.pop("trunk_weights", trunk_kind(trunk).default_weights)
    model = HypercolumnColorizer.from_config(arguments)
    if request.source is None and trunk_weights is not None:
        model.load_trunk_weights(trunk_weights)
    request.copy_weights(model)
    model.compile(optimizer=request.optimizer(request.learning_rate, 1))
    return model


def prepare(model: HypercolumnColorizer, batches, settings: dict, fresh: bool) -> None:
    """Rescale the taps on a training batch (fresh runs with ``calibrate``), and count
    the colour prior of class rebalancing (at every start, resumed runs too: the same
    seeded batches give the same prior, and it is not part of the saved weights)."""
    if fresh and settings["calibrate"]:
        model.calibrate(next(iter(batches))[0])
    if model.rebalance is not None:
        model.estimate_color_prior(batches.take(settings["prior_batches"]))


KIND = registry.register(
    registry.ModelKind(
        name="hypercolumn",
        description="Larsson et al. 2016: per-pixel colour histograms from hypercolumns",
        # Features are size-free; 128 is where this package's measurements were made.
        run_defaults={
            "image_size": 128,
            "batch_size": 16,
            "optimizer": "adam",
            "learning_rate": 1e-4,
        },
        settings={
            "calibrate": registry.Setting(
                True, bool, doc="rescale the taps on the first batch of a fresh run"
            ),
            "prior_batches": registry.Setting(
                20, int, at_least=1, doc="batches the rebalancing colour prior is counted on"
            ),
        },
        build=build,
        prepare=prepare,
    )
)
