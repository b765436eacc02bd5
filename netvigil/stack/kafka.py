"""A single-node Apache Kafka 4 broker (KRaft) for the local stack, built from Maven Central.

Why this way: Kafka is in neither Debian nor PyPI, there is no Docker engine,
and Maven Central is the one registry these machines reach that carries it.
The broker is the ``org.apache.kafka:kafka_2.13`` artifact plus its runtime
dependencies, gathered by Maven from ``resources/kafka/pom.xml`` into
``<home>/kafka/lib-<version>/`` (Maven's own cache, ``~/.m2``, keeps
re-downloads cheap). The start recipe mirrors what ``kafka-storage.sh`` and
``kafka-server-start.sh`` do in the release tarball:

1. write ``server.properties`` (one node that is broker and controller);
2. once per data directory: ``java -cp 'lib/*' kafka.tools.StorageTool format
   -t <cluster id> -c server.properties``;
3. ``java -Xmx<heap> -cp 'lib/*' -Dlog4j2.configurationFile=... kafka.Kafka
   server.properties``.

The controller quorum is *static* (``controller.quorum.voters``), not the
``--standalone`` dynamic quorum: a static quorum keeps the controller port out
of the formatted metadata, so changing ``stack.kafka_controller_port`` later
needs no re-format.

Logs: log4j2 writes ``<home>/kafka/server.log`` (see the log4j2 config for
why); ``kafka.log`` only receives the JVM's own stdout/stderr (crashes, a
missing main class, out-of-memory).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import shutil
import subprocess
import uuid
from pathlib import Path

from netvigil.kafka_admin import RoundTripError, broker_count, ensure_topics_async, round_trip, run_sync
from netvigil.stack.base import Service, StackError, apt_install, port_open

__all__ = ["KafkaService"]

log = logging.getLogger(__name__)

RESOURCES = Path(__file__).resolve().parent / "resources" / "kafka"
MARKER = ".netvigil-complete"
MIN_JAVA = 17  # Kafka 4 brokers require Java 17+
CHECK_TOPIC = "stack-check"
CHECK_TIMEOUT = 30.0  # seconds for each half of the round trip


def _cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding.

    Same rules as Kafka's ``Uuid.randomUuid`` (not all-zero, not starting
    with '-', which the command line would read as an option), so no JVM has
    to start just to print one.
    """
    while True:
        raw = uuid.uuid4().bytes
        text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        if raw != bytes(16) and not text.startswith("-"):
            return text


