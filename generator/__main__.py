"""`python -m generator` is the same as the `ffispec` console script."""

from generator.cli import main

raise SystemExit(main())
