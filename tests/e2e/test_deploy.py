"""The deployment (deploy/, docs/deploy.md): `cmake --install` into a staging root and into a
prefix, the installed units checked by systemd-analyze verify, sysusers.d and tmpfiles.d applied
to the staging root, the nginx site rendered by the installed program and checked by nginx -t
inside Debian's own nginx.conf, and the installed programs run as the units run them, behind a
system-style nginx with TLS, through which a builtin task completes. Nothing here needs systemd
running; everything is made in temporary directories and removed.
"""

import grp
import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from conftest import BIN, ROOT, free_port, remember_secret, render_config, wait_until
from test_docs_examples import markdown_blocks

BUILD = BIN.parent
DEBIAN_NGINX_CONF = Path("/etc/nginx/nginx.conf")
UNITS = ["task-runner-fcgi.service", "task-runner-runner.service"]
PROGRAMS = ["task-runner", "task-runner-fcgi", "task-runner-runner"]


GUIDE = "docs/deploy.md"


def guide_block(heading, starts):
    """The one sh block of docs/deploy.md under `heading` whose first line starts so."""
    (found,) = [b for b in markdown_blocks(GUIDE) if b.language == "sh" and b.heading == heading
                and b.text.lstrip().startswith(starts)]
    return found.text


def run_block(text, env=None):
    """A block of the guide, run by sh -e as a reader would paste it."""
    return checked(["sh", "-ec", text], env)


def run(command, env=None, **kwargs):
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **(env or {})), stdin=subprocess.DEVNULL, **kwargs)


def checked(command, env=None, **kwargs):
    done = run(command, env, **kwargs)
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def install(prefix, destdir=None):
    env = {"DESTDIR": str(destdir)} if destdir else {}
    return checked(["cmake", "--install", BUILD, "--prefix", prefix], env)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """`DESTDIR=ROOT cmake --install build --prefix /usr`: a system's layout below ROOT."""
    root = tmp_path_factory.mktemp("root")
    install("/usr", root)
    return root


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    """`cmake --install build --prefix P`: everything below P, nothing elsewhere."""
    path = tmp_path_factory.mktemp("prefix")
    install(path)
    return path


def test_a_usr_install_puts_everything_where_debian_looks(staged):
    for program in PROGRAMS:
        assert os.access(staged / "usr/bin" / program, os.X_OK), program
    assert (staged / "usr/share/man/man1/task-runner.1").is_file()
    # /usr keeps its configuration in /etc, not /usr/etc.
    config = staged / "etc/task-runner/task-runner.cfg"
    assert config.read_text() == (ROOT / "config/production.cfg").read_text()
    assert not (staged / "usr/etc").exists()
    for unit in UNITS:
        text = (staged / "usr/lib/systemd/system" / unit).read_text()
        assert not re.search(r"@[A-Z_]+@", text), f"{unit}: a placeholder left"
        assert "ExecStart=/usr/bin/" + unit.replace(".service", "") + " --config " \
               "/etc/task-runner/task-runner.cfg" in text
    # string(CONFIGURE @ONLY) replaced the placeholders only, not systemd's @sets.
    assert "\nSystemCallFilter=@system-service\n" in (
        staged / "usr/lib/systemd/system/task-runner-fcgi.service").read_text()
    assert (staged / "usr/lib/sysusers.d/task-runner.conf").is_file()
    assert (staged / "usr/lib/tmpfiles.d/task-runner.conf").is_file()
    site = (staged / "etc/nginx/sites-available/task-runner").read_text()
    assert "server unix:/run/task-runner/fcgi.sock;" in site
    assert "# /etc/task-runner/task-runner.cfg: include it" in site  # not the staging path
    assert (staged / "usr/share/doc/task_runner/deploy.md").is_file()


