#!/usr/bin/env python3
"""device-modbus (+ core-bridge as core-metadata) through the peer-gateway scenario.

Same workload and method as /work/shared/peers (REPORT.md, bench.py, modbus_sim.py), reusing
bench.py's process sampling, simulator and stop helpers by import:
  * N pymodbus servers from modbus_sim.py: unit 1, 100 holding registers holding 50 Float32 ABCD
    values, value k of device d = (d+1)*1000 + k + 0.01*(second % 100);
  * mosquitto (anonymous, persistence off, max_queued_messages 100000);
  * our device-modbus release binary, one autoevent per device reading all 50 values every
    --poll-ms (one deviceCommand over 50 Float32 resources), events on the EdgeX bus;
  * core-bridge release binary as core-metadata (embedded broker off, core-data not persisting);
  * a paho subscriber on '#' counting events and Float32 values, checking each value with the
    simulator's formula; latency = arrival minus the reading's origin.
Phases: idle (device-modbus configured for N devices, no Modbus server; CPU/RSS over the last
10 s of --idle-s), then loaded (servers up, fresh device-modbus, warm-up, --measure-s window).
device-modbus and core-bridge are measured as separate groups.

Usage:
  pip install paho-mqtt   # bench.py needs it
  cargo build --release -p device-modbus -p core-bridge
  python3 scripts/bench-peers.py --n 10
  python3 scripts/bench-peers.py --n 100 --idle-s 30 --warmup-s 15 --measure-s 60
"""
import argparse
import json
import os
import socket
import sys
import tempfile
import time

PEERS_DIR = os.environ.get("PEERS_SCENARIO", "/work/shared/peers")
sys.path.insert(0, PEERS_DIR)
import bench  # noqa: E402  (the peers' harness: Group, Sampler, Counter, start, stop, ...)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NVALUES = bench.NVALUES
PROFILE = "Peer-Bench-50F32"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_range(n, start):
    """First port p >= start with p..p+n-1 all free on 127.0.0.1."""
    p = start
    while p + n < 65535:
        ok = True
        for q in range(p, p + n):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", q))
                except OSError:
                    ok = False
                    p = q + 1
                    break
        if ok:
            return p
    raise RuntimeError("no free port range")


class EdgexCounter(bench.Counter):
    """bench.Counter's subscriber and value check, reading EdgeX events instead."""

    def on_message(self, c, u, m):
        now_ns = time.time_ns()
        t = m.topic
        if not t.startswith("edgex/events/device/"):
            with self.lock:
                key = "/".join(t.split("/")[:3])
                self.other[key] = self.other.get(key, 0) + 1
            return
        try:
            env = json.loads(m.payload)
            ev = env["payload"]["event"]
            dname = ev["deviceName"]
            dev = int(dname[3:])  # dev01 -> 1, as bench.py's 1-based device number
            nvals = nok = 0
            lats = []
            for r in ev["readings"]:
                k = int(r["resourceName"][1:])
                v = float(r["value"])
                nvals += 1
                nok += self._check(dev, k, v)
            lats.append((now_ns - int(ev["origin"])) / 1e6)
        except (ValueError, KeyError, TypeError, IndexError):
            with self.lock:
                self.other["<unparsable:" + t + ">"] = self.other.get("<unparsable:" + t + ">", 0) + 1
            return
        with self.lock:
            kind = t.rsplit("/", 3)[0]
            if kind not in self.samples and len(self.samples) < 4:
                self.samples[kind] = m.payload[:700].decode(errors="replace")
            if nvals and self.first_data is None:
                self.first_data = time.monotonic()
            self.msgs += 1
            self.values += nvals
            self.ok += nok
            self.bad += nvals - nok
            self.per_dev[dname] = self.per_dev.get(dname, 0) + nvals
            if self.lat_on:
                self.lat += lats


