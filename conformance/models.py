"""The worker's test models, kept importable here (`python -m conformance.models OUT_DIR`,
`from conformance import models`); they live in the worker plug-in."""

import sys

from conformance.plugins.worker_ffi import models as _models

if __name__ == "__main__":
    raise SystemExit(_models.main())
sys.modules[__name__] = _models
