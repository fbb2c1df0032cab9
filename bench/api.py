#!/usr/bin/python3
"""API throughput: GET /v1/vms with 100 VMs, requests per second measured
with wrk, against nginx serving the same JSON as a static file, in one run.

    bench/api.py [SECONDS] [CONNECTIONS]
"""
import os
import re
import subprocess
import sys
import tempfile

from common import Cloud, free_port_for_nginx, record


def wrk(url, seconds, conns, token=None):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency"]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+\w+)", out).group(1)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non_2xx": int(errors.group(1)) if errors else 0}


def nginx(root, port):
    conf = os.path.join(root, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes auto;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  default_type application/json;
  client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
  uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
  server {{ listen 127.0.0.1:{port}; root {root}/www; }}
}}
""")
    os.makedirs(os.path.join(root, "tmp"), exist_ok=True)
    subprocess.run(["nginx", "-c", conf], check=True)
    return os.path.join(root, "nginx.pid")


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    cloud = Cloud("bench-api")
    cloud.start(extra=("--heartbeat", "5000", "--cpu-ratio", "64"))
    root = tempfile.mkdtemp(prefix="nc-nginx-")
    os.chmod(root, 0o755)   # nginx workers run as www-data
    pidfile = None
    try:
        for i in range(100):
            cloud.create_vm(f"vm-{i:03d}", start=False, memory_mib=64, max_memory_mib=64)
        body = subprocess.run(["curl", "-fsS", "-H", f"Authorization: Bearer {cloud.token}",
                               cloud.url + "/v1/vms"], capture_output=True, check=True).stdout
        os.makedirs(os.path.join(root, "www"))
        with open(os.path.join(root, "www", "vms.json"), "wb") as f:
            f.write(body)
        port = free_port_for_nginx()
        pidfile = nginx(root, port)
        ours = wrk(cloud.url + "/v1/vms", seconds, conns, cloud.token)
        theirs = wrk(f"http://127.0.0.1:{port}/vms.json", seconds, conns)
        ours2 = wrk(cloud.url + "/v1/vms", seconds, conns, cloud.token)
        theirs2 = wrk(f"http://127.0.0.1:{port}/vms.json", seconds, conns)
    finally:
        if pidfile and os.path.exists(pidfile):
            subprocess.run(["kill", open(pidfile).read().strip()])
        cloud.destroy()
        subprocess.run(["rm", "-rf", root])
    best_ours = max(ours["rps"], ours2["rps"])
    best_nginx = max(theirs["rps"], theirs2["rps"])
    record("api", {"vms": 100, "body_bytes": len(body), "seconds": seconds,
                   "connections": conns, "nestcloud": [ours, ours2], "nginx": [theirs, theirs2],
                   "ratio_best": round(best_ours / best_nginx, 3)})


if __name__ == "__main__":
    main()
