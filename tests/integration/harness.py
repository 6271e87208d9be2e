"""Shared helpers for vncd's integration tests: private Xvfb displays, vncd with --port 0,
bounded waits, and clean-up of every process a test started, even when it fails.

Each test script does:

    with harness.Test("name") as t:
        display = t.xvfb("640x480x24")
        vncd = t.vncd(["--display", display])
        t.run([...])
        t.check(condition, "what went wrong")

On failure the Test prints the reason and the stderr of every vncd it started, and the script
exits with status 1.
"""

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

VNCD = os.environ.get("VNCD", "vncd")
CLIENT = os.environ.get("VNC_TEST_CLIENT", "vnc_test_client")


class TestFailure(Exception):
    pass


def wait_until(condition, timeout, what, interval=0.05):
    """Polls condition() until it returns something true; raises TestFailure after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TestFailure("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def process_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def children_of(pid):
    """PIDs whose parent is pid (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(entry))
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            pass
    return out


def process_name(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


class Vncd:
    """A running vncd: its Popen, the port it printed, and its stderr log."""

    def __init__(self, proc, log_path, stdout_lines):
        self.proc = proc
        self.log_path = log_path
        self.stdout_lines = stdout_lines
        self.port = None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, text, timeout=10):
        wait_until(lambda: text.lower() in self.log().lower(), timeout,
                   "vncd to log %r" % text)


