"""Theano 1.0's ``config`` settings: names, kinds, defaults and the checks Theano applied.

Theano programs read and set settings such as ``theano.config.optimizer``,
``theano.config.dnn.enabled`` or ``theano.config.lib.cnmem``, and set them through
``THEANO_FLAGS`` (``dnn.enabled=False,lib.cnmem=0.8``).  graphc keeps them so such
programs run: every setting here is readable and settable with Theano's default and
Theano's value check, and changes nothing in graphc (ONNX Runtime has no C compiler,
cuDNN switch or memory pool to configure), except ``floatX``, which lives on
:class:`graphc.config.Config` itself, as do ``device`` and the ``warn.*`` flags.

A dotted name is a section: ``config.dnn`` is a :class:`ConfigSection` holding
``enabled``, ``include_path``... and the section ``conv``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Setting", "ConfigSection", "SETTINGS", "install_settings", "convert_bool"]

_TRUE = ("True", "true", "1", True)
_FALSE = ("False", "false", "0", False)


def convert_bool(value: Any, fullname: str) -> bool:
    """Theano's ``BoolParam`` conversion: ``'True'``, ``'true'``, ``'1'``, True and the False forms."""
    if isinstance(value, (bool, str)) and value in _TRUE:
        return True
    if isinstance(value, (bool, str)) and value in _FALSE:
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f'Invalid value ({value}) for configuration variable "{fullname}".')


@dataclass(frozen=True)
class Setting:
    """One Theano setting: its kind (``bool``, ``int``, ``float``, ``str``, ``enum``, ``lazy``) and default.

    ``choices`` lists an enum's values (the default first, as Theano's ``EnumStr``);
    ``valid`` is Theano's extra check of a number.
    """

    kind: str
    default: Any
    choices: tuple[str, ...] = ()
    valid: Callable[[Any], bool] | None = field(default=None, compare=False)

    def convert(self, value: Any, fullname: str) -> Any:
        """``value`` checked and converted as Theano did; ``ValueError`` naming the setting otherwise."""
        bad = f'Invalid value ({value}) for configuration variable "{fullname}".'
        if self.kind == "bool":
            return convert_bool(value, fullname)
        if self.kind == "enum":
            if value not in self.choices:
                raise ValueError(
                    f'Invalid value ("{value}") for configuration variable "{fullname}". '
                    f"Valid options are {self.choices}"
                )
            return value
        if self.kind == "lazy":  # vm.lazy: None, False or True
            for text, result in (("None", None), ("False", False), ("True", True)):
                if value == text or value is result:
                    return result
            raise ValueError(f"Valid values for an vm.lazy parameter should be None, False or True, not `{value}`.")
        try:
            converted = {"int": int, "float": float, "str": str}[self.kind](value)
        except (TypeError, ValueError):
            raise ValueError(bad) from None
        if self.valid is not None and not self.valid(converted):
            raise ValueError(bad)
        return converted


def _enum(*choices: str) -> Setting:
    return Setting("enum", choices[0], choices)


_ON_ERROR = ("ignore", "warn", "raise", "pdb")
_SETERR = ("ignore", "warn", "raise", "call", "print", "log", "None")
_TEST_VALUE = ("off", "ignore", "warn", "raise", "pdb")
_HOME = os.path.expanduser("~")

