"""The stream job's options: one model, from which the job's flags and the DAG's arguments come."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import MISSING, fields

import pytest
from readme import readme_section

from lakehouse.spark import options
from lakehouse.spark.options import StreamOptions


def test_the_readme_documents_every_flag_with_its_default_and_variable() -> None:
    rows = {
        line.split("|")[1].strip(): line
        for line in readme_section("The stream job").splitlines()
        if line.startswith("| `--")
    }
    for option_field, option in options.job_options():
        row = rows.get(f"`{options.flag(option_field)}`")
        assert row is not None, f"README does not document {options.flag(option_field)}"
        if option.variable:
            assert f"`{options.variable_name(option_field)}`" in row
        if isinstance(option_field.default, int | float) and not isinstance(
            option_field.default, bool
        ):
            assert f"| {option_field.default} |" in row
    assert set(rows) == {f"`{options.flag(f)}`" for f, _ in options.job_options()}


def test_the_command_line_defaults_are_the_models() -> None:
    parsed = options.parse_options(["--lake-uri", "s3a://lake"], "job")
    assert parsed == StreamOptions("s3a://lake")
    assert parsed.checkpoint("raw_to_bronze") == "s3a://lake/_checkpoints/raw_to_bronze"


def test_flags_set_fields_and_bounds_are_enforced() -> None:
    parsed = options.parse_options(
        ["--lake-uri", "/tmp/l", "--once", "--no-progress", "--trigger-seconds", "0.5",
         "--max-files-per-trigger", "7", "--vacuum-minutes", "0", "--checkpoint-uri", "/cp"],
        "job",
    )  # fmt: skip
    assert (parsed.once, parsed.progress, parsed.trigger_seconds) == (True, False, 0.5)
    assert (parsed.max_files_per_trigger, parsed.vacuum_minutes) == (7, 0.0)
    assert parsed.checkpoint("q") == "/cp/q"
    for bad in (["--trigger-seconds", "0"], ["--vacuum-minutes", "-1"]):
        with pytest.raises(SystemExit):
            options.parse_options(["--lake-uri", "x", *bad], "job")
    with pytest.raises(SystemExit):
        options.parse_options([], "job")  # --lake-uri is required


def test_every_field_but_the_stop_timeout_is_a_flag() -> None:
    flagged = {f.name for f, _ in options.job_options()}
    assert {f.name for f in fields(StreamOptions)} - flagged == {"stop_timeout_seconds"}
    required = [f.name for f, _ in options.job_options() if f.default is MISSING]
    assert required == ["lake_uri"]


def test_the_dag_arguments_template_todays_variables() -> None:
    args = options.dag_arguments(lake_uri="s3a://lake", lease_ttl_seconds="60")
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    assert pairs["--lake-uri"] == "s3a://lake" and pairs["--lease-ttl-seconds"] == "60"
    assert pairs["--trigger-seconds"] == (
        "{{ var.value.get('lakehouse_stream_trigger_seconds', '5.0') }}"
    )
    for name in ("max_files_per_trigger", "optimize_minutes", "vacuum_minutes",
                 "vacuum_retain_hours"):  # fmt: skip
        assert f"var.value.get('lakehouse_stream_{name}'" in pairs[f"--{name.replace('_', '-')}"]
    with pytest.raises(ValueError, match="trigger_secs"):
        options.dag_arguments(trigger_secs="5")


def test_the_options_module_imports_no_pyspark() -> None:
    """The DAG file imports it at parse time, where pyspark must not be loaded."""
    probe = (
        "import sys, lakehouse.spark.options; "
        "sys.exit(any(m.split('.')[0] == 'pyspark' for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0