class Test:
    def __init__(self, name):
        self.name = name
        self.procs = []  # Popen objects, each leader of its own process group.
        self.vncds = []
        self.tmp = tempfile.mkdtemp(prefix="vncd-it-%s-" % name)

    def __enter__(self):
        print("=== %s" % self.name, flush=True)
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                if issubclass(exc_type, TestFailure):
                    print("FAIL: %s" % exc, flush=True)
                else:
                    print("FAIL: unexpected error", flush=True)
                    traceback.print_exception(exc_type, exc, tb)
                for v in self.vncds:
                    print("--- vncd %s stderr:\n%s--- end" % (" ".join(v.proc.args), v.log()),
                          flush=True)
        finally:
            self.cleanup()
        if exc_type is not None:
            sys.exit(1)
        print("PASS: %s" % self.name, flush=True)
        return False

    def cleanup(self):
        for p in reversed(self.procs):
            self.stop(p)
        shutil.rmtree(self.tmp, ignore_errors=True)

    @staticmethod
    def stop(p, grace=3.0):
        """SIGTERM to the process group, SIGKILL after grace, reap."""
        if p.poll() is not None:
            try:
                os.killpg(p.pid, signal.SIGKILL)  # Leftover grandchildren, if any.
            except (ProcessLookupError, PermissionError):
                pass
            return
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def make_ca_and_cert(self, name):
        """A CA and a server certificate for 127.0.0.1 signed by it (openssl). Returns the
        paths (ca, cert, key)."""
        ca_key, ca = self.path(name + "-ca-key.pem"), self.path(name + "-ca.pem")
        key, csr = self.path(name + "-key.pem"), self.path(name + ".csr")
        cert, ext = self.path(name + ".pem"), self.path(name + ".ext")
        self.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
                  "-subj", "/CN=vncd test CA"])
        self.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"])
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        self.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                  "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext])
        return ca, cert, key

    def path(self, name):
        return os.path.join(self.tmp, name)

    def check(self, condition, message):
        if not condition:
            raise TestFailure(message)

    def spawn(self, args, env=None, stdout=subprocess.DEVNULL, stderr=None, **kw):
        """Starts a process in its own process group, stopped at clean-up."""
        p = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                             stderr=stderr, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def xvfb(self, screen="800x600x24"):
        """A private Xvfb on a free display (-displayfd); returns ":N" once it is ready."""
        r, w = os.pipe()
        try:
            self.spawn(["Xvfb", "-displayfd", str(w), "-screen", "0", screen, "-nolisten",
                        "tcp", "-noreset"], pass_fds=(w,), stderr=subprocess.DEVNULL)
            os.close(w)
            w = -1
            data = b""
            deadline = time.monotonic() + 20
            while not data.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TestFailure("Xvfb did not report a display within 20 s")
                ready, _, _ = select.select([r], [], [], left)
                if ready:
                    chunk = os.read(r, 64)
                    if not chunk:
                        raise TestFailure("Xvfb exited before it was ready")
                    data += chunk
            return ":" + data.decode().strip()
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)

    def env_with(self, display=None, unset_display=False, **extra):
        env = dict(os.environ)
        if unset_display:
            env.pop("DISPLAY", None)
        if display is not None:
            env["DISPLAY"] = display
        env.update(extra)
        return env

    def vncd(self, args, env=None, expect_port=True, timeout=30):
        """Starts vncd with args (add --port 0 --listen 127.0.0.1 yourself or get them added);
        waits for its PORT= line."""
        args = list(args)
        if "--port" not in args:
            args += ["--port", "0"]
        if "--listen" not in args and "--localhost" not in args:
            args += ["--listen", "127.0.0.1"]
        log_path = self.path("vncd-%d.log" % len(self.vncds))
        log = open(log_path, "w")
        proc = self.spawn([VNCD] + args, env=env, stdout=subprocess.PIPE, stderr=log)
        log.close()
        lines = []
        v = Vncd(proc, log_path, lines)
        self.vncds.append(v)

        def reader():
            for raw in proc.stdout:
                lines.append(raw.decode(errors="replace").rstrip("\n"))

        threading.Thread(target=reader, daemon=True).start()
        if expect_port:
            def port_line():
                for line in lines:
                    if line.startswith("PORT="):
                        return line
                if proc.poll() is not None:
                    raise TestFailure("vncd exited with status %s before printing PORT=" %
                                      proc.returncode)
                return None

            line = wait_until(port_line, timeout, "vncd to print PORT=")
            v.port = int(line[len("PORT="):])
            self.check(0 < v.port < 65536, "bad port line %r" % line)
        return v

    def run(self, args, timeout=60, env=None, check=True, input_bytes=None):
        """Runs a command to completion (bounded); returns CompletedProcess with text output."""
        try:
            r = subprocess.run(args, env=env, input=input_bytes,
                               stdin=None if input_bytes is not None else subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                               start_new_session=True)
        except subprocess.TimeoutExpired:
            raise TestFailure("%s did not finish within %d s" % (" ".join(args), timeout))
        r.stdout_text = r.stdout.decode(errors="replace")
        r.stderr_text = r.stderr.decode(errors="replace")
        if check and r.returncode != 0:
            raise TestFailure("%s exited with %d\nstdout: %s\nstderr: %s" %
                              (" ".join(args), r.returncode, r.stdout_text, r.stderr_text))
        return r

    def client(self, *args, timeout=60, check=True):
        """Runs the libvncclient test client (with LeakSanitizer told about libvncclient's own
        leaks, in sanitizer builds)."""
        env = dict(os.environ)
        env["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "lsan_client.supp")
        return self.run([CLIENT] + [str(a) for a in args], timeout=timeout, check=check, env=env)

    def password_file(self, password, name="passwd"):
        """A vncpasswd file made with `vncpasswd -f`."""
        path = self.path(name)
        r = self.run(["vncpasswd", "-f"], input_bytes=(password + "\n").encode())
        with open(path, "wb") as f:
            f.write(r.stdout)
        os.chmod(path, 0o600)
        self.check(len(r.stdout) == 8, "vncpasswd -f wrote %d bytes" % len(r.stdout))
        return path


def free_port():
    """A port that was free a moment ago (for tests that need a port number up front)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise TestFailure("server closed the connection after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def rfb_connect_none(port, shared=True, timeout=10):
    """A minimal RFB 3.8 client with security None, up to ServerInit. Returns (socket, width,
    height, name)."""
    import struct
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    version = recv_exact(s, 12)
    if not version.startswith(b"RFB 003."):
        raise TestFailure("unexpected ProtocolVersion %r" % version)
    s.sendall(b"RFB 003.008\n")
    count = recv_exact(s, 1)[0]
    if count == 0:
        raise TestFailure("server refused: no security types")
    types = recv_exact(s, count)
    if 1 not in types:
        raise TestFailure("security None not offered (%s)" % list(types))
    s.sendall(bytes([1]))
    if struct.unpack(">I", recv_exact(s, 4))[0] != 0:
        raise TestFailure("SecurityResult failed")
    s.sendall(bytes([1 if shared else 0]))
    init = recv_exact(s, 24)
    width, height = struct.unpack(">HH", init[:4])
    name = recv_exact(s, struct.unpack(">I", init[20:24])[0])
    return s, width, height, name.decode("latin-1")
