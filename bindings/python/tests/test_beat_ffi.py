"""The mobile SDK's scenario, in Python: four members in one process over loopback with a
Python ConsensusApp, 200 transactions, the same state everywhere and every epoch applied once,
in order; a member closed and reopened from its data dir catching up; a member paused and
resumed; an app that fails stops its node with the reason and resume restarts it; calls into
the node from a callback are refused instead of deadlocking; every error path as a typed
exception; no native thread left behind after stop.
"""

import json
import os
import socket
import threading
import time

import pytest

import beat_ffi as beat

N = 4


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Notes(beat.App):
    """A shared notebook: `set <key> <value>` transactions; a dict as state."""

    def __init__(self):
        self.state = {}
        self.epochs = 0
        self.apply_threads = set()
        self.out_of_order = []  # (expected, got): must stay empty

    def apply(self, epoch, transactions):
        self.apply_threads.add(threading.get_ident())
        if epoch != self.epochs:
            self.out_of_order.append((self.epochs, epoch))
        for tx in transactions:
            parts = tx.decode().split(" ", 2)
            if len(parts) == 3 and parts[0] == "set":
                self.state[parts[1]] = parts[2]
        self.epochs = epoch + 1

    def snapshot(self):
        return json.dumps({"state": self.state, "epochs": self.epochs}, sort_keys=True).encode()

    def restore(self, snapshot):
        try:
            doc = json.loads(snapshot)
        except ValueError as e:
            raise beat.AppError.Refused(f"not a snapshot: {e}")
        self.state, self.epochs = doc["state"], doc["epochs"]

    def validate(self, transaction):
        if not transaction.startswith(b"set "):
            raise beat.AppError.Refused("a note is `set <key> <value>`")


class Commits(beat.CommitListener):
    def __init__(self):
        self.epochs = set()
        self.threads = set()

    def on_commit(self, epoch, transactions):
        self.threads.add(threading.get_ident())
        self.epochs.add(epoch)


def wait(what, cond, timeout=90):
    end = time.time() + timeout
    while not cond():
        if time.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def settings(committee, i, data_dir, secret):
    return beat.NodeSettings(
        data_dir=str(data_dir),
        cluster_file=committee.cluster_file,
        key_file=committee.key_files[i],
        secret=secret,
        snapshot_every=8,
    )


@pytest.fixture(scope="module")
def committee():
    ports = free_ports(N)
    secrets = [os.urandom(32) for _ in range(N)]
    spec = beat.CommitteeSpec(variant="BEAT0", addresses=[f"127.0.0.1:{p}" for p in ports])
    c = beat.generate_committee(spec, [beat.KeySecret.raw_key(s) for s in secrets])
    return c, secrets


def secret_of(secrets, i):
    return beat.KeySecret.raw_key(secrets[i])


def test_cluster_info(committee):
    c, _ = committee
    info = beat.cluster_info(c.cluster_file)
    assert (info.n, info.f, info.variant) == (4, 1, "BEAT0")
    assert len(info.addresses) == 4


def test_four_members_agree_restart_pause_and_resume(committee, tmp_path):
    c, secrets = committee
    apps = [Notes() for _ in range(N)]
    listener = Commits()
    nodes = [
        beat.BeatNode.start(settings(c, i, tmp_path / f"n{i}", secret_of(secrets, i)), apps[i], listener if i == 0 else None)
        for i in range(N)
    ]
    try:
        scenario(c, secrets, tmp_path, apps, listener, nodes)
    finally:
        for n in nodes:
            n.stop()