def write_stack_config(a, run_dir, mqtt_port):
    md, ds = free_port(), free_port()
    core_yaml = os.path.join(run_dir, "core-bridge.yaml")
    with open(core_yaml, "w") as f:
        f.write(f"""Service:
  Host: 127.0.0.1
  ServerBindAddr: 127.0.0.1
CoreData:
  Port: {free_port()}
  PersistData: false
CoreMetadata:
  Port: {md}
CoreCommand:
  Port: {free_port()}
CoreKeeper:
  Port: {free_port()}
Sma:
  Enabled: false
EmbeddedBroker:
  Enabled: false
MessageBus:
  Host: 127.0.0.1
  Port: {mqtt_port}
  Optional:
    ClientId: peer-bench-core-bridge
Database:
  Path: memory
""")
    pdir, ddir = os.path.join(run_dir, "profiles"), os.path.join(run_dir, "devices")
    os.makedirs(pdir, exist_ok=True)
    os.makedirs(ddir, exist_ok=True)
    resources = [{"name": f"v{k:02d}",
                  "attributes": {"primaryTable": "HOLDING_REGISTERS", "startingAddress": 2 * k},
                  "properties": {"valueType": "Float32", "readWrite": "R"}} for k in range(NVALUES)]
    profile = {"name": PROFILE, "manufacturer": "peer-bench", "model": "modbus_sim.py",
               "deviceResources": resources,
               "deviceCommands": [{"name": "All", "readWrite": "R",
                                   "resourceOperations": [{"deviceResource": r["name"]}
                                                          for r in resources]}]}
    with open(os.path.join(pdir, "peer-bench.json"), "w") as f:
        json.dump(profile, f, indent=1)
    devices = [{"name": f"dev{d + 1:02d}", "profileName": PROFILE, "description": "peer bench",
                "adminState": "UNLOCKED", "operatingState": "UP",
                "protocols": {"modbus-tcp": {"Address": "127.0.0.1", "Port": str(a.base_port + d),
                                             "UnitID": "1", "Timeout": "1s", "IdleTimeout": "30s"}},
                "autoEvents": [{"interval": f"{a.poll_ms}ms", "onChange": False,
                                "sourceName": "All"}]} for d in range(a.n)]
    with open(os.path.join(ddir, "devices.yaml"), "w") as f:
        json.dump({"deviceList": devices}, f, indent=1)
    ds_yaml = os.path.join(run_dir, "device-modbus.yaml")
    with open(ds_yaml, "w") as f:
        f.write(f"""Writable:
  LogLevel: WARN
Service:
  Host: 127.0.0.1
  Port: {ds}
  ServerBindAddr: 127.0.0.1
  # core-bridge validates each new device with the service over the bus; 100 of them in one
  # POST take longer than the 5 s default on a loaded machine.
  RequestTimeout: 30s
Clients:
  core-metadata:
    Protocol: http
    Host: 127.0.0.1
    Port: {md}
MessageBus:
  Type: mqtt
  Protocol: tcp
  Host: 127.0.0.1
  Port: {mqtt_port}
  Optional:
    ClientId: device-modbus
Device:
  ProfilesDir: {pdir}
  DevicesDir: {ddir}
""")
    return core_yaml, md, ds_yaml, ds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--poll-ms", type=int, default=100)
    ap.add_argument("--sim-procs", type=int, default=1)
    ap.add_argument("--idle-s", type=float, default=30)
    ap.add_argument("--warmup-s", type=float, default=15)
    ap.add_argument("--measure-s", type=float, default=60)
    ap.add_argument("--first-timeout-s", type=float, default=60)
    ap.add_argument("--base-port", type=int, default=15020)
    ap.add_argument("--bin-dir", default=os.path.join(ROOT, "target", "release"))
    ap.add_argument("--out", default=None, help="result JSON path")
    a = ap.parse_args()
    label = f"edgex-rs-n{a.n}"
    run_dir = tempfile.mkdtemp(prefix=f"bench-peers-{label}-")
    a.base_port = free_port_range(a.n, a.base_port)
    mqtt_port = free_port()
    core_yaml, md_port, ds_yaml, ds_port = write_stack_config(a, run_dir, mqtt_port)
    core_cmd = [os.path.join(a.bin_dir, "core-bridge"), "--configFile", core_yaml]
    ds_cmd = [os.path.join(a.bin_dir, "device-modbus"), "-cf", ds_yaml]
    env = dict(os.environ, RUST_LOG="warn")

    mosq_conf = os.path.join(run_dir, "mosquitto.conf")
    with open(mosq_conf, "w") as f:
        f.write(f"listener {mqtt_port} 127.0.0.1\nallow_anonymous true\n"
                + ("user root\n" if os.geteuid() == 0 else "")
                + f"persistence false\nmax_queued_messages 100000\n"
                f"log_dest file {run_dir}/mosquitto.log\nlog_type error\nlog_type warning\n")
    gw_grp, core_grp = bench.Group("device-modbus"), bench.Group("core-bridge")
    sim_grp, mq_grp = bench.Group("modbus_sim"), bench.Group("mosquitto")
    h_grp = bench.Group("harness", tree=False)
    h_grp.roots = [os.getpid()]
    sampler = bench.Sampler([gw_grp, core_grp, sim_grp, mq_grp, h_grp])
    procs = {}
    result = {"label": label, "n": a.n, "poll_ms": a.poll_ms,
              "requested_values_per_s": NVALUES * a.n * 1000.0 / a.poll_ms,
              "cpus": os.cpu_count(), "run_dir": run_dir,
              "loadavg_start": open("/proc/loadavg").read().split()[:3]}
    counter = None

    def wait_http(port, timeout=30.0):
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                    s.sendall(b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if s.recv(12).startswith(b"HTTP/1.1 200"):
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    try:
        procs["mosq"] = bench.start(["mosquitto", "-c", mosq_conf], os.path.join(run_dir, "mosquitto.out"))
        mq_grp.roots = [procs["mosq"].pid]
        if not bench.wait_port(mqtt_port):
            raise RuntimeError("mosquitto did not come up")
        counter = EdgexCounter(mqtt_port, a.n, tb_standin=False)
        procs["core"] = bench.start(core_cmd, os.path.join(run_dir, "core-bridge.log"), env=env)
        core_grp.roots = [procs["core"].pid]
        if not wait_http(md_port):
            raise RuntimeError("core-bridge did not come up")
        sampler.start()

        # ---- phase 1: idle (devices configured, no Modbus server)
        if a.idle_s > 0:
            t_start = time.monotonic()
            procs["gw"] = bench.start(ds_cmd, os.path.join(run_dir, "device-modbus-idle.log"), env=env)
            gw_grp.roots = [procs["gw"].pid]
            ready = wait_http(ds_port)
            result["start_to_ready_s"] = round(time.monotonic() - t_start, 3) if ready else None
            time.sleep(max(0.0, a.idle_s - (time.monotonic() - t_start)))
            t_idle1 = time.monotonic()
            result["idle"] = {"seconds": a.idle_s,
                              "rss_last10s": gw_grp.rss_stats(t_idle1 - 10, t_idle1),
                              "cpu_pct_last10s": gw_grp.cpu_pct(t_idle1 - 10, t_idle1),
                              "core_bridge_rss_last10s": core_grp.rss_stats(t_idle1 - 10, t_idle1),
                              "core_bridge_cpu_pct_last10s": core_grp.cpu_pct(t_idle1 - 10, t_idle1),
                              "alive": procs["gw"].poll() is None,
                              "values_received": counter.snapshot()["values"]}
            bench.stop(procs.pop("gw"))
            gw_grp.roots = []
            gw_grp.last_ticks = {}
            time.sleep(2)

        # ---- phase 2: loaded
        per = (a.n + a.sim_procs - 1) // a.sim_procs
        sim_roots = []
        for i in range(a.sim_procs):
            first = i * per
            cnt = min(per, a.n - first)
            if cnt <= 0:
                break
            p = bench.start([sys.executable, os.path.join(PEERS_DIR, "modbus_sim.py"), "--n", str(a.n),
                             "--base-port", str(a.base_port), "--first", str(first), "--count", str(cnt)],
                            os.path.join(run_dir, f"sim{i}.log"))
            procs[f"sim{i}"] = p
            sim_roots.append(p.pid)
        sim_grp.roots = sim_roots
        for d in range(a.n):
            if not bench.wait_port(a.base_port + d):
                raise RuntimeError(f"modbus server {d} did not come up")
        t_gw0 = time.monotonic()
        procs["gw"] = bench.start(ds_cmd, os.path.join(run_dir, "device-modbus-loaded.log"), env=env)
        gw_grp.roots = [procs["gw"].pid]
        while counter.first_data is None or counter.first_data < t_gw0:
            if time.monotonic() - t_gw0 > a.first_timeout_s or procs["gw"].poll() is not None:
                break
            time.sleep(0.05)
        if counter.first_data is None or counter.first_data < t_gw0:
            result["error"] = f"no events within {a.first_timeout_s}s (alive: {procs['gw'].poll() is None})"
            result["other_topics"] = counter.other
            return result
        result["first_telemetry_after_s"] = round(counter.first_data - t_gw0, 2)
        time.sleep(a.warmup_s)
        s0, t0, w0 = counter.snapshot(), time.monotonic(), time.time()
        c0 = bench.sys_cpu()
        with counter.lock:
            counter.lat_on = True
        time.sleep(a.measure_s)
        s1, t1, w1 = counter.snapshot(), time.monotonic(), time.time()
        c1 = bench.sys_cpu()
        time.sleep(1.2)
        sim_logs = [os.path.join(run_dir, f"sim{i}.log") for i in range(a.sim_procs)
                    if os.path.exists(os.path.join(run_dir, f"sim{i}.log"))]
        q0, r0, g0 = bench.sim_counts(sim_logs, w0)
        q1, r1, g1 = bench.sim_counts(sim_logs, w1)
        dq = (q1 - q0) or 1.0
        with counter.lock:
            counter.lat_on = False
            lat = sorted(counter.lat)
        dt = t1 - t0
        hwm = gw_grp.samples[-1][4] if gw_grp.samples else None
        result["loaded"] = {
            "window_s": round(dt, 2),
            "msgs_per_s": round((s1["msgs"] - s0["msgs"]) / dt, 1),
            "modbus_requests_per_s": round((r1 - r0) / dq, 1),
            "modbus_registers_read_per_s": round((g1 - g0) / dq, 1),
            "values_per_s": round((s1["values"] - s0["values"]) / dt, 1),
            "values_ok": s1["ok"] - s0["ok"], "values_bad": s1["bad"] - s0["bad"],
            "latency_ms_read_to_broker": ({"n": len(lat), "p50": round(lat[len(lat) // 2], 1),
                                           "p95": round(lat[int(len(lat) * 0.95)], 1),
                                           "max": round(lat[-1], 1)} if lat else None),
            "gateway_cpu_pct": round(gw_grp.cpu_pct(t0, t1), 1),
            "gateway_rss_window": gw_grp.rss_stats(t0, t1),
            "gateway_rss_peak_sampled_kb": max(s[2] for s in gw_grp.window(t_gw0, t1)),
            "gateway_vmhwm_kb": hwm,
            "core_bridge_cpu_pct": round(core_grp.cpu_pct(t0, t1), 1),
            "core_bridge_rss_window": core_grp.rss_stats(t0, t1),
            "sim_cpu_pct": round(sim_grp.cpu_pct(t0, t1), 1),
            "mosquitto_cpu_pct": round(mq_grp.cpu_pct(t0, t1), 1),
            "harness_cpu_pct": round(h_grp.cpu_pct(t0, t1), 1),
            "machine_busy_pct_of_all_cores": round(100.0 * (c1[0] - c0[0]) / (c1[1] - c0[1]), 1),
            "gateway_alive": procs["gw"].poll() is None,
        }
        result["other_topics"] = counter.other
        result["sample_messages"] = counter.samples
        result["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
        return result
    finally:
        for k in [k for k in procs if k == "gw"] + [k for k in procs if k.startswith("sim")] + ["core", "mosq"]:
            if k in procs:
                bench.stop(procs.pop(k))
        sampler.stop.set()
        if counter:
            counter.close()
        errs = {}
        for lf in ("device-modbus-idle.log", "device-modbus-loaded.log"):
            pth = os.path.join(run_dir, lf)
            if os.path.exists(pth):
                with open(pth, errors="replace") as f:
                    lines = f.readlines()
                errs[lf] = {"lines": len(lines),
                            "error_lines": sum(1 for l in lines if " ERROR " in l),
                            "warning_lines": sum(1 for l in lines if " WARN " in l),
                            "first_errors": [l.rstrip() for l in lines if " ERROR " in l][:5]}
        result["logs"] = errs
        out = a.out or os.path.join(run_dir, label + ".json")
        with open(out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
