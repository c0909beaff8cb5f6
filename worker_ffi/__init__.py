"""Python bindings of the worker-orcd C ABI, generated from spec/worker_ffi.yaml.

    lib = worker_ffi.load()                         # contract hash checked here
    with lib.init(0) as ctx, ctx.load_model(path) as model:
        with model.start("prompt", max_tokens=16, temperature=0.0, seed=1) as inf:
            text = "".join(inf)

See docs/python-api.md. Handles are closed explicitly (`close()` or `with`); every non-zero
error code raises a `WorkerFfiError` subclass carrying the code, key, function and detail.
"""

from ffispec_runtime.errors import (
    BindingError,
    ContractMismatchError,
    ErrorInfo,
    HandleClosedError,
    LibraryLoadError,
    LibraryNotFoundError,
    PreconditionError,
)
from ffispec_runtime.handles import FunctionInfo, Handle
from worker_ffi._generated import (
    CONTRACT_HASH,
    CONTRACT_VERSION,
    ERRORS,
    EXCEPTIONS,
    FUNCTIONS,
    CancelledError,
    Context,
    ContractViolationError,
    DeviceNotFoundError,
    Fault,
    Inference,
    InferenceFailedError,
    InvalidDeviceError,
    InvalidParameterError,
    KernelLaunchFailedError,
    Library,
    Model,
    ModelLoadFailedError,
    StopReason,
    UnknownError,
    VramOomError,
    VramResidencyFailedError,
    WorkerFfiError,
    error_for,
    exception_class,
)
from worker_ffi._loader import load

__all__ = [
    "CONTRACT_HASH", "CONTRACT_VERSION", "ERRORS", "EXCEPTIONS", "FUNCTIONS",
    "BindingError", "CancelledError", "Context", "ContractMismatchError",
    "ContractViolationError", "DeviceNotFoundError", "ErrorInfo", "Fault", "FunctionInfo",
    "Handle", "HandleClosedError", "Inference", "InferenceFailedError",
    "InvalidDeviceError", "InvalidParameterError", "KernelLaunchFailedError", "Library",
    "LibraryLoadError", "LibraryNotFoundError", "Model", "ModelLoadFailedError",
    "PreconditionError", "StopReason", "UnknownError", "VramOomError",
    "VramResidencyFailedError", "WorkerFfiError", "error_for", "exception_class", "load",
]