SETTINGS: dict[str, Setting] = {
    # plain names (floatX, device, init_gpu_device and compute_test_value live on graphc's Config)
    "warn_float64": _enum(*_ON_ERROR),
    "cast_policy": _enum("custom", "numpy+floatX"),
    "int_division": _enum("int", "raise", "floatX"),
    "force_device": Setting("bool", False),
    "print_global_stats": Setting("bool", False),
    "contexts": Setting("str", ""),
    "print_active_device": Setting("bool", True),
    "enable_initial_driver_test": Setting("bool", True),
    "assert_no_cpu_op": _enum(*_ON_ERROR),
    "mode": _enum("Mode", "DebugMode", "FAST_RUN", "NanGuardMode", "FAST_COMPILE", "DEBUG_MODE"),
    "cxx": Setting("str", ""),  # graphc compiles no C++: Theano's value when no compiler is used
    "linker": _enum("cvm", "c|py", "py", "c", "c|py_nogc", "vm", "vm_nogc", "cvm_nogc"),
    "allow_gc": Setting("bool", True),
    "optimizer": _enum("fast_run", "merge", "fast_compile", "None"),
    "optimizer_verbose": Setting("bool", False),
    "on_opt_error": _enum("warn", "raise", "pdb", "ignore"),
    "nocleanup": Setting("bool", False),
    "on_unused_input": _enum("raise", "warn", "ignore"),
    "print_test_value": Setting("bool", False),
    "compute_test_value_opt": _enum(*_TEST_VALUE),
    "unpickle_function": Setting("bool", True),
    "reoptimize_unpickled_function": Setting("bool", False),
    "exception_verbosity": _enum("low", "high"),
    "openmp": Setting("bool", False),
    "openmp_elemwise_minsize": Setting("int", 200000),
    "check_input": Setting("bool", True),
    "cache_optimizations": Setting("bool", False),
    "optimizer_excluding": Setting("str", ""),
    "optimizer_including": Setting("str", ""),
    "optimizer_requiring": Setting("str", ""),
    "profile": Setting("bool", False),
    "profile_optimizer": Setting("bool", False),
    "profile_memory": Setting("bool", False),
    "on_shape_error": _enum("warn", "raise"),
    "deterministic": _enum("default", "more"),
    "cycle_detection": _enum("regular", "fast"),
    "check_stack_trace": _enum("off", "log", "warn", "raise"),
    "pickle_test_value": Setting("bool", True),
    "base_compiledir": Setting("str", os.path.join(_HOME, ".theano")),
    "compiledir_format": Setting("str", "compiledir_%(short_platform)s-%(processor)s-%(python_version)s-%(python_bitwidth)s"),
    "compiledir": Setting("str", os.path.join(_HOME, ".theano", "compiledir")),
    # sections
    "cuda.root": Setting("str", ""),
    "cuda.enabled": Setting("bool", True),
    "nvcc.flags": Setting("str", ""),
    "nvcc.compiler_bindir": Setting("str", ""),
    "nvcc.fastmath": Setting("bool", False),
    "gpuarray.sync": Setting("bool", False),
    "gpuarray.preallocate": Setting("float", 0.0),
    "gpuarray.sched": _enum("default", "multi", "single"),
    "gpuarray.single_stream": Setting("bool", True),
    "dnn.conv.algo_fwd": _enum(
        "small", "none", "large", "fft", "fft_tiling", "winograd", "guess_once", "guess_on_shape_change", "time_once",
        "time_on_shape_change",
    ),
    "dnn.conv.algo_bwd_data": _enum(
        "none", "deterministic", "fft", "fft_tiling", "winograd", "guess_once", "guess_on_shape_change", "time_once",
        "time_on_shape_change",
    ),
    "dnn.conv.algo_bwd_filter": _enum(
        "none", "deterministic", "fft", "small", "guess_once", "guess_on_shape_change", "time_once", "time_on_shape_change"
    ),
    "dnn.conv.precision": _enum("as_input_f32", "as_input", "float16", "float32", "float64"),
    "dnn.include_path": Setting("str", ""),
    "dnn.library_path": Setting("str", ""),
    "dnn.enabled": _enum("auto", "True", "False"),
    "tensor.cmp_sloppy": Setting("int", 0, valid=lambda i: i in (0, 1, 2)),
    "tensor.local_elemwise_fusion": Setting("bool", True),
    "tensor.insert_inplace_optimizer_validate_nb": Setting("int", -1),
    "gpu.local_elemwise_fusion": Setting("bool", True),
    "lib.amdlibm": Setting("bool", False),
    "lib.cnmem": Setting("float", 0.0, valid=lambda v: v >= 0),
    "gpuelemwise.sync": Setting("bool", True),
    "traceback.limit": Setting("int", 8),
    "traceback.compile_limit": Setting("int", 0),
    "experimental.unpickle_gpu_on_cpu": Setting("bool", False),
    "experimental.local_alloc_elemwise": Setting("bool", True, valid=bool),
    "experimental.local_alloc_elemwise_assert": Setting("bool", True),
    "numpy.seterr_all": _enum(*_SETERR),
    "numpy.seterr_divide": _enum("None", *_SETERR[:-1]),
    "numpy.seterr_over": _enum("None", *_SETERR[:-1]),
    "numpy.seterr_under": _enum("None", *_SETERR[:-1]),
    "numpy.seterr_invalid": _enum("None", *_SETERR[:-1]),
    "unittests.rseed": Setting("str", "666", valid=lambda s: s == "random" or s.lstrip("-").isdigit()),
    "NanGuardMode.nan_is_error": Setting("bool", True),
    "NanGuardMode.inf_is_error": Setting("bool", True),
    "NanGuardMode.big_is_error": Setting("bool", True),
    "NanGuardMode.action": _enum("raise", "warn", "pdb"),
    "DebugMode.patience": Setting("int", 10, valid=lambda i: i > 0),
    "DebugMode.check_c": Setting("bool", False),  # Theano: bool(config.cxx), and cxx is empty
    "DebugMode.check_py": Setting("bool", True),
    "DebugMode.check_finite": Setting("bool", True),
    "DebugMode.check_strides": Setting("int", 0, valid=lambda i: i in (0, 1, 2)),
    "DebugMode.warn_input_not_reused": Setting("bool", True),
    "DebugMode.check_preallocated_output": Setting("str", ""),
    "DebugMode.check_preallocated_output_ndim": Setting("int", 4, valid=lambda i: i > 0),
    "profiling.time_thunks": Setting("bool", True),
    "profiling.n_apply": Setting("int", 20, valid=lambda i: i > 0),
    "profiling.n_ops": Setting("int", 20, valid=lambda i: i > 0),
    "profiling.output_line_width": Setting("int", 512, valid=lambda i: i > 0),
    "profiling.min_memory_size": Setting("int", 1024, valid=lambda i: i >= 0),
    "profiling.min_peak_memory": Setting("bool", False),
    "profiling.destination": Setting("str", "stderr"),
    "profiling.debugprint": Setting("bool", False),
    "profiling.ignore_first_call": Setting("bool", False),
    "optdb.position_cutoff": Setting("float", math.inf),
    "optdb.max_use_ratio": Setting("float", 8.0),
    "gcc.cxxflags": Setting("str", ""),
    "cmodule.warn_no_version": Setting("bool", False),
    "cmodule.remove_gxx_opt": Setting("bool", False),
    "cmodule.compilation_warning": Setting("bool", False),
    "cmodule.preload_cache": Setting("bool", False),
    "cmodule.age_thresh_use": Setting("int", 60 * 60 * 24 * 24),
    "blas.ldflags": Setting("str", ""),
    "metaopt.verbose": Setting("bool", False),
    "vm.lazy": Setting("lazy", None),
    "scan.allow_gc": Setting("bool", False),
    "scan.allow_output_prealloc": Setting("bool", True),
    "scan.debug": Setting("bool", False),
    "pycuda.init": Setting("bool", False),
    "cublas.lib": Setting("str", "cublas"),
    "compile.wait": Setting("int", 5, valid=lambda i: i > 0),
    "compile.timeout": Setting("int", 120, valid=lambda i: i >= 0),
    "magma.enabled": Setting("bool", False),
    "magma.include_path": Setting("str", ""),
    "magma.library_path": Setting("str", ""),
    "ctc.root": Setting("str", ""),
    "conv.assert_shape": Setting("bool", False),
}
"""Theano 1.0's settings by full name (``'dnn.conv.algo_fwd'``), with their defaults and checks."""


