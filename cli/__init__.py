"""The `asr` command-line interface (installed as the package `asr_cli`)."""