def test_installed_programs_read_their_prefixs_configuration(staged, prefix):
    # Under /usr: /etc/task-runner/task-runner.cfg, whatever the source tree has.
    done = run([staged / "usr/bin/task-runner", "nginx-site"], {"TASK_RUNNER_CONFIG": ""})
    if Path("/etc/task-runner/task-runner.cfg").exists():  # a machine with the service installed
        assert "# /etc/task-runner/task-runner.cfg: include it" in done.stdout, done.stderr
    else:
        assert done.returncode == 2, done.stderr
        assert "/etc/task-runner/task-runner.cfg: cannot read config file" in done.stderr, done.stderr
    # Under any other prefix: PREFIX/etc/task-runner/task-runner.cfg.
    site = checked([prefix / "bin/task-runner", "nginx-site"], {"TASK_RUNNER_CONFIG": ""}).stdout
    assert f"# {prefix}/etc/task-runner/task-runner.cfg: include it" in site
    assert (prefix / "lib/systemd/system/task-runner-fcgi.service").read_text().count(
        f"ExecStart={prefix}/bin/task-runner-fcgi --config {prefix}/etc/task-runner/task-runner.cfg") == 1
    # The build's own programs still read the source tree's.
    site = checked([BIN / "task-runner", "nginx-site"], {"TASK_RUNNER_CONFIG": ""}).stdout
    assert f"# {ROOT}/config/task-runner.cfg: include it" in site


def test_an_edited_configuration_survives_a_reinstall(tmp_path):
    install(tmp_path)
    config = tmp_path / "etc/task-runner/task-runner.cfg"
    edited = config.read_text().replace('bind_address = "0.0.0.0:8080"', 'bind_address = "0.0.0.0:443"')
    config.write_text(edited)
    again = install(tmp_path)
    assert config.read_text() == edited
    assert Path(str(config) + ".dist").read_text() == (ROOT / "config/production.cfg").read_text()
    assert f"Kept: {config}" in again.stdout
    # The site is kept too (it may carry TLS now); the one rendered from the kept file is beside it.
    site = tmp_path / "etc/nginx/sites-available/task-runner"
    assert "listen 0.0.0.0:8080;" in site.read_text()
    assert "listen 0.0.0.0:443;" in Path(str(site) + ".dist").read_text()


def verify(units):
    """systemd-analyze verify of unit files in place (their programs at the paths they name:
    the prefix's), without a man page lookup; what it printed."""
    done = run(["systemd-analyze", "verify", "--man=no", *units])
    return done.returncode, done.stdout + done.stderr


def test_the_installed_units_pass_systemd_analyze_verify(prefix):
    status, said = verify([prefix / "lib/systemd/system" / unit for unit in UNITS])
    assert status == 0, said
    # verify says nothing of a unit it accepts; anything said about ours is a finding.
    findings = [line for line in said.splitlines() if "task-runner" in line]
    assert not findings, "\n".join(findings)


def test_verify_would_catch_a_broken_unit(prefix, tmp_path):
    # The check above can fail: a misspelt directive and a program that is not there.
    broken = tmp_path / "task-runner-broken.service"
    broken.write_text((prefix / "lib/systemd/system/task-runner-fcgi.service").read_text()
                      .replace("ProtectSystem=strict", "ProtectSytem=strict")
                      .replace(f"{prefix}/bin/task-runner-fcgi", f"{prefix}/bin/task-runner-gone"))
    status, said = verify([broken])
    assert "ProtectSytem" in said and "task-runner-gone" in said, said
    assert status != 0


def test_the_guides_install_commands_run_as_written(tmp_path):
    # docs/deploy.md, "1. Build and install", into a staging root (DESTDIR, --root): the
    # install, then the user and the directories.
    root = tmp_path / "root"
    run_block(guide_block("1. Build and install", "cmake --install build --prefix /usr")
              .replace("cmake --install build", f"cmake --install {BUILD}"), {"DESTDIR": str(root)})
    assert os.access(root / "usr/bin/task-runner-runner", os.X_OK)
    # A base system's users and groups (www-data is Debian's base-passwd's), then ours.
    for name in ("passwd", "group"):
        shutil.copy(f"/etc/{name}", root / "etc" / name)
    run_block(guide_block("1. Build and install", "systemd-sysusers")
              .replace("systemd-sysusers ", f"systemd-sysusers --root={root} ")
              .replace("systemd-tmpfiles --create ", f"systemd-tmpfiles --create --root={root} ")
              .replace(" /usr/lib/", f" {root}/usr/lib/"))
    user = next(line.split(":") for line in (root / "etc/passwd").read_text().splitlines()
                if line.startswith("task-runner:"))
    assert user[5:] == ["/var/lib/task-runner", "/usr/sbin/nologin"]
    uid = int(user[2])
    assert uid < 1000  # a system user
    www_data = grp.getgrnam("www-data").gr_gid
    expected = {"run/task-runner": (0o750, www_data), "var/lib/task-runner": (0o700, None),
                "srv/task-runner": (0o700, None), "srv/task-runner/work": (0o700, None)}
    for path, (mode, gid) in expected.items():
        info = (root / path).stat()
        assert stat.S_IMODE(info.st_mode) == mode and info.st_uid == uid, path
        assert info.st_gid == (gid if gid is not None else info.st_gid), path


