"""Certificate costs, measured side by side in one run.

1. Issuing: a bare ReportLab render of the certificate page vs the full issue (render + Ed25519 + PAdES signature).
2. Verification API: GET /api/v1/certificates/<id> vs the trivial GET /livez on the same gunicorn server (two
   workers, SQLite, rate limits off), with p50/p99 latency and throughput from concurrent keep-alive clients.
   The two alternate in paired rounds (trivial then verify, then verify then trivial, ...) with the same clients,
   so that load from elsewhere on the machine hits both alike; each round's figures are printed.

Last two lines: `ratio issue/render = <number>` (median latency ratio, lower is better) and
`ratio verify/trivial throughput = <number>` (the median over the paired rounds of the verification API's requests
per second over the trivial endpoint's, same server, same clients; higher is better, the target is at least 0.7
with a verification p99, over every round, within 20 ms).

    .venv/bin/python bench/certificates.py [--rounds 30] [--pairs 15] [--requests 1000] [--clients 8]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def issuing_costs(rounds: int, keys_dir: Path) -> tuple[float, float]:
    from datetime import date

    from certplatform.certificates.ids import new_certificate_id
    from certplatform.certificates.keys import KeyStore
    from certplatform.certificates.pdf import CertificateDocument, render_pdf, sign_pdf
    from certplatform.certificates.signing import sign_snapshot

    store = KeyStore(keys_dir)
    keyset = store.init()

    def document() -> CertificateDocument:
        cid = new_certificate_id("L1")
        return CertificateDocument(
            cid,
            "Li Wei",
            "李伟",
            "L1",
            "FlagOS Operator Development Engineer",
            "FlagOS 算子开发工程师",
            date.today().isoformat(),
            date.today().isoformat(),
            "92.5%",
            f"https://cert.example/verify/{cid}",
            keyset.key_id,
        )

    render_pdf(document())  # font registration and imports, not counted
    render_t, issue_t = [], []
    for _ in range(rounds):  # interleaved so that machine load hits both alike
        doc = document()
        t0 = time.perf_counter()
        render_pdf(doc)
        render_t.append(time.perf_counter() - t0)
        doc = document()
        t0 = time.perf_counter()
        sign_snapshot({"certificate_id": doc.certificate_id, "holder": doc.holder_name_latin}, keyset)
        sign_pdf(render_pdf(doc), keyset)
        issue_t.append(time.perf_counter() - t0)
    return statistics.median(render_t), statistics.median(issue_t)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_server_db(workdir: Path) -> tuple[dict[str, str], str]:
    """A SQLite database with the schema, the content and one issued certificate; returns env and its ID."""
    env = {
        **os.environ,
        "CERTPLATFORM_ENV": "development",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite'}",
        "CERT_KEYS_DIR": str(workdir / "keys"),
        "RATELIMIT_ENABLED": "false",
        "SECRET_KEY": "bench-only-secret",
    }
    env.pop("REDIS_URL", None)
    cli = [str(Path(sys.executable).parent / "certplatform")]
    for args in (["db", "upgrade"], ["content", "sync"], ["demo-data", "--password", "Bench-Passw0rd-1"]):
        subprocess.run([*cli, *args], env=env, cwd=REPO, check=True, capture_output=True)
    import json

    out = subprocess.run(
        [*cli, "demo-data", "--password", "Bench-Passw0rd-1"],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return env, json.loads(out)["certificates"]["valid"]


def load(port: int, path: str, total: int, clients: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = total // clients

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        for _ in range(per_client):
            t0 = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"GET {path}: {response.status}")
            mine.append(time.perf_counter() - t0)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def verification_rounds(port: int, paths: dict[str, str], pairs: int, requests: int, clients: int) -> float:
    """Paired rounds of the trivial and the verification endpoint; prints each round, returns the median ratio."""
    latencies: dict[str, list[float]] = {name: [] for name in paths}
    rates: dict[str, list[float]] = {name: [] for name in paths}
    ratios = []
    for pair in range(pairs):
        order = list(paths) if pair % 2 == 0 else list(reversed(paths))  # neither always goes first
        rate = {}
        for name in order:
            measured, elapsed = load(port, paths[name], requests, clients)
            rate[name] = len(measured) / elapsed
            rates[name].append(rate[name])
            latencies[name].extend(measured)
        ratios.append(rate["verify"] / rate["trivial"])
        print(
            f"round {pair + 1:>2}  trivial {rate['trivial']:6.0f} req/s  verify {rate['verify']:6.0f} req/s  "
            f"ratio {ratios[-1]:.3f}"
        )
    for name, path in paths.items():
        print(
            f"{name:<8} GET {path:<40} median {statistics.median(rates[name]):6.0f} req/s  "
            f"p50 {pct(latencies[name], 0.5):6.2f} ms  p99 {pct(latencies[name], 0.99):6.2f} ms  (all rounds)"
        )
    print(f"paired ratios: min {min(ratios):.3f}  median {statistics.median(ratios):.3f}  max {max(ratios):.3f}")
    return statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="issuing rounds")
    parser.add_argument("--pairs", type=int, default=15, help="paired trivial/verification rounds")
    parser.add_argument("--requests", type=int, default=1000, help="requests per endpoint and round")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        render_s, issue_s = issuing_costs(args.rounds, workdir / "bench-keys")
        print(f"render (ReportLab page)        median {render_s * 1000:7.1f} ms")
        print(f"issue (render + Ed25519 + PAdES) median {issue_s * 1000:7.1f} ms")

        env, cert_id = prepare_server_db(workdir)
        port = free_port()
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--log-level",
                "warning",
                "certplatform:create_app()",
            ],
            env=env,
            cwd=REPO,
        )
        try:
            for _ in range(100):
                try:
                    http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/livez")
                    break
                except OSError:
                    time.sleep(0.1)
            paths = {"trivial": "/livez", "verify": f"/api/v1/certificates/{cert_id}"}
            for path in paths.values():  # warm-up, not counted
                load(port, path, 200, 2)
            ratio = verification_rounds(port, paths, args.pairs, args.requests, args.clients)
        finally:
            server.terminate()
            server.wait(timeout=10)
        print(f"ratio issue/render = {issue_s / render_s:.3f}")
        print(f"ratio verify/trivial throughput = {ratio:.3f}")


if __name__ == "__main__":
    main()
