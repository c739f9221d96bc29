"""The local process supervisor behind `make demo` / `make run`."""