def debian_nginx_conf(directory, sites):
    """Debian's own nginx.conf (this machine's), with its pid, logs and sites-enabled in
    `directory`: the site is included in the http block exactly as Debian includes it."""
    assert DEBIAN_NGINX_CONF.is_file(), "nginx (Debian's package) is not installed"
    text = DEBIAN_NGINX_CONF.read_text()
    replacements = {
        r"(?m)^pid .*;$": f"pid {directory}/nginx.pid;",
        r"(?m)^(\s*)error_log .*;$": rf"\1error_log {directory}/error.log;",
        r"(?m)^(\s*)access_log .*;$": rf"\1access_log {directory}/access.log;",
        r"(?m)^(\s*)include /etc/nginx/sites-enabled/\*;$": rf"\1include {sites}/*;",
    }
    for pattern, replacement in replacements.items():
        text, count = re.subn(pattern, replacement, text)
        assert count == 1, f"Debian's nginx.conf has no single line {pattern}"
    if os.geteuid() != 0:
        text = text.replace("user www-data;", "")
    conf = Path(directory) / "nginx.conf"
    conf.write_text(text)
    return conf


def enable_site(directory, text):
    sites = Path(directory) / "sites-enabled"
    sites.mkdir()
    (sites / "task-runner").write_text(text)
    return debian_nginx_conf(directory, sites)


def test_the_installed_site_passes_nginx_t_in_debians_nginx_conf(staged, tmp_path):
    conf = enable_site(tmp_path, (staged / "etc/nginx/sites-available/task-runner").read_text())
    done = run(["nginx", "-t", "-p", tmp_path, "-c", conf, "-e", tmp_path / "error.log"])
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


def test_nginx_t_would_catch_a_duplicate_directive(staged, tmp_path):
    # The site must not repeat what Debian's http block sets (default_type, keepalive_timeout
    # ... once a level): such a duplicate at http level fails nginx -t, as the check above would.
    site = (staged / "etc/nginx/sites-available/task-runner").read_text()
    conf = enable_site(tmp_path, "default_type application/json;\n" + site)
    done = run(["nginx", "-t", "-p", tmp_path, "-c", conf, "-e", tmp_path / "error.log"])
    assert done.returncode != 0 and "duplicate" in done.stderr, done.stderr


def test_the_site_is_the_edge_serve_renders(make_stack, tmp_path):
    # One template: the site nginx-site renders is, word for word, the part of the config the
    # launcher renders for its own nginx from the same file.
    run_dir = Path(tempfile.mkdtemp(prefix="tr-site-"))
    stack = None
    try:
        stack = make_stack({"storage.run_dir": str(run_dir)})
        served = (run_dir / "nginx.conf").read_text()
        site = checked([BIN / "task-runner", "nginx-site", "--config", stack.config_path,
                        "--socket", run_dir / "fcgi.sock"]).stdout
        body = site.split("\n\n", 1)[1]  # after the header naming the file
        assert body in served
        for part in ("map $http_host $host_allowed", "limit_req_zone", "upstream task_runner_handlers",
                     "location /api/v1/", "error_page 413", "add_header Content-Security-Policy"):
            assert part in body, part
        assert "pid " not in body and "events {" not in body and "temp_path" not in body
    finally:
        if stack is not None:  # stopped first: its socket and nginx's pid are in run_dir
            stack.shut_down()
        shutil.rmtree(run_dir, ignore_errors=True)


