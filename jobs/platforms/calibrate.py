#!/usr/bin/python3
"""Writes jobs/platforms/local.xml, the SimGrid platform of this machine, from its measurements:

    jobs/platforms/calibrate.py MICROBENCH_JSON ALPHA_BETA_JSON > jobs/platforms/local.xml

- host speed: the rate of the k-means distance kernel on one core (BM_Assign<std::uint8_t>/10000/784/10,
  GFLOP/s counter of bench/bench_kernels.cpp). jobs/smpi-run passes the same number as
  smpi/host-speed, so on this platform a simulated compute burst lasts what it lasted here;
  on stokes.xml it is rescaled by the ratio of the two speeds.
- network: alpha (one-way time of the smallest message) and beta (seconds per byte) of the
  MPI ping-pong of bench/mpi/alpha_beta.cpp (make bench-mpi). The two hosts stand for the two
  cores; a message crosses both hosts' links, so each link gets alpha/2 and 1/beta.
SMPI's default latency and bandwidth factors (fitted to an Ethernet cluster) are switched off:
alpha and beta are measured end to end already. `make smpi-calibrate` runs both benchmarks and this.
"""
import json
import sys

KERNEL = "BM_Assign<std::uint8_t>/10000/784/10"


def kernel_speed(path):
    with open(path) as f:
        for b in json.load(f)["benchmarks"]:
            if b["name"].startswith(KERNEL) and b.get("run_type", "iteration") == "iteration":
                return float(b["GFLOP/s"])
    sys.exit(f"calibrate: {path} has no {KERNEL} result (make smpi-calibrate runs it)")


def main(bench_json, alpha_beta_json):
    speed = kernel_speed(bench_json)
    with open(alpha_beta_json) as f:
        ab = json.load(f)
    alpha, beta = float(ab["alpha_s"]), float(ab["beta_s_per_byte"])
    print(f"""<?xml version='1.0'?>
<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">
<!-- This machine, written by jobs/platforms/calibrate.py (make smpi-calibrate); do not edit.
     host speed {speed:.4g} flop/s: {KERNEL} in {bench_json}
     alpha {alpha:.4g} s, beta {beta:.4g} s/B ({1 / beta / 1e9:.3g} GB/s): MPI ping-pong in {alpha_beta_json}
     Two hosts of one core each: one per core of this machine, ranks one per host. -->
<platform version="4.1">
  <config>
    <prop id="smpi/coll-selector" value="mpich"/>
    <prop id="smpi/lat-factor" value="0:1"/>
    <prop id="smpi/bw-factor" value="0:1"/>
  </config>
  <zone id="world" routing="Full">
    <cluster id="local" prefix="local-" suffix="" radical="0-1" core="1" speed="{speed:.6g}f"
             bw="{1 / beta:.6g}Bps" lat="{alpha / 2:.6g}s"/>
  </zone>
</platform>""")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
