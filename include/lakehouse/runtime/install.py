"""Installs what the stack needs beside the Python packages, once, into the project's .tools folder.

MinIO's community edition ships as source only: it is built with `go install` at a pinned version.
Its RELEASE.* tags are not semantic versions, so the pin is the Go pseudo-version of the final
commit of the archived repository (2026-02-12, after RELEASE.2025-10-15T17-29-55Z), which the Go
module proxy serves and the checksum database verifies. Spark's jars are resolved from Maven
Central by Spark's own Ivy into a cache that every later spark-submit reuses. The lake's Delta log
store (lakehouse/spark/ConditionalPutLogStore.java) is compiled against those jars with the JDK's
javac: it is one small class, not worth a Maven build or a published artifact. The PostgreSQL JDBC
driver of Spark's Hive metastore is one jar without dependencies, fetched from Maven Central and
checked against its pinned SHA-256; it goes on the driver's class path (DataNucleus loads the driver
through the JVM's class path, not through the jars Spark adds with --jars or --packages).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from lakehouse.spark.packages import (
    DELTA_SPARK,
    DELTA_STORAGE,
    HADOOP_AWS,
    LOGSTORE_SOURCE,
    SPARK_EXCLUDED_PACKAGES,
    SPARK_PACKAGES,
    logstore_jar_name,
)

MINIO_MODULE = "github.com/minio/minio"
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"
JDBC_DRIVER = "org.postgresql:postgresql:42.7.14"
JDBC_DRIVER_SHA256 = "73914527305a40cce504b0d3d90b23caf565136912d607ae8ae7c5895512332c"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"


class InstallError(RuntimeError):
    """A prerequisite is missing or a download failed; the message names the fix."""


JDK_HINT = "Debian/Ubuntu: apt-get install openjdk-17-jdk-headless; macOS: brew install openjdk@17"
JAVA_NEEDED = f"Spark needs a JDK 17 or 21 ({JDK_HINT})."
JAVAC_NEEDED = (
    f"the lake's Delta log store is compiled at install and needs a JDK 17+, not only a JRE "
    f"({JDK_HINT})."
)
GO_NEEDED = (
    "MinIO is built from source: install Go >= 1.24 "
    "(https://go.dev/doc/install, or apt-get install golang-go on a recent Debian)."
)


def require_tool(name: str, needed_for: str) -> str:
    """The tool's path on PATH, or an error saying what needs it and how to install it."""
    found = shutil.which(name)
    if found is None:
        raise InstallError(f"{name} is not installed: {needed_for}")
    return found


def minio_binary(tools_dir: Path) -> Path:
    return tools_dir / "bin" / "minio"


def ensure_minio(tools_dir: Path) -> Path:
    """Build MinIO from its Go module at the pinned version unless it is there already."""
    binary = minio_binary(tools_dir)
    if binary.exists():
        return binary
    go = require_tool("go", GO_NEEDED)
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


def ivy_jar(tools_dir: Path, coordinate: str) -> Path:
    """Where Spark's Ivy puts the jar of a resolved `group:artifact:version`."""
    group, artifact, version = coordinate.split(":")
    return ivy_dir(tools_dir) / "jars" / f"{group}_{artifact}-{version}.jar"


def spark_jars_ready(tools_dir: Path) -> bool:
    return ivy_jar(tools_dir, DELTA_SPARK).exists()


def ensure_spark_jars(tools_dir: Path) -> Path:
    """Resolve Delta and hadoop-aws (with the AWS SDK bundle) into the Ivy cache, once."""
    cache = ivy_dir(tools_dir)
    if spark_jars_ready(tools_dir):
        return cache
    require_tool("java", JAVA_NEEDED)
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


def jars_dir(tools_dir: Path) -> Path:
    """The project's own jars (the Delta log store), beside the Ivy cache of Maven's."""
    return tools_dir / "jars"


def logstore_jar(tools_dir: Path) -> Path:
    return jars_dir(tools_dir) / logstore_jar_name()


def ensure_logstore_jar(tools_dir: Path) -> Path:
    """Compile the log store into its jar unless the jar of this source version is there already.

    Older jars stay: they are a few kB, and another checkout sharing the tools may still use one.
    """
    jar = logstore_jar(tools_dir)
    if jar.exists():
        return jar
    javac = require_tool("javac", JAVAC_NEEDED)
    ensure_spark_jars(tools_dir)
    with tempfile.TemporaryDirectory() as tmp:
        classes = Path(tmp) / "classes"
        _compile(javac, _logstore_classpath(tools_dir), classes)
        jar.parent.mkdir(parents=True, exist_ok=True)
        partial = jar.with_name(f".{jar.name}.{os.getpid()}")
        _write_jar(classes, partial)
        partial.replace(jar)  # atomic: a concurrent reader never sees half a jar
    return jar


def jdbc_jar(tools_dir: Path) -> Path:
    _, artifact, version = JDBC_DRIVER.split(":")
    return jars_dir(tools_dir) / f"{artifact}-{version}.jar"


def ensure_jdbc_jar(tools_dir: Path) -> Path:
    """Download the metastore's PostgreSQL JDBC driver unless it is there already."""
    jar = jdbc_jar(tools_dir)
    if jar.exists():
        return jar
    group, artifact, version = JDBC_DRIVER.split(":")
    url = f"{MAVEN_CENTRAL}/{group.replace('.', '/')}/{artifact}/{version}/{jar.name}"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read()
    except OSError as exc:
        raise InstallError(
            f"downloading {url} failed (is Maven Central reachable?): {exc}"
        ) from exc
    digest = hashlib.sha256(body).hexdigest()
    if digest != JDBC_DRIVER_SHA256:
        raise InstallError(f"{url} has SHA-256 {digest}, expected {JDBC_DRIVER_SHA256}")
    jar.parent.mkdir(parents=True, exist_ok=True)
    partial = jar.with_name(f".{jar.name}.{os.getpid()}")
    partial.write_bytes(body)
    partial.replace(jar)  # atomic, as the log store's jar
    return jar


def _logstore_classpath(tools_dir: Path) -> list[Path]:
    """delta-storage and hadoop-aws from the Ivy cache; Hadoop's API from pyspark's own jars."""
    spec = importlib.util.find_spec("pyspark")  # located, not imported
    pyspark_jars = Path(spec.origin).parent / "jars" if spec and spec.origin else Path("pyspark")
    hadoop_api = sorted(pyspark_jars.glob("hadoop-client-api-*.jar"))[-1:] or [
        pyspark_jars / "hadoop-client-api-*.jar"
    ]
    jars = [ivy_jar(tools_dir, DELTA_STORAGE), ivy_jar(tools_dir, HADOOP_AWS), *hadoop_api]
    missing = [str(jar) for jar in jars if not jar.exists()]
    if missing:
        raise InstallError(f"cannot compile the log store, jars missing: {', '.join(missing)}")
    return jars


def _compile(javac: str, classpath: list[Path], out: Path) -> None:
    argv = [javac, "--release", "17", "-Xlint:all", "-Werror", "-d", str(out)]
    argv += ["-cp", os.pathsep.join(map(str, classpath)), str(LOGSTORE_SOURCE)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise InstallError(f"compiling {LOGSTORE_SOURCE.name} failed:\n{result.stderr[-3000:]}")


def _write_jar(classes: Path, jar: Path) -> None:
    with zipfile.ZipFile(jar, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
        for path in sorted(classes.rglob("*.class")):
            zf.write(path, path.relative_to(classes).as_posix())
