#!/usr/bin/python3
"""NETCONF over SSH against the sipbox NETCONF server, driven by ncclient.

usage: /usr/bin/python3 netconf_test.py NETCONF_TEST_SERVER YANG_DIR

Debian's ncclient lives in /usr/bin/python3's dist-packages (a pyenv python3 first on
PATH cannot import it). Every <config> is qualified with the base namespace: libyang
refuses ncclient's unqualified default (shared/notes/netconf.md, pitfall 17).
"""
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from ncclient import manager
from ncclient.operations import RPCError
from ncclient.xml_ import to_ele
import ncclient.transport.ssh as ncssh

SERVER, YANG_DIR = sys.argv[1], sys.argv[2]
BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"
SYS = "urn:sipbox:yang:sipbox-system"
DOM = "urn:sipbox:yang:sipbox-domains"
NC_OP = f'xmlns:nc="{BASE}"'

failures = []


def check(name, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + name + ("" if ok or not detail else f"  -- {detail}"), flush=True)
    if not ok:
        failures.append(name)


def silent_connection_open(sock):
    """True while the server keeps `sock` open (reads what it sent, e.g. its SSH banner)."""
    sock.setblocking(False)
    try:
        while True:
            if sock.recv(4096) == b"":
                return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(inner):
    return f'<config xmlns="{BASE}">{inner}</config>'


def listeners(inner):
    return config(f'<system xmlns="{SYS}"><listeners>{inner}</listeners></system>')


SIP_PORT_FILTER = ("subtree", f'<system xmlns="{SYS}"><listeners><sip-port/></listeners></system>')


class Server:
    def __init__(self, data_dir, port, pubkey):
        self.data_dir, self.port, self.pubkey = data_dir, port, pubkey
        self.proc = None

    def start(self):
        args = [SERVER, "--data-dir", self.data_dir, "--port", str(self.port), "--yang-dir", YANG_DIR,
                "--admin", "alice", "alice-secret", "admin", "--admin", "bob", "bob-secret", "admin",
                "--admin", "victor", "victor-secret", "viewer", "--pubkey", "alice", self.pubkey]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening"):
            self.proc.wait(5)
            raise SystemExit(f"netconf_test_server did not start (exit {self.proc.returncode})")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def connect(port, user, password=None, key=None):
    return manager.connect(host="127.0.0.1", port=port, username=user, password=password, key_filename=key,
                           hostkey_verify=False, allow_agent=False, look_for_keys=False, timeout=15)


def sip_port(m, source="running"):
    reply = m.get_config(source=source, filter=SIP_PORT_FILTER).data_xml
    found = re.search(r"<sip-port>(\d+)</sip-port>", reply)
    return int(found.group(1)) if found else None


def rpc_error(fn):
    try:
        fn()
    except RPCError as e:
        return e
    return None