class KafkaService(Service):
    """Kafka broker+controller on ``stack.bind:stack.kafka_port`` with data in ``.local/kafka``."""

    name = "kafka"
    # First JVM start plus KRaft self-election; ~3 s on a warm machine, far
    # more on a cold, loaded CI box.
    start_timeout = 120.0
    # Sizes of server.log and kafka.log when the last launch began.
    _log_offsets: tuple[int, int] = (0, 0)

    @property
    def port(self) -> int:
        return self.settings.stack.kafka_port

    @property
    def version(self) -> str:
        return self.settings.stack.kafka_version

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def libdir(self) -> Path:
        return self.home / f"lib-{self.version}"

    @property
    def datadir(self) -> Path:
        return self.home / "data"

    @property
    def config_file(self) -> Path:
        return self.home / "server.properties"

    @property
    def broker_log(self) -> Path:
        return self.home / "server.log"

    # -- install ---------------------------------------------------------------
    def install(self) -> None:
        """Java, the broker jars for the configured version, config, formatted storage."""
        jars_ready = self._jars_complete()
        if jars_ready:
            apt_install(["default-jre-headless"], ["java"])
        else:
            apt_install(["default-jre-headless", "maven"], ["java", "mvn"])
        self._check_java()
        if not jars_ready:
            self._fetch_jars()
        self.home.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self._server_properties())
        self._format_storage()

    def _jars_complete(self) -> bool:
        """The marker names the pom it came from and every jar; all must still match.

        The pom's hash is part of it so that changing the pom (say, the log4j
        version) refreshes the cached jars instead of silently keeping old ones.
        """
        try:
            first, *names = (self.libdir / MARKER).read_text().split()
        except (OSError, ValueError):
            return False
        return first == _pom_digest() and bool(names) and all((self.libdir / n).is_file() for n in names)

    def _check_java(self) -> None:
        java = shutil.which("java")
        if java is None:
            raise StackError("kafka: java not found; install default-jre-headless (Java 17+)")
        proc = subprocess.run([java, "-version"], capture_output=True, text=True, check=False, timeout=60)
        found = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
        if found is None:
            raise StackError(f"kafka: cannot read the Java version from '{java} -version'")
        major = int(found.group(1))
        if major == 1 and found.group(2):  # "1.8" style
            major = int(found.group(2))
        if major < MIN_JAVA:
            raise StackError(f"kafka: Kafka 4 needs Java {MIN_JAVA}+, found Java {major}")

    def _fetch_jars(self) -> None:
        """Copy the broker's runtime jars via Maven into a temp dir, then rename into place.

        The rename makes a half-finished download (Ctrl-C, network loss) look
        absent rather than complete; the pom is copied into the service home
        so Maven never writes next to the installed package.
        """
        build = self.home / "build"
        partial = self.home / f"lib-{self.version}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        build.mkdir(parents=True, exist_ok=True)
        shutil.copy2(RESOURCES / "pom.xml", build / "pom.xml")
        cmd = [
            # -U: re-check Maven Central for artifacts an earlier failed
            # attempt recorded as missing (else the failure is cached for a day).
            "mvn", "-q", "-B", "-U", "-Dstyle.color=never",
            "-f", str(build / "pom.xml"),
            f"-Dkafka.version={self.version}",
            f"-DoutputDirectory={partial}",
            "dependency:copy-dependencies",
        ]  # fmt: skip
        log.info("fetching Kafka %s jars from Maven Central", self.version)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=1800)
        jars = sorted(p.name for p in partial.glob("*.jar")) if partial.is_dir() else []
        if proc.returncode != 0 or not any(j.startswith("kafka_2.13-") for j in jars):
            raise StackError(
                f"kafka: Maven could not resolve kafka_2.13:{self.version}: "
                f"{_maven_error(proc.stdout + proc.stderr)}"
            )
        (partial / MARKER).write_text("\n".join([_pom_digest(), *jars]) + "\n")
        shutil.rmtree(self.libdir, ignore_errors=True)
        partial.rename(self.libdir)
        log.info("Kafka %s: %d jars in %s", self.version, len(jars), self.libdir)

    def _server_properties(self) -> str:
        host, port, cport = self.host, self.port, self.settings.stack.kafka_controller_port
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{host}:{cport}",
            "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{cport}",
            "advertised.listeners": f"PLAINTEXT://{host}:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.datadir),
            "num.partitions": str(self.settings.kafka.partitions),
            "auto.create.topics.enable": "true",
            "group.initial.rebalance.delay.ms": "0",
            # One node: every internal topic must be satisfiable with one replica.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            # Kafka 4.0.x trap (KAFKA-19130, fixed later): on restart, the single
            # node's new broker registration is refused until the old
            # incarnation's session expires, so every warm start waited the
            # default 9 s. A short session with frequent heartbeats (in-process,
            # so only a multi-second GC pause could miss one) makes that ~3 s.
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "3000",
            # A dev stack: keep a week at most and small segments.
            "log.retention.hours": "168",
            "log.segment.bytes": str(256 * 1024 * 1024),
        }
        body = "\n".join(f"{k}={v}" for k, v in props.items())
        return f"# Written by netvigil.stack.kafka on every start; edits are lost.\n{body}\n"

    def _format_storage(self) -> None:
        """Format the data directory once; a formatted one keeps its cluster id."""
        if (self.datadir / "meta.properties").exists():
            return
        cluster_id = _cluster_id()
        self.datadir.mkdir(parents=True, exist_ok=True)
        cmd = [
            *self._java_cmd("256m"),
            "kafka.tools.StorageTool", "format",
            "-t", cluster_id, "-c", str(self.config_file),
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300, cwd=self.home)
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines() or ["no output"]
            raise StackError(f"kafka: formatting {self.datadir} failed: {lines[-1]}")
        (self.home / "cluster.id").write_text(cluster_id + "\n")
        log.info("formatted %s (cluster id %s)", self.datadir, cluster_id)

    # -- run ---------------------------------------------------------------------
    def _java_cmd(self, heap: str) -> list[str]:
        return [
            "java",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            # Log4j2's own shutdown hook would close the log file while Kafka's
            # hook is still shutting down, hiding why a shutdown hung or failed.
            "-Dlog4j2.shutdownHookEnabled=false",
            f"-Dkafka.logs.dir={self.home}",
            f"-Dlog4j2.configurationFile={RESOURCES / 'log4j2.properties'}",
            "-cp",
            f"{self.libdir}/*",  # the JVM expands the wildcard, not a shell
        ]

    def _launch(self) -> int:
        cport = self.settings.stack.kafka_controller_port
        if port_open(self.host, cport):
            raise StackError(
                f"kafka: controller port {self.host}:{cport} is already taken by another "
                "process; free it or set stack.kafka_controller_port"
            )
        # Where this run's output starts, so a failure reports this run's error.
        sizes = [p.stat().st_size if p.exists() else 0 for p in (self.broker_log, self.logfile)]
        self._log_offsets = (sizes[0], sizes[1])
        cmd = [
            *self._java_cmd(self.settings.stack.kafka_heap),
            "kafka.Kafka",
            str(self.config_file),
        ]
        return self.spawn(cmd, cwd=self.home)

    def healthy(self) -> bool:
        """The broker lists itself in a metadata answer (port probe first: cheap when down)."""
        if not port_open(self.host, self.port):
            return False
        return run_sync(broker_count(self.bootstrap, request_timeout=2.0)) > 0

    def check(self) -> None:
        """Produce a unique record to ``<prefix>stack-check`` and read exactly it back."""
        try:
            # Create the check topic first: producing to a missing topic makes aiokafka
            # log an ERROR while the broker auto-creates it, which reads like a failure.
            run_sync(ensure_topics_async(self.settings, {self.settings.topic(CHECK_TOPIC): 1}))
            run_sync(round_trip(self.bootstrap, self.settings.topic(CHECK_TOPIC), CHECK_TIMEOUT))
        except RoundTripError as exc:
            raise StackError(f"kafka: {exc}") from None
        except Exception as exc:  # the admin client raises many kinds; the check reports one line
            raise StackError(f"kafka: cannot create the check topic: {exc!r}") from None

    def _log_tail(self, lines: int = 3) -> str:
        """This run's first broker ERROR and its first cause, else the JVM's own output.

        Kafka's last ERROR line is a generic "fatal fault"; the reason (a port
        in use, a cluster id mismatch) is the first ERROR and its "Caused by".
        """
        broker_from, jvm_from = self._log_offsets
        jvm = _read_from(self.logfile, jvm_from).strip()
        if jvm:  # e.g. "Could not find or load main class", an unknown JVM option
            return " | ".join(jvm.splitlines()[-lines:])[:500]
        text = _read_from(self.broker_log, broker_from).splitlines()
        for i, line in enumerate(text):
            if " ERROR " in line or " FATAL " in line:
                trace = []  # the exception line and its first "Caused by", not the frames
                for follow in text[i + 1 : i + 300]:
                    if follow.startswith("["):
                        break  # the next log record
                    if follow and not follow[0].isspace():
                        trace.append(follow)
                causes = [t for t in trace if t.startswith("Caused by:")]
                return " | ".join([line, *trace[:1], *causes[:1]])[:600]
        return " | ".join(text[-lines:])[:500] or f"nothing logged in {self.broker_log}"


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def _pom_digest() -> str:
    return "pom-sha256=" + hashlib.sha256((RESOURCES / "pom.xml").read_bytes()).hexdigest()


def _maven_error(output: str) -> str:
    """Maven's first non-empty '[ERROR]' line (it prints many, with colour codes), else its last line."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", ln).strip() for ln in output.splitlines()]
    lines = [ln for ln in lines if ln and ln != "[ERROR]"]
    for ln in lines:
        if ln.startswith("[ERROR]"):
            return ln[:400]
    return lines[-1][:400] if lines else "no output"