def test_nginx_site_refuses_what_nginx_would_misread(prefix, tmp_path):
    config = prefix / "etc/task-runner/task-runner.cfg"
    for argv, message in [
        (["--socket", "/run/x.sock; include /etc/shadow"], "the handlers' socket must be an absolute path"),
        (["--socket", "relative.sock"], "the handlers' socket must be an absolute path"),
        (["--console-dir", "/srv/con sole"], "the console's directory must be an absolute path"),
        (["--tls-certificate", "/etc/ssl/cert.pem"], "TLS needs both a certificate and its key"),
        (["--tls-certificate", "cert.pem", "--tls-key", "/k.pem"], "the TLS certificate must be an absolute path"),
        (["--tls-certificate", "/c.pem", "--tls-key", "/$ssl_server_name.pem"], "the TLS key must be an absolute path"),
    ]:
        done = run([prefix / "bin/task-runner", "nginx-site", "--config", config, *argv])
        assert done.returncode == 2 and message in done.stderr, (argv, done.stderr)
        assert done.stdout == ""
    broken = tmp_path / "broken.cfg"
    broken.write_text('service = { bind_address = "127.0.0.1:8080; error_log /tmp/x"; };\n')
    done = run([prefix / "bin/task-runner", "nginx-site", "--config", broken])
    assert done.returncode == 2 and "broken.cfg:1: service.bind_address" in done.stderr, done.stderr