def main():
    tmp = tempfile.TemporaryDirectory(prefix="sipbox-netconf-")
    data_dir = os.path.join(tmp.name, "data")
    os.mkdir(data_dir)
    key = os.path.join(tmp.name, "id_ed25519")
    other_key = os.path.join(tmp.name, "other_ed25519")
    for k in (key, other_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test@sipbox", "-f", k], check=True)
    port = free_port()
    server = Server(data_dir, port, key + ".pub")
    server.start()
    try:
        run(server, port, data_dir, key, other_key)
    finally:
        code = server.stop()
        check("server stops on SIGTERM with exit code 0", code == 0, f"exit {code}")
    tmp.cleanup()
    print(f"{len(failures)} failure(s)" if failures else "all NETCONF checks passed")
    return 1 if failures else 0


def run(server, port, data_dir, key, other_key):
    host_key = os.path.join(data_dir, "netconf_host_key")
    check("host key generated at first start, mode 0600",
          os.path.exists(host_key) and (os.stat(host_key).st_mode & 0o777) == 0o600)

    time.sleep(1.0)
    c0 = server.cpu_seconds()
    time.sleep(3.0)
    idle0 = (server.cpu_seconds() - c0) / 3.0 * 100

    m = connect(port, "alice", "alice-secret")
    caps = list(m.server_capabilities)
    for cap in ("urn:ietf:params:netconf:base:1.0", "urn:ietf:params:netconf:base:1.1",
                "urn:ietf:params:netconf:capability:candidate:1.0", "urn:ietf:params:netconf:capability:validate:1.1",
                "urn:ietf:params:netconf:capability:startup:1.0",
                "urn:ietf:params:netconf:capability:rollback-on-error:1.0",
                "urn:ietf:params:netconf:capability:xpath:1.0",
                "urn:ietf:params:netconf:capability:writable-running:1.0"):
        check(f"capability {cap}", cap in caps)
    check("capability with-defaults (explicit, also report-all)",
          any(c.startswith("urn:ietf:params:netconf:capability:with-defaults:1.0") and "report-all" in c for c in caps))
    check("session id assigned", bool(m.session_id) and int(m.session_id) > 0)

    time.sleep(0.5)
    c0 = server.cpu_seconds()
    time.sleep(3.0)
    idle1 = (server.cpu_seconds() - c0) / 3.0 * 100

    # --- logins
    def refused(**kw):
        try:
            connect(port, **kw).close_session()
            return False
        except Exception:
            return True

    check("wrong password refused", refused(user="alice", password="wrong"))
    check("unknown account refused", refused(user="root", password="alice-secret"))
    try:
        mk = connect(port, "alice", key=key)
        check("public-key login (ed25519)", "<system" in mk.get_config(source="running").data_xml)
        mk.close_session()
    except Exception as e:
        check("public-key login (ed25519)", False, repr(e))
    check("unlisted public key refused", refused(user="alice", key=other_key))
    check("key of another account refused", refused(user="bob", key=key))

    # A client that connects and says nothing must not hold up other logins (pitfall 6).
    # No timing is asserted: the login must complete while the server still holds the
    # silent connection, i.e. before that client's handshake timeout freed its thread.
    silent = [socket.create_connection(("127.0.0.1", port))]
    try:
        connect(port, "bob", "bob-secret").close_session()
        still_held = silent_connection_open(silent[0])
        check("login while a silent TCP client holds an accept thread", still_held,
              "the silent connection was already closed: the login waited for its timeout")
    except Exception as err:
        check("login while a silent TCP client holds an accept thread", False, repr(err))
    for s in silent:
        s.close()

    # --- get-config, merge edit
    running = m.get_config(source="running").data_xml
    check("get-config running holds the admin accounts", "<name>alice</name>" in running and "<name>victor</name>" in running)
    m.edit_config(target="running", config=listeners("<sip-port>5070</sip-port>"))
    check("merge edit of sip-port on running", sip_port(m) == 5070, f"sip-port {sip_port(m)}")

    # --- filters and with-defaults
    explicit = m.get_config(source="running", filter=("subtree", f'<system xmlns="{SYS}"><log-level/></system>')).data_xml
    check("explicit mode hides defaults", "<log-level>" not in explicit, explicit)
    report_all = m.get_config(source="running", filter=("subtree", f'<system xmlns="{SYS}"><log-level/></system>'),
                              with_defaults="report-all").data_xml
    check("with-defaults report-all shows log-level default", "<log-level>info</log-level>" in report_all, report_all)
    tagged = m.get_config(source="running", filter=SIP_PORT_FILTER, with_defaults="report-all-tagged").data_xml
    check("report-all-tagged does not tag an explicit value", "5070" in tagged and 'default="true"' not in tagged, tagged)
    xp = m.get_config(source="running", filter=("xpath", ({"s": SYS}, "/s:system/s:listeners/s:sip-port"))).data_xml
    check("xpath filter selects one leaf", "<sip-port>5070</sip-port>" in xp and "<admin>" not in xp, xp)
    content = m.get_config(source="running", filter=(
        "subtree", f'<system xmlns="{SYS}"><admin><name>victor</name><role/></admin></system>')).data_xml
    check("subtree filter with content match on a key", "<role>viewer</role>" in content and "alice" not in content,
          content)
    empty = m.get_config(source="running", filter=("subtree", '<nothing xmlns="urn:example:unknown"/>')).data_xml
    check("subtree filter on an unknown namespace selects nothing", "<system" not in empty, empty)
    got = m.get(filter=("subtree", f'<system xmlns="{SYS}"><listeners><sip-port/></listeners></system>')).data_xml
    check("get returns configuration", "<sip-port>5070</sip-port>" in got, got)
    st = m.get(filter=("subtree", '<state xmlns="urn:sipbox:yang:sipbox-state"/>')).data_xml
    check("get returns the state provider's data", "<version>netconf-test</version>" in st, st)
    check("get-config returns no state data",
          "netconf-test" not in m.get_config(source="running").data_xml)
    yl = m.get(filter=("subtree", '<yang-library xmlns="urn:ietf:params:xml:ns:yang:ietf-yang-library"/>')).data_xml
    check("get returns yang-library state", "sipbox-system" in yl)

    # --- edit-config operations
    e = rpc_error(lambda: m.edit_config(target="running", config=config(
        f'<system xmlns="{SYS}"><admin {NC_OP} nc:operation="create"><name>alice</name></admin></system>')))
    check("create of an existing entry -> data-exists", e is not None and e.tag == "data-exists", repr(e))
    e = rpc_error(lambda: m.edit_config(target="running", config=config(
        f'<domain xmlns="{DOM}" {NC_OP} nc:operation="delete"><name>nowhere.example</name></domain>')))
    check("delete of a missing entry -> data-missing", e is not None and e.tag == "data-missing", repr(e))
    m.edit_config(target="running", config=config(
        f'<domain xmlns="{DOM}" {NC_OP} nc:operation="remove"><name>nowhere.example</name></domain>'))
    check("remove of a missing entry is fine", True)
    m.edit_config(target="running", config=config(f'<domain xmlns="{DOM}"><name>a.example</name></domain>'))
    m.edit_config(target="running", config=listeners(f'<ws-port {NC_OP} nc:operation="replace">8090</ws-port>'))
    m.edit_config(target="running", config=listeners(f'<ws-port {NC_OP} nc:operation="delete"/>'))
    after = m.get_config(source="running", filter=("subtree", f'<domain xmlns="{DOM}"/>')).data_xml
    check("create, replace and delete (empty leaf) work", "a.example" in after)
    tested = m.edit_config(target="running", config=listeners("<sip-port>5071</sip-port>"), test_option="test-only")
    check("test-option test-only changes nothing", tested.ok and sip_port(m) == 5070)

    # --- invalid edits: rpc-error with error-path, running unchanged
    before = m.get_config(source="running").data_xml
    e = rpc_error(lambda: m.edit_config(target="running", config=listeners("<sip-port>0</sip-port>"),
                                        error_option="rollback-on-error"))
    check("out-of-range port -> invalid-value", e is not None and e.tag == "invalid-value", repr(e))
    check("out-of-range port error-path names the leaf", e is not None and "sip-port" in (e.path or ""),
          e and e.path)
    check("out-of-range port error-message given", e is not None and bool(e.message), e and e.message)
    e = rpc_error(lambda: m.edit_config(target="running", config=config(
        f'<default-domain xmlns="{DOM}">missing.example</default-domain>')))
    check("dangling leafref -> rpc-error with error-path", e is not None and "default-domain" in (e.path or ""),
          repr(e))
    check("dangling leafref tag data-missing", e is not None and e.tag == "data-missing", e and e.tag)
    e = rpc_error(lambda: m.edit_config(target="running", config=listeners("<tls-port>5070</tls-port>")))
    check("must violation -> error-app-tag port-clash", e is not None and e.app_tag == "port-clash", repr(e))
    check("running unchanged after the invalid edits", m.get_config(source="running").data_xml == before)
    e = rpc_error(lambda: m.edit_config(target="running", config="<config><system/></config>"))
    check("unqualified <config> is refused (documented)", e is not None, repr(e))

    # --- candidate, commit, discard-changes, validate
    m.discard_changes()
    m.edit_config(target="candidate", config=listeners("<sip-port>5080</sip-port>"))
    check("candidate edit leaves running unchanged", sip_port(m) == 5070 and sip_port(m, "candidate") == 5080)
    m.validate(source="candidate")
    check("validate candidate", True)
    m.commit()
    check("commit copies candidate to running", sip_port(m) == 5080)
    m.edit_config(target="candidate", config=listeners("<sip-port>5090</sip-port>"))
    m.discard_changes()
    check("discard-changes resets candidate", sip_port(m, "candidate") == 5080)
    m.edit_config(target="candidate", config=listeners("<tls-port>5080</tls-port>"))
    e = rpc_error(lambda: m.commit())
    check("commit of an invalid candidate -> rpc-error, running unchanged",
          e is not None and e.app_tag == "port-clash" and sip_port(m) == 5080, repr(e))
    e = rpc_error(lambda: m.validate(source="candidate"))
    check("validate of an invalid candidate -> rpc-error", e is not None, repr(e))
    m.discard_changes()

    # --- startup
    m.copy_config(source="running", target="startup")
    check("copy-config running -> startup", sip_port(m, "startup") == 5080)
    m.delete_config(target="startup")
    check("delete-config startup", sip_port(m, "startup") is None)
    m.dispatch(to_ele(f'<copy-config xmlns="{BASE}"><target><candidate/></target><source>'
                      + listeners("<sip-port>5061</sip-port>").replace(f' xmlns="{BASE}"', "")
                      + '</source></copy-config>'))
    check("copy-config of an inline <config> to candidate", sip_port(m, "candidate") == 5061)
    m.discard_changes()
    e = rpc_error(lambda: m.dispatch(to_ele(f'<validate xmlns="{BASE}"><source>'
                                            + listeners("<sip-port>0</sip-port>").replace(f' xmlns="{BASE}"', "")
                                            + '</source></validate>')))
    check("validate of an inline invalid <config> -> rpc-error", e is not None, repr(e))

    # --- get-schema
    schema = m.get_schema("sipbox-system")
    check("get-schema returns the YANG module", "module sipbox-system" in schema.data)
    e = rpc_error(lambda: m.get_schema("no-such-module"))
    check("get-schema of an unknown module -> invalid-value", e is not None and e.tag == "invalid-value", repr(e))

    # --- locks between two sessions
    m2 = connect(port, "bob", "bob-secret")
    m.lock("running")
    e = rpc_error(lambda: m2.lock("running"))
    check("lock held by another session -> lock-denied", e is not None and e.tag == "lock-denied", repr(e))
    holder = re.search(r"<(?:\w+:)?session-id>(\d+)<", (e.info or "") if e else "")
    check("lock-denied names the holder's session-id", holder is not None and holder.group(1) == str(m.session_id),
          e and e.info)
    e = rpc_error(lambda: m2.edit_config(target="running", config=listeners("<sip-port>5099</sip-port>")))
    check("edit-config on a datastore locked by another session -> in-use", e is not None and e.tag == "in-use", repr(e))
    m.edit_config(target="running", config=listeners("<sip-port>5081</sip-port>"))
    check("the lock holder can still edit", sip_port(m) == 5081)
    m.unlock("running")
    m2.lock("running")
    m2.unlock("running")
    check("lock free again after unlock", True)

    # --- kill-session releases the victim's locks
    m.lock("candidate")
    m2.kill_session(m.session_id)
    time.sleep(0.2)
    try:
        m2.lock("candidate")
        check("kill-session releases the victim's locks", True)
        m2.unlock("candidate")
    except RPCError as err:
        check("kill-session releases the victim's locks", False, repr(err))
    check("killed session is closed", rpc_error_or_dead(m))
    e = rpc_error(lambda: m2.kill_session(m2.session_id))
    check("kill-session of itself -> invalid-value", e is not None and e.tag == "invalid-value", repr(e))

    # --- a session that disconnects loses its locks
    m3 = connect(port, "alice", "alice-secret")
    m3.lock("running")
    m3.close_session()
    time.sleep(0.2)
    e = rpc_error(lambda: m2.lock("running"))
    check("close-session releases locks", e is None, repr(e))
    if e is None:
        m2.unlock("running")

    # --- viewer
    v = connect(port, "victor", "victor-secret")
    check("viewer can get-config", "<system" in v.get_config(source="running").data_xml)
    e = rpc_error(lambda: v.edit_config(target="running", config=listeners("<sip-port>5099</sip-port>")))
    check("viewer edit-config -> access-denied", e is not None and e.tag == "access-denied", repr(e))
    e = rpc_error(lambda: v.lock("running"))
    check("viewer lock -> access-denied", e is not None and e.tag == "access-denied", repr(e))
    e = rpc_error(lambda: v.commit())
    check("viewer commit -> access-denied", e is not None and e.tag == "access-denied", repr(e))
    check("running unchanged by the viewer", sip_port(m2) == 5081)
    v.close_session()

    # --- edit-config round trip over SSH (ncclient's transport tick lowered, pitfall 18)
    tick = ncssh.TICK
    ncssh.TICK = 0.001
    mt = connect(port, "alice", "alice-secret")
    times = []
    for i in range(200):
        body = listeners(f"<sip-port>{6000 + (i % 2)}</sip-port>")
        t0 = time.perf_counter()
        mt.edit_config(target="running", config=body)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p50 = statistics.median(times)
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"edit-config round trip over SSH (ncclient, 200 edits): p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    gt = []
    for _ in range(50):
        t0 = time.perf_counter()
        mt.get_config(source="running", filter=SIP_PORT_FILTER)
        gt.append((time.perf_counter() - t0) * 1000)
    print(f"get-config round trip (ncclient, 50 reads): p50 {statistics.median(gt):.2f} ms")
    mt.edit_config(target="running", config=listeners("<sip-port>5082</sip-port>"))
    mt.close_session()
    ncssh.TICK = tick
    print(f"server idle CPU: {idle0:.1f}% of a core with 0 sessions, {idle1:.1f}% with 1 idle session")

    m2.close_session()

    # --- restart keeps the committed change
    code = server.stop()
    check("first server stops cleanly", code == 0, f"exit {code}")
    server.start()
    m = connect(port, "alice", "alice-secret")
    check("restart keeps the committed change", sip_port(m) == 5082, f"sip-port {sip_port(m)}")
    m.close_session()


def rpc_error_or_dead(m):
    try:
        m.get_config(source="running", filter=SIP_PORT_FILTER)
        return False
    except Exception:
        return True


if __name__ == "__main__":
    sys.exit(main())
