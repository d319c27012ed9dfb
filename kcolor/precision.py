"""The numeric precision a colorizer runs in, and which one this machine runs fastest.

``float32``
    The model as trained.
``bfloat16``
    Keras' ``mixed_bfloat16`` policy: convolutions and matrix products in bfloat16,
    weights, histograms and decoding in float32. About 1.6x faster than float32 on CPUs
    that compute bfloat16 natively (AVX512-BF16 or AMX); on others it is emulated and
    slower than float32.
``int8``
    The network converted to a dynamic-range int8 TFLite model (int8 weights, float
    activations) and run with ``ai-edge-litert``; see :mod:`kcolor.deploy.int8`.
``auto``
    ``bfloat16`` where the CPU computes it natively, ``float32`` elsewhere.
"""

import contextlib
import functools
import json
import os
import weakref

import keras

from kcolor.errors import ConfigError

PRECISIONS = ("auto", "float32", "bfloat16", "int8")
# CPU feature flags (as Linux names them in /proc/cpuinfo) of native bfloat16 arithmetic:
# AVX512-BF16 (Cooper Lake, Zen 4 and later) and AMX (Sapphire Rapids and later).
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
_CPUINFO = "/proc/cpuinfo"


def cpu_flags(cpuinfo: str = _CPUINFO) -> frozenset[str]:
    """The CPU feature flags the kernel reports; empty where there is no ``/proc/cpuinfo``
    (macOS, Windows), so ``auto`` stays float32 there rather than guessing."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


@functools.lru_cache(maxsize=1)
def native_bfloat16() -> bool:
    """True when this CPU computes bfloat16 natively (AVX512-BF16 or AMX)."""
    return any(flag in cpu_flags() for flag in BFLOAT16_CPU_FLAGS)


def resolve(precision: str, bfloat16_is_faster: bool = True) -> str:
    """``precision`` with ``auto`` replaced by this machine's choice: bfloat16 where the
    CPU computes it natively and the model runs faster in it (``bfloat16_is_faster``, a
    model's attribute of that name), float32 otherwise.

    Raises:
        ValueError: ``precision`` is not one of :data:`PRECISIONS`.
    """
    if precision not in PRECISIONS:
        raise ConfigError(
            f"precision must be one of {', '.join(PRECISIONS)}. Received: {precision!r}"
        )
    if precision == "auto":
        return "bfloat16" if bfloat16_is_faster and native_bfloat16() else "float32"
    return precision


def config_key(model: keras.Model) -> str:
    """``model``'s config as canonical JSON: equal for models built the same way, changed
    by any setting (a decoding option, say) that changes what the model computes."""
    return json.dumps(model.get_config(), sort_keys=True, default=str)


# One copy per model object, policy and config: building one takes a second or two, and
# kcolor.colorize in a loop asks for it on every call.
_POLICY_COPIES = weakref.WeakKeyDictionary()


def in_policy(model: keras.Model, policy: str) -> keras.Model:
    """A copy of ``model`` under the dtype ``policy`` with its current weights.

    Built from the model's config with every (nested) model's ``dtype`` set to that
    policy, while it is also the global one, for layers made without a config of their
    own (the global policy is put back afterwards). The copy is made once per model,
    policy and config, and given the model's weights on every call, so a model trained
    further, or with changed decoding settings, is copied as it is now.
    """
    key = config_key(model)
    copies = _POLICY_COPIES.setdefault(model, {})
    cached = copies.get(policy)
    if cached is None or cached[0] != key:
        with policy_scope(policy):
            config = _with_dtype_policy(model.get_config(), policy)
            copy = type(model).from_config(config)
        cached = copies[policy] = (key, copy)
    copy = cached[1]
    copy.set_weights(model.get_weights())
    return copy


def in_bfloat16(model: keras.Model) -> keras.Model:
    """A copy of ``model`` under the ``mixed_bfloat16`` policy (see :func:`in_policy`)."""
    return in_policy(model, "mixed_bfloat16")


def in_float32(model: keras.Model) -> keras.Model:
    """``model`` if it computes in float32, else a float32 copy of it (a model saved while
    it trained in mixed precision computes in bfloat16 until copied)."""
    return model if model.compute_dtype == "float32" else in_policy(model, "float32")


@contextlib.contextmanager
def policy_scope(policy):
    """Make layers under ``policy`` (a dtype policy or its name): Keras gives a layer the
    global policy when it is made, so that is set for the block and restored after it."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _with_dtype_policy(config, policy: str):
    """``config`` (a model's ``get_config()``, nested models included) with every
    ``dtype`` entry replaced by ``policy``."""
    if isinstance(config, dict):
        return {
            key: policy if key == "dtype" else _with_dtype_policy(value, policy)
            for key, value in config.items()
        }
    if isinstance(config, list):
        return [_with_dtype_policy(item, policy) for item in config]
    return config


def user_cache_folder() -> str:
    """kcolor's folder in the user's cache (``$XDG_CACHE_HOME/kcolor``, by default
    ``~/.cache/kcolor``), as the XDG base directory specification places caches."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kcolor")