def scenario(c, secrets, tmp_path, apps, listener, nodes):

    def submit_all(lo, hi, members):
        for k in range(lo, hi):
            node = nodes[members[k % len(members)]]
            while True:
                try:
                    node.submit(f"set k{k} v{k}".encode())
                    break
                except beat.BeatError.Refused as e:
                    assert "queue full" in str(e), e
                    time.sleep(0.05)

    submit_all(0, 200, [0, 1, 2, 3])
    wait("200 notes everywhere", lambda: all(len(a.state) == 200 for a in apps))
    # A secret object shows nothing of the secret.
    shown = repr(secret_of(secrets, 0)) + str(secret_of(secrets, 0))
    assert secrets[0].hex() not in shown and repr(secrets[0]) not in shown, shown
    wait("the same state everywhere", lambda: len({json.dumps(a.state, sort_keys=True) for a in apps}) == 1)
    assert apps[0].state["k199"] == "v199"
    # The listener ran, never on the thread that applies (the consensus path).
    wait("commits told", lambda: len(listener.epochs) >= apps[0].epochs)
    assert listener.threads and not (listener.threads & apps[0].apply_threads)
    # Links count as up once a health check was answered: within a few seconds.
    wait("node 0 running", lambda: nodes[0].status().state == beat.NodeState.RUNNING(), timeout=30)
    st = nodes[0].status()
    assert st.peers_connected == 3 and st.id == 0 and st.epoch >= 1, st

    # Member 3 closed; the others go on; a new process's app reopens it from its data dir.
    nodes[3].stop()
    assert nodes[3].status().state == beat.NodeState.STOPPED(reason="stopped by the app")
    with pytest.raises(beat.BeatError.Stopped):
        nodes[3].submit(b"set after stop 1")
    submit_all(200, 250, [0, 1, 2])
    wait("250 notes at the three", lambda: all(len(a.state) == 250 for a in apps[:3]))
    apps[3] = Notes()
    nodes[3] = beat.BeatNode.start(settings(c, 3, tmp_path / "n3", secret_of(secrets, 3)), apps[3], None)
    submit_all(250, 260, [0, 1, 2, 3])
    wait("member 3 caught up", lambda: len(apps[3].state) == 260)

    # Member 2 paused (the app went to the background) and resumed.
    nodes[2].pause()
    assert nodes[2].status().state == beat.NodeState.PAUSED()
    with pytest.raises(beat.BeatError.Stopped, match="resume"):
        nodes[2].submit(b"set while paused 1")
    submit_all(260, 280, [0, 1, 3])
    wait("280 notes at three", lambda: all(len(apps[i].state) == 280 for i in (0, 1, 3)))
    assert len(apps[2].state) < 280
    nodes[2].resume()
    nodes[1].network_changed()
    submit_all(280, 290, [0, 1, 2, 3])
    wait("290 notes everywhere", lambda: all(len(a.state) == 290 for a in apps))
    wait("the same state again", lambda: len({json.dumps(a.state, sort_keys=True) for a in apps}) == 1)
    # Every app saw each epoch once, in order (rebuilt from the store at each (re)start).
    assert all(not a.out_of_order for a in apps), [a.out_of_order for a in apps]

    # A transaction the app refuses is a typed error with its reason.
    with pytest.raises(beat.BeatError.Refused, match="a note is"):
        nodes[0].submit(b"delete everything")


def test_error_paths_are_typed_with_readable_messages(committee, tmp_path):
    c, secrets = committee
    # A wrong key: the key file does not open.
    with pytest.raises(beat.BeatError.KeyFile) as e:
        beat.BeatNode.start(settings(c, 0, tmp_path / "a", secret_of(secrets, 1)), Notes(), None)
    assert "key" in str(e.value)
    # A wrong passphrase on a passphrase-sealed committee.
    ports = free_ports(N)
    spec = beat.CommitteeSpec(variant="BEAT1", addresses=[f"127.0.0.1:{p}" for p in ports])
    pc = beat.generate_committee(spec, [beat.KeySecret.passphrase(f"member {i} passphrase") for i in range(N)])
    with pytest.raises(beat.BeatError.KeyFile):
        beat.BeatNode.start(settings(pc, 0, tmp_path / "b", beat.KeySecret.passphrase("not it")), Notes(), None)
    with pytest.raises(beat.BeatError.Config, match="empty"):
        beat.KeySecret.passphrase("")
    # A cluster file that is not one.
    bad = settings(c, 0, tmp_path / "c", secret_of(secrets, 0))
    bad.cluster_file = b"\xff\x00 not a cluster file"
    with pytest.raises(beat.BeatError.ClusterFile):
        beat.BeatNode.start(bad, Notes(), None)
    # Bad settings, each named.
    for field, value, needle in [
        ("data_dir", "", "data_dir"),
        ("listen", "nowhere", "listen"),
        ("peers", ["127.0.0.1:1"], "peers"),
        ("tor_socks", "127.0.0.1:9050", "Tor address"),
    ]:
        s = settings(c, 0, tmp_path / "d", secret_of(secrets, 0))
        setattr(s, field, value)
        with pytest.raises(beat.BeatError.Config, match=needle):
            beat.BeatNode.start(s, Notes(), None)
    with pytest.raises(beat.BeatError.Config, match="32 bytes"):
        beat.KeySecret.raw_key(b"short")
    for variant, needle in [("BEAT9", "expected BEAT0 or BEAT1"), ("BEAT3", "not exported yet")]:
        with pytest.raises(beat.BeatError.Config, match=needle):
            beat.generate_committee(
                beat.CommitteeSpec(variant=variant, addresses=["a:1"] * 4),
                [beat.KeySecret.raw_key(os.urandom(32)) for _ in range(4)],
            )
    # The same secret for two members is refused (one member's secret must open only its file).
    same = os.urandom(32)
    with pytest.raises(beat.BeatError.Config, match="too"):
        beat.generate_committee(spec, [beat.KeySecret.raw_key(same) for _ in range(N)])
    # A port in use: the node does not start, and says where.
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    s = settings(c, 0, tmp_path / "f", secret_of(secrets, 0))
    s.listen = f"127.0.0.1:{busy.getsockname()[1]}"
    with pytest.raises(beat.BeatError.Start, match="listen"):
        beat.BeatNode.start(s, Notes(), None)
    busy.close()


