"""Theano's config settings and THEANO_FLAGS with dotted names, checked and converted as Theano does."""

from __future__ import annotations

import math
import warnings

import pytest

from graphc.compat.flags import TheanoConfigWarning, apply_theano_flags, parse_theano_flags
from graphc.compat.theano_config import SETTINGS, ConfigSection, install_settings
from graphc.config import Config


@pytest.fixture
def config() -> Config:
    """A fresh Config, so no test changes graphc's own."""
    return Config()


def test_every_setting_has_theano_default_and_is_readable(config: Config) -> None:
    install_settings(config)
    for fullname, setting in SETTINGS.items():
        holder = config
        for part in fullname.split("."):
            holder = getattr(holder, part)
        assert holder == setting.default or (isinstance(holder, float) and math.isinf(holder)), fullname
    assert isinstance(config.dnn, ConfigSection) and isinstance(config.dnn.conv, ConfigSection)
    assert (config.dnn.enabled, config.lib.cnmem, config.gcc.cxxflags, config.optimizer) == ("auto", 0.0, "", "fast_run")
    assert config.dnn.conv.algo_fwd == "small" and config.scan.allow_gc is False and config.vm.lazy is None


def test_dotted_flags_set_typed_values(config: Config) -> None:
    flags = "warn.round=False,floatX=64,dnn.enabled=False,lib.cnmem=0.8,gcc.cxxflags='-O3 -march=native',allow_gc=0"
    got = apply_theano_flags(flags + ",dnn.conv.algo_bwd_filter=deterministic,vm.lazy=True,traceback.limit=-1", config)
    assert got["lib.cnmem"] == "0.8"
    assert config.warn.round is False and config.floatX == "float64"
    assert config.dnn.enabled == "False"  # an enum of strings in Theano, not a bool
    assert config.lib.cnmem == 0.8 and isinstance(config.lib.cnmem, float)
    assert config.gcc.cxxflags == "-O3 -march=native"
    assert config.allow_gc is False
    assert config.dnn.conv.algo_bwd_filter == "deterministic" and config.vm.lazy is True
    assert config.traceback.limit == -1


def test_settings_checked_when_set_later(config: Config) -> None:
    install_settings(config)
    config.dnn.enabled = "True"
    config.profiling.n_apply = "7"
    assert config.dnn.enabled == "True" and config.profiling.n_apply == 7
    with pytest.raises(ValueError, match=r'Invalid value \("yes"\) for configuration variable "dnn.enabled"'):
        config.dnn.enabled = "yes"
    with pytest.raises(ValueError, match='configuration variable "profiling.n_apply"'):
        config.profiling.n_apply = 0
    with pytest.raises(AttributeError, match="config.dnn has no setting 'frobnicate'"):
        config.dnn.frobnicate = 1
    with pytest.raises(AttributeError, match="config.dnn has no setting 'frobnicate'"):
        _ = config.dnn.frobnicate
    with pytest.raises(AttributeError, match="config.dnn has a section 'conv'"):
        config.dnn.conv = "x"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ("floatX=float128", r'Invalid value \("float128"\) for configuration variable "floatX"'),
        ("allow_gc=maybe", r'Invalid value \(maybe\) for configuration variable "allow_gc"'),
        ("lib.cnmem=-0.5", r'Invalid value \(-0.5\) for configuration variable "lib.cnmem"'),
        ("tensor.cmp_sloppy=3", "tensor.cmp_sloppy"),
        ("optimizer=fast", r"Valid options are \('fast_run', 'merge', 'fast_compile', 'None'\)"),
        ("warn.round=maybe", "config.warn.round must be True or False"),
        ("device=tpu", 'Valid options start with one of "cpu", "gpu", "opencl", "cuda"'),
        ("vm.lazy=sometimes", "vm.lazy"),
    ],
)
def test_values_theano_refuses(config: Config, flags: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        apply_theano_flags(flags, config)


def test_device_accepted_but_graphc_keeps_cpu(config: Config) -> None:
    apply_theano_flags("device=cuda0,init_gpu_device=gpu1", config)
    assert config.device == "cpu"


def test_unknown_and_valueless_flags_warn_and_are_ignored(config: Config) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = apply_theano_flags("frobnicate=1,dnn.frob=2,warn.nonsense=3,floatX,floatX=float64", config)
    texts = [str(w.message) for w in caught]
    for name in ("frobnicate", "dnn.frob", "warn.nonsense"):
        assert f"Theano does not recognise this flag: {name}" in texts
    assert "Config key 'floatX' has no value, ignoring it" in texts
    assert any(issubclass(w.category, TheanoConfigWarning) for w in caught)
    assert got == {"frobnicate": "1", "dnn.frob": "2", "warn.nonsense": "3", "floatX": "float64"}
    assert config.floatX == "float64" and not hasattr(config, "frobnicate")


def test_quoted_values_keep_their_commas() -> None:
    assert parse_theano_flags('gcc.cxxflags="-O3,-g",blas.ldflags=-lopenblas') == {
        "gcc.cxxflags": "-O3,-g",
        "blas.ldflags": "-lopenblas",
    }
    with pytest.raises(ValueError, match="THEANO_FLAGS: cannot parse"):
        parse_theano_flags('gcc.cxxflags="-O3')


def test_flags_keep_values_the_program_set(config: Config) -> None:
    install_settings(config)
    config.optimizer = "fast_compile"
    config.dnn.enabled = "False"
    apply_theano_flags("lib.cnmem=1", config)
    assert (config.optimizer, config.dnn.enabled, config.lib.cnmem) == ("fast_compile", "False", 1.0)
