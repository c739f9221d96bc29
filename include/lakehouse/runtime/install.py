"""Installs what the stack needs beside the Python packages, once, into the project's .tools folder.

MinIO's community edition ships as source only: it is built with `go install` at a pinned version.
Its RELEASE.* tags are not semantic versions, so the pin is the Go pseudo-version of the final
commit of the archived repository (2026-02-12, after RELEASE.2025-10-15T17-29-55Z), which the Go
module proxy serves and the checksum database verifies. Spark's jars are resolved from Maven
Central by Spark's own Ivy into a cache that every later spark-submit reuses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from lakehouse.spark.packages import DELTA_SPARK, SPARK_EXCLUDED_PACKAGES, SPARK_PACKAGES

MINIO_MODULE = "github.com/minio/minio"
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"


class InstallError(RuntimeError):
    """A prerequisite is missing or a download failed; the message names the fix."""


def require_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise InstallError(
            "Java is not installed: Spark needs a JDK 17 or 21 "
            "(Debian/Ubuntu: apt-get install openjdk-17-jdk-headless; "
            "macOS: brew install openjdk@17)."
        )
    return java


def minio_binary(tools_dir: Path) -> Path:
    return tools_dir / "bin" / "minio"


def ensure_minio(tools_dir: Path) -> Path:
    """Build MinIO from its Go module at the pinned version unless it is there already."""
    binary = minio_binary(tools_dir)
    if binary.exists():
        return binary
    go = shutil.which("go")
    if go is None:
        raise InstallError(
            "Go is not installed, and MinIO is built from source: install Go >= 1.24 "
            "(https://go.dev/doc/install, or apt-get install golang-go on a recent Debian)."
        )
    print(f"building MinIO {MINIO_VERSION} with go install (a few minutes, once)...", flush=True)
    env = {**os.environ, "GOBIN": str(binary.parent), "CGO_ENABLED": "0"}
    result = subprocess.run(
        [go, "install", f"{MINIO_MODULE}@{MINIO_VERSION}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not binary.exists():
        raise InstallError(
            f"go install {MINIO_MODULE}@{MINIO_VERSION} failed (is the Go module proxy "
            f"reachable? GOPROXY={os.environ.get('GOPROXY', 'default')}):\n{result.stderr[-2000:]}"
        )
    return binary


def ivy_dir(tools_dir: Path) -> Path:
    return tools_dir / "ivy"


def spark_jars_ready(tools_dir: Path) -> bool:
    group, artifact, version = DELTA_SPARK.split(":")
    return (ivy_dir(tools_dir) / "jars" / f"{group}_{artifact}-{version}.jar").exists()


def ensure_spark_jars(tools_dir: Path) -> Path:
    """Resolve Delta and hadoop-aws (with the AWS SDK bundle) into the Ivy cache, once."""
    cache = ivy_dir(tools_dir)
    if spark_jars_ready(tools_dir):
        return cache
    require_java()
    print("resolving Spark jars from Maven Central (about 700 MB, once)...", flush=True)
    spark_submit = Path(sys.executable).parent / "spark-submit"
    noop = Path(__file__).with_name("noop_spark_app.py")
    env = {**os.environ, "PATH": f"{spark_submit.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [
            str(spark_submit),
            "--master",
            "local[1]",
            "--conf",
            f"spark.jars.ivy={cache}",
            "--packages",
            ",".join(SPARK_PACKAGES),
            "--exclude-packages",
            ",".join(SPARK_EXCLUDED_PACKAGES),
            str(noop),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not spark_jars_ready(tools_dir):
        raise InstallError(
            "resolving Spark jars failed (is Maven Central reachable?):\n" + result.stderr[-3000:]
        )
    return cache
