"""The probe (bench/probe): nginx with bench/probe/nginx.conf.in in front of bench-probe."""
import os
import socket

import requests

from . import procs

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Probe:
    def __init__(self, bin_dir, synchronous, threads=16):
        self.dir = procs.temp_dir("task-runner-probe.")
        self.port = procs.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.socket = os.path.join(self.dir, "probe.sock")
        self.log = os.path.join(self.dir, "probe.log")
        self.argv = [os.path.join(os.path.abspath(bin_dir), "bench-probe"), "--socket", self.socket,
                     "--database", os.path.join(self.dir, "probe.db"),
                     "--synchronous", synchronous, "--threads", str(threads)]
        self.processes = []

    def start(self):
        self.processes.append(procs.start("bench-probe", self.argv, self.log))
        procs.wait_until("bench-probe listening", self._socket_accepts, 30,
                         process=self.processes[0], log_path=self.log)
        # As root, nginx's workers run as nobody (its default): they must reach the socket.
        os.chmod(self.dir, 0o755)
        os.chmod(self.socket, 0o666)
        for sub in ("client_body", "fastcgi", "proxy", "uwsgi", "scgi"):
            os.makedirs(os.path.join(self.dir, "nginx", sub), exist_ok=True)
        with open(os.path.join(HERE, "probe", "nginx.conf.in")) as f:
            conf = f.read()
        for name, value in (("run_dir", self.dir), ("listen", f"127.0.0.1:{self.port}"),
                            ("fcgi_socket", self.socket)):
            conf = conf.replace("{{" + name + "}}", value)
        conf_path = os.path.join(self.dir, "nginx.conf")
        with open(conf_path, "w") as f:
            f.write(conf)
        self.processes.append(procs.start("probe nginx", ["nginx", "-e", "stderr", "-p", self.dir,
                                          "-c", conf_path], self.log))
        procs.wait_until("the probe's nginx answering", self._answers, 30,
                         process=self.processes[1], log_path=self.log)
        return self

    def _socket_accepts(self):
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(self.socket)
                return True
            except OSError:
                return False

    def _answers(self):
        try:
            return requests.post(self.url + "/api/v1/tasks", data='{"task":"x"}',
                                 timeout=2).status_code == 202
        except requests.RequestException:
            return False

    def stop(self):
        for process in reversed(self.processes):
            procs.stop(process)
            procs.forget(process)
        self.processes = []
