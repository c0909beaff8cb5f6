"""ffispec: generate and check a C ABI from one YAML contract."""

__version__ = "1.0.0"