def self_signed_certificate(directory):
    cert, key = Path(directory) / "cert.pem", Path(directory) / "key.pem"
    checked(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", key, "-out", cert])
    return cert, key


class Processes:
    """The installed programs and nginx, started as the units start them; every one killed (its
    process group) at the end."""

    def __init__(self, logs):
        self.logs = Path(logs)
        self.started = []

    def start(self, name, argv):
        log = open(self.logs / f"{name}.log", "wb")
        process = subprocess.Popen([str(a) for a in argv], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.started.append((name, process))
        return process

    def check_running(self):
        for name, process in self.started:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited {process.returncode}:\n{self.log(name)}")

    def log(self, name):
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop_all(self):
        for name, process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pass  # killed below
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:
                pass  # the group is gone already
            process.wait()


def service_config(directory, port):
    work = directory / "work"
    work.mkdir()
    path = directory / "task-runner.cfg"
    path.write_text(render_config({
        "model.provider": "builtin",
        "tools.working_directory": str(work),
        "tools.allowed_paths": [str(work)],
        "tools.writable_paths": [str(work)],
        "service.bind_address": f"127.0.0.1:{port}",
        "service.require_api_key": True,
        "execution.poll_interval_ms": 50,
        "execution.shutdown_grace_seconds": 5,
        "storage.database": str(directory / "data" / "task-runner.db"),
    }))
    # What the guide's task lists: with keys on, the owner "ops" works in work/ops/.
    (work / "ops").mkdir()
    (work / "ops" / "hello.txt").write_text("installed and deployed\n")
    return path


@pytest.mark.skipif(os.geteuid() != 0, reason="nginx's workers run as www-data, as on Debian")
def test_a_task_runs_through_the_installed_programs_behind_nginx_with_tls(prefix, tmp_path):
    bin_dir = prefix / "bin"
    port = free_port()
    config = service_config(tmp_path, port)
    (tmp_path / "data").mkdir()
    # The run directory as tmpfiles.d makes /run/task-runner: nginx's workers (www-data) enter
    # through the group, nobody else does.
    run_dir = Path(tempfile.mkdtemp(prefix="tr-deploy-run-"))
    os.chown(run_dir, 0, grp.getgrnam("www-data").gr_gid)
    os.chmod(run_dir, 0o750)
    socket = run_dir / "fcgi.sock"
    nginx_dir = tmp_path / "nginx"
    nginx_dir.mkdir()
    processes = Processes(tmp_path)
    try:
        key = checked([bin_dir / "task-runner", "keys", "create", "--owner", "ops", "--scopes",
                       "read,submit", "--config", config]).stdout.strip()
        remember_secret(key)
        # The units' command lines, with this test's paths.
        processes.start("fcgi", [bin_dir / "task-runner-fcgi", "--config", config, "--socket", socket])
        processes.start("runner", [bin_dir / "task-runner-runner", "--config", config, "--run-dir", run_dir])
        cert, key_file = self_signed_certificate(tmp_path)
        # docs/deploy.md, "4. TLS and nginx", as written but for this test's paths: the site
        # rendered by the installed program, enabled as Debian enables sites, checked by nginx -t.
        for directory in ("sites-available", "sites-enabled"):
            (nginx_dir / directory).mkdir()
        conf = debian_nginx_conf(nginx_dir, nginx_dir / "sites-enabled")
        letsencrypt = "/etc/letsencrypt/live/tasks.example.com/"
        run_block(guide_block("4. TLS and nginx", "task-runner nginx-site")
                  .replace("task-runner nginx-site",
                           f"{bin_dir}/task-runner nginx-site --config {config} --socket {socket}")
                  .replace(letsencrypt + "fullchain.pem", str(cert))
                  .replace(letsencrypt + "privkey.pem", str(key_file))
                  .replace("/etc/nginx/", f"{nginx_dir}/")
                  .replace("nginx -t", f"nginx -t -p {nginx_dir} -c {conf} -e {nginx_dir}/error.log"))
        assert (nginx_dir / "sites-enabled/task-runner").read_text().count("ssl_certificate ") == 1
        processes.start("nginx", ["nginx", "-p", nginx_dir, "-c", conf, "-e", nginx_dir / "error.log",
                                  "-g", "daemon off;"])
        url = f"https://127.0.0.1:{port}"
        # verify= on each request: a Session's own is overridden by $REQUESTS_CA_BUNDLE.
        session = requests.Session()
        trust = {"verify": str(cert)}

        last = []  # what the last try got, for the message

        def healthy():
            processes.check_running()
            try:
                answer = session.get(url + "/health", timeout=2, **trust)
            except requests.RequestException as e:
                last[:] = [repr(e)]
                return False
            last[:] = [f"{answer.status_code} {answer.text[:300]}"]
            return answer.status_code == 200

        try:
            wait_until(healthy, timeout=30, message="GET /health through nginx and TLS")
        except AssertionError as e:
            raise AssertionError(f"{e}; the last answer: {last}") from None
        # Another local user cannot go round the edge (its keys, rate limits and Host check)
        # to the handlers' socket: the run directory lets in nginx's group only.
        bypass = run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
                      "/usr/bin/python3", "-c",
                      f"import socket; socket.socket(socket.AF_UNIX).connect({str(socket)!r})"])
        assert bypass.returncode != 0 and "PermissionError" in bypass.stderr, bypass.stderr
        # The edge of serve: keys required, the Host check, JSON errors, security headers.
        assert session.get(url + "/api/v1/tasks", timeout=5, **trust).status_code == 401
        refused = session.get(url + "/health", headers={"Host": "attacker.example"}, timeout=5, **trust)
        assert refused.status_code == 421 and refused.json()["error"]["code"] == "INVALID_REQUEST"
        assert refused.headers["X-Content-Type-Options"] == "nosniff"
        headers = {"Authorization": f"Bearer {key}"}
        # docs/deploy.md, "5. The first task": curl with the key, against this server.
        answer = run_block(guide_block("5. The first task", "curl ")
                           .replace("https://tasks.example.com", url)
                           .replace("curl -s", f"curl -s --fail-with-body --cacert {cert}"),
                           {"KEY": key}).stdout
        task_url = f"{url}/api/v1/tasks/{json.loads(answer)['task_id']}"

        def finished():
            processes.check_running()
            task = session.get(task_url, headers=headers, timeout=5, **trust).json()
            return task if task["status"] in ("completed", "failed", "timeout", "cancelled") else None

        task = wait_until(finished, timeout=60, message="the task to end")
        assert task["status"] == "completed", task
        assert "hello.txt" in json.dumps(task["result"])
        # Plain HTTP on the TLS port is refused by nginx, not answered.
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 400
    finally:
        processes.stop_all()
        shutil.rmtree(run_dir, ignore_errors=True)
    assert not socket.exists()
    with sqlite3.connect(tmp_path / "data" / "task-runner.db") as db:
        assert db.execute("SELECT count(*) FROM tasks WHERE status = 'completed'").fetchone() == (1,)


def test_the_units_stay_hardened(prefix):
    # systemd's own score of each unit's exposure (0 best, 10 worst), so that an option dropped
    # from a unit shows: the handlers measured 0.5, the runner 4.8 (what bubblewrap needs).
    for unit, most in (("task-runner-fcgi.service", 1.0), ("task-runner-runner.service", 5.0)):
        done = run(["systemd-analyze", "security", "--offline=yes", "--man=no",
                    prefix / "lib/systemd/system" / unit])
        score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout).group(1))
        assert score <= most, f"{unit}: exposure {score} > {most}\n{done.stdout}"
