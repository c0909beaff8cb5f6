"""Provider plug-ins shipped with the suite, one package per interface name."""