class ConfigSection:
    """A dotted part of Theano's config: ``config.dnn`` holds ``enabled``, ``conv``...

    Settings read as attributes; setting one applies Theano's check.  An unknown name
    raises ``AttributeError``, as Theano's config does.
    """

    def __init__(self, path: str) -> None:
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_settings", {})

    def _add(self, name: str, setting: Setting) -> None:
        self._settings[name] = setting
        object.__setattr__(self, name, setting.default)

    def _section(self, name: str) -> ConfigSection:
        found = self.__dict__.get(name)
        if not isinstance(found, ConfigSection):
            found = ConfigSection(f"{self._path}.{name}")
            object.__setattr__(self, name, found)
        return found

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"config.{self._path} has no setting {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        setting = self._settings.get(name)
        if setting is None:
            what = "a section" if isinstance(self.__dict__.get(name), ConfigSection) else "no setting"
            raise AttributeError(f"config.{self._path} has {what} {name!r}")
        object.__setattr__(self, name, setting.convert(value, f"{self._path}.{name}"))

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"ConfigSection({self._path!r}: {shown})"


def install_settings(config: Any) -> None:
    """Give ``config`` every setting of :data:`SETTINGS` it lacks, at Theano's default.

    Plain names become attributes; dotted names, :class:`ConfigSection` attributes.
    Values already there (set by the program or by earlier flags) stay.
    """
    for fullname, setting in SETTINGS.items():
        *sections, name = fullname.split(".")
        if not sections:
            if name not in vars(config) and not hasattr(type(config), name):
                setattr(config, name, setting.default)
            continue
        holder = vars(config).get(sections[0])
        if not isinstance(holder, ConfigSection):
            holder = ConfigSection(sections[0])
            setattr(config, sections[0], holder)
        for part in sections[1:]:
            holder = holder._section(part)
        if name not in holder._settings:
            holder._add(name, setting)
