"""``python -m worker --model PATH --backend host|cuda --gpu-device N --port P``."""

import sys

from .cli import main

sys.exit(main())