class Moody(Notes):
    """Fails to apply the epoch that holds `set fail now` once, and calls into its own node
    from inside apply (which must be refused, not deadlock)."""

    def __init__(self):
        super().__init__()
        self.node = None
        self.failed_once = False
        self.reentry = []

    def apply(self, epoch, transactions):
        if self.node is not None and not self.reentry:
            try:
                self.node.submit(b"set from inside apply")
                self.reentry.append("accepted")
            except beat.BeatError.Refused as e:
                self.reentry.append(str(e))
        if b"set fail now" in transactions and not self.failed_once:
            self.failed_once = True
            raise beat.AppError.Refused("the disk is full")
        super().apply(epoch, transactions)


def test_a_failing_app_stops_its_node_with_the_reason_and_resume_restarts_it(committee, tmp_path):
    c, secrets = committee
    apps = [Notes(), Notes(), Notes(), Moody()]
    nodes = [beat.BeatNode.start(settings(c, i, tmp_path / f"m{i}", secret_of(secrets, i)), apps[i], None) for i in range(N)]
    try:
        apps[3].node = nodes[3]
        nodes[0].submit(b"set a 1")
        wait("a at member 3", lambda: apps[3].state.get("a") == "1")
        assert apps[3].reentry and "inside an App or CommitListener callback" in apps[3].reentry[0], apps[3].reentry
        apps[3].node = None  # no more reentry: the node below must not hold itself
        nodes[0].submit(b"set fail now")
        wait("member 3 stopped", lambda: isinstance(nodes[3].status().state, beat.NodeState.STOPPED))
        reason = nodes[3].status().state.reason
        assert "the disk is full" in reason and "apply of epoch" in reason, reason
        with pytest.raises(beat.BeatError.Stopped, match="the disk is full"):
            nodes[3].submit(b"set b 2")
        nodes[3].resume()
        nodes[0].submit(b"set b 2")
        wait("member 3 back and caught up", lambda: apps[3].state.get("b") == "2" and apps[3].state.get("fail") == "now")
        assert apps[3].state == apps[0].state
    finally:
        for n in nodes:
            n.stop()


def threads():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_start_and_close_leave_nothing_behind(committee, tmp_path):
    c, secrets = committee
    s = settings(c, 0, tmp_path / "loop", secret_of(secrets, 0))

    def cycle():
        node = beat.BeatNode.start(s, beat.KvApp(), Commits())
        node.stop()  # ends the node's threads and the listener's, even while the object lives

    for _ in range(3):
        cycle()
    time.sleep(0.5)
    base_threads, base_rss = threads(), rss_kib()
    for _ in range(20):
        cycle()
    wait("threads back to the baseline", lambda: threads() <= base_threads, timeout=10)
    # 20 starts (each a runtime, a store, listeners) grow the heap by less than 64 MiB.
    assert rss_kib() - base_rss < 64 * 1024, (base_rss, rss_kib())


def test_built_in_kv_app(committee, tmp_path):
    c, secrets = committee
    kvs = [beat.KvApp() for _ in range(N)]
    nodes = [beat.BeatNode.start(settings(c, i, tmp_path / f"kv{i}", secret_of(secrets, i)), kvs[i], None) for i in range(N)]
    try:
        for k in range(20):
            nodes[k % N].submit(f"set colour{k} blue{k}".encode())
        wait("20 keys everywhere", lambda: all(kv.len() == 20 for kv in kvs))
        assert {kv.get("colour7") for kv in kvs} == {"blue7"}
        assert kvs[0].get("missing") is None
        with pytest.raises(beat.BeatError.Refused):
            nodes[0].submit(b"not a kv transaction")
    finally:
        for n in nodes:
            n.stop()
